// Deployment controller (pkg/controller/deployment): owns ReplicaSets whose template is the
// Deployment's template plus a pod-template-hash label, rolls from old to new under maxSurge /
// maxUnavailable (RollingUpdate) or all at once (Recreate), keeps revision annotations that
// `kubectl rollout history|undo` read, trims history to revisionHistoryLimit and reports the
// status fields and Progressing/Available conditions `kubectl rollout status` waits on.

#include <algorithm>
#include <mutex>
#include <set>

#include "skiff/common/log.h"
#include "skiff/master/controllers/controllers.h"
#include "skiff/master/controllers/event_recorder.h"
#include "skiff/master/informer/meta.h"
#include "skiff/master/informer/options.h"
#include "util.h"

namespace skiff::master {

namespace {

constexpr const char* kRevision = "deployment.kubernetes.io/revision";
constexpr const char* kRevisionHistory = "deployment.kubernetes.io/revision-history";
constexpr const char* kDesiredReplicas = "deployment.kubernetes.io/desired-replicas";
constexpr const char* kMaxReplicas = "deployment.kubernetes.io/max-replicas";
constexpr const char* kHashLabel = "pod-template-hash";

std::int64_t replicasOf(const json& obj) { return meta::integer(obj, {"spec", "replicas"}, 1); }
std::int64_t statusInt(const json& obj, const char* f) {
  return meta::integer(obj, {"status", f}, 0);
}

std::int64_t revisionOf(const json& rs) {
  std::string r = meta::str(rs, {"metadata", "annotations", kRevision});
  try {
    return r.empty() ? 0 : std::stoll(r);
  } catch (const std::exception&) {
    return 0;
  }
}

// The template without pod-template-hash, as EqualIgnoreHash compares.
json templateIgnoringHash(json tmpl) {
  if (tmpl.is_object() && tmpl.contains("metadata") && tmpl["metadata"].contains("labels") &&
      tmpl["metadata"]["labels"].is_object()) {
    tmpl["metadata"]["labels"].erase(kHashLabel);
    if (tmpl["metadata"]["labels"].empty()) tmpl["metadata"].erase("labels");
  }
  if (tmpl.is_object() && tmpl.contains("metadata") && tmpl["metadata"].is_object() &&
      tmpl["metadata"].empty()) {
    tmpl.erase("metadata");
  }
  return tmpl;
}

bool olderFirst(const json& a, const json& b) {
  std::string ca = meta::str(a, {"metadata", "creationTimestamp"});
  std::string cb = meta::str(b, {"metadata", "creationTimestamp"});
  if (ca != cb) return ca < cb;
  return meta::name(a) < meta::name(b);
}

struct Strategy {
  bool recreate = false;
  std::int64_t max_surge = 0;
  std::int64_t max_unavailable = 0;
};

Result<Strategy> strategyOf(const json& d) {
  Strategy s;
  std::string type = meta::str(d, {"spec", "strategy", "type"});
  if (type == "Recreate") {
    s.recreate = true;
    return s;
  }
  std::int64_t replicas = replicasOf(d);
  json surge = meta::at(d, {"spec", "strategy", "rollingUpdate", "maxSurge"});
  json unavail = meta::at(d, {"spec", "strategy", "rollingUpdate", "maxUnavailable"});
  if (surge.is_null()) surge = "25%";
  if (unavail.is_null()) unavail = "25%";
  SKIFF_ASSIGN_OR_RETURN(s.max_surge, ctl::scaledValue(surge, replicas, true));
  SKIFF_ASSIGN_OR_RETURN(s.max_unavailable, ctl::scaledValue(unavail, replicas, false));
  // Both zero would deadlock the rollout; upstream makes unavailable 1 (ResolveFenceposts).
  if (s.max_surge == 0 && s.max_unavailable == 0) s.max_unavailable = 1;
  if (s.max_unavailable > replicas) s.max_unavailable = replicas;
  return s;
}

class DeploymentController : public Controller {
 public:
  DeploymentController(ApiClient& client, std::shared_ptr<Clock> clock)
      : Controller("deployment", clock),
        client_(client),
        recorder_(client, "deployment-controller", clock) {}

  void registerHandlers(SharedInformers& inf) override {
    deployments_ = &inf.get(gvr::kDeployments);
    deployments_->addEventHandlers({
        .on_add = [this](const json& o) { queue().add(meta::key(o)); },
        .on_update = [this](const json&, const json& n) { queue().add(meta::key(n)); },
        .on_delete = [this](const json& o) { queue().add(meta::key(o)); },
    });
    auto owner = [this](const json& rs) {
      if (auto ref = meta::controllerRef(rs)) {
        if (ref->value("kind", "") == "Deployment") {
          queue().add(meta::key(meta::ns(rs), ref->value("name", "")));
        }
        return;
      }
      for (const auto& d : deployments_->listNamespace(meta::ns(rs))) {
        if (ctl::workloadSelector(d).matches(meta::at(rs, {"metadata", "labels"})))
          queue().add(meta::key(d));
      }
    };
    inf.get(gvr::kReplicaSets)
        .addEventHandlers({
            .on_add = owner,
            .on_update = [owner](const json&, const json& n) { owner(n); },
            .on_delete = owner,
        });
    // Recreate waits for old pods to go away.
    inf.get(gvr::kPods)
        .addEventHandlers({
            .on_add = nullptr,
            .on_update = nullptr,
            .on_delete =
                [this, &inf](const json& p) {
                  auto ref = meta::controllerRef(p);
                  if (!ref || ref->value("kind", "") != "ReplicaSet") return;
                  auto rs = inf.get(gvr::kReplicaSets).get(meta::ns(p), ref->value("name", ""));
                  if (!rs) return;
                  auto dref = meta::controllerRef(*rs);
                  if (dref && dref->value("kind", "") == "Deployment") {
                    queue().add(meta::key(meta::ns(p), dref->value("name", "")));
                  }
                },
        });
  }

  Result<void> sync(const std::string& key) override {
    std::lock_guard serial(sync_mu_);  // all_/created_rs_ are per-sync scratch state
    std::string ns, name;
    meta::splitKey(key, &ns, &name);
    auto got = client_.get(gvr::kDeployments, ns, name);
    if (!got) {
      if (got.error().is(ErrorCode::NotFound)) return {};
      return std::move(got).error();
    }
    json d = std::move(*got);
    d["kind"] = "Deployment";
    if (meta::isDeleting(d)) return syncStatusOnly(d);
    LabelSelector selector = ctl::workloadSelector(d);
    SKIFF_ASSIGN_OR_RETURN(ObjectList rsl, client_.list(gvr::kReplicaSets, ns, ListOptions{}));
    json ref = meta::makeControllerRef(d, "apps/v1", "Deployment");
    SKIFF_ASSIGN_OR_RETURN(std::vector<json> owned, ctl::claimObjects(client_, gvr::kReplicaSets, d,
                                                                      ref, selector, rsl.items));
    all_ = owned;
    std::sort(all_.begin(), all_.end(), olderFirst);
    SKIFF_ASSIGN_OR_RETURN(Strategy st, strategyOf(d));

    if (meta::boolean(d, {"spec", "paused"})) return syncScale(d, st, false);
    if (isScalingEvent(d)) return syncScale(d, st, true);
    if (st.recreate) return rolloutRecreate(d, st);
    return rolloutRolling(d, st);
  }

 private:
  // ---- ReplicaSet bookkeeping -------------------------------------------------------------

  std::optional<json> findNewRS(const json& d) const {
    json want = templateIgnoringHash(meta::at(d, {"spec", "template"}));
    for (const auto& rs : all_) {  // oldest first, as FindNewReplicaSet picks
      if (templateIgnoringHash(meta::at(rs, {"spec", "template"})) == want) return rs;
    }
    return std::nullopt;
  }

  std::vector<json> oldRSs(const std::optional<json>& new_rs) const {
    std::vector<json> out;
    for (const auto& rs : all_) {
      if (!new_rs || meta::uid(rs) != meta::uid(*new_rs)) out.push_back(rs);
    }
    return out;
  }

  bool isScalingEvent(const json& d) const {
    std::int64_t want = replicasOf(d);
    for (const auto& rs : all_) {
      if (replicasOf(rs) == 0) continue;
      std::string desired = meta::str(rs, {"metadata", "annotations", kDesiredReplicas});
      if (!desired.empty() && desired != std::to_string(want)) return true;
    }
    return false;
  }

  // The annotations a ReplicaSet carries for this Deployment (SetNewReplicaSetAnnotations +
  // copyDeploymentAnnotationsToReplicaSet): the user's annotations (change-cause...), revision,
  // desired/max replicas.
  json rsAnnotations(const json& d, const json& current, std::int64_t revision,
                     const Strategy& st) const {
    json ann = meta::at(current, {"metadata", "annotations"}).is_object()
                   ? current["metadata"]["annotations"]
                   : json::object();
    const json& dann = meta::at(d, {"metadata", "annotations"});
    if (dann.is_object()) {
      for (auto it = dann.begin(); it != dann.end(); ++it) {
        const std::string& k = it.key();
        if (k == "kubectl.kubernetes.io/last-applied-configuration" || k == kRevision ||
            k == kRevisionHistory || k == kDesiredReplicas || k == kMaxReplicas) {
          continue;
        }
        ann[k] = it.value();
      }
    }
    std::string old = ann.value(kRevision, std::string());
    std::string next = std::to_string(revision);
    if (!old.empty() && old != next) {
      std::string hist = ann.value(kRevisionHistory, std::string());
      ann[kRevisionHistory] = hist.empty() ? old : hist + "," + old;
    }
    ann[kRevision] = next;
    ann[kDesiredReplicas] = std::to_string(replicasOf(d));
    ann[kMaxReplicas] = std::to_string(replicasOf(d) + (st.recreate ? 0 : st.max_surge));
    return ann;
  }

  // getNewReplicaSet: finds or creates the new ReplicaSet and keeps revisions in step.
  Result<std::optional<json>> newReplicaSet(json& d, const Strategy& st, bool create) {
    std::optional<json> existing = findNewRS(d);
    std::int64_t max_old = 0;
    for (const auto& rs : oldRSs(existing)) max_old = std::max(max_old, revisionOf(rs));
    std::int64_t revision = max_old + 1;
    std::string ns = meta::ns(d);
    if (existing) {
      json rs = *existing;
      std::int64_t cur_rev = revisionOf(rs);
      std::int64_t keep = cur_rev > max_old ? cur_rev : revision;  // SetNewReplicaSetAnnotations
      json ann = rsAnnotations(d, rs, keep, st);
      if (ann != meta::at(rs, {"metadata", "annotations"})) {
        rs["metadata"]["annotations"] = ann;
        // minReadySeconds follows the Deployment.
        rs["spec"]["minReadySeconds"] = meta::integer(d, {"spec", "minReadySeconds"}, 0);
        SKIFF_ASSIGN_OR_RETURN(rs, client_.update(gvr::kReplicaSets, ns, rs));
        replaceRS(rs);
      }
      SKIFF_TRY(setDeploymentRevision(d, keep));
      return std::optional<json>(rs);
    }
    if (!create) return std::optional<json>();
    std::optional<std::int64_t> collisions;
    if (meta::at(d, {"status", "collisionCount"}).is_number()) {
      collisions = statusInt(d, "collisionCount");
    }
    json tmpl = meta::at(d, {"spec", "template"});
    std::string hash = ctl::computeHash(tmpl, collisions);
    json rs_tmpl = tmpl;
    rs_tmpl["metadata"]["labels"][kHashLabel] = hash;
    json selector = meta::at(d, {"spec", "selector"});
    selector["matchLabels"][kHashLabel] = hash;
    std::int64_t replicas = newRSReplicas(d, st, std::nullopt);
    json rs = {
        {"apiVersion", "apps/v1"},
        {"kind", "ReplicaSet"},
        {"metadata",
         {{"name", meta::name(d) + "-" + hash},
          {"namespace", ns},
          {"labels", rs_tmpl["metadata"]["labels"]},
          {"annotations", rsAnnotations(d, json::object(), revision, st)},
          {"ownerReferences", json::array({meta::makeControllerRef(d, "apps/v1", "Deployment")})}}},
        {"spec",
         {{"replicas", replicas},
          {"minReadySeconds", meta::integer(d, {"spec", "minReadySeconds"}, 0)},
          {"selector", selector},
          {"template", rs_tmpl}}}};
    auto created = client_.create(gvr::kReplicaSets, ns, rs);
    if (!created) {
      if (created.error().is(ErrorCode::AlreadyExists)) {
        // A hash collision with a ReplicaSet that is not ours or has another template: bump
        // collisionCount so the next hash differs (upstream's collision avoidance).
        auto other = client_.get(gvr::kReplicaSets, ns, meta::name(rs));
        if (other) {
          auto oref = meta::controllerRef(*other);
          if (oref && oref->value("uid", "") == meta::uid(d) &&
              templateIgnoringHash(meta::at(*other, {"spec", "template"})) ==
                  templateIgnoringHash(tmpl)) {
            return std::optional<json>(*other);
          }
        }
        json patch = {{"status", {{"collisionCount", collisions.value_or(0) + 1}}}};
        SKIFF_TRY(
            client_.patch(gvr::kDeployments, ns, meta::name(d), PatchType::Merge, patch, "status"));
        return Error(ErrorCode::Conflict, "hash collision for ReplicaSet '" + meta::name(rs) +
                                              "', retrying with a new collisionCount");
      }
      std::string msg = "Failed to create new replica set \"" + meta::name(rs) +
                        "\": " + created.error().message();
      recorder_.event(d, "Warning", "FailedCreate", msg);
      return std::move(created).error();
    }
    recorder_.event(
        d, "Normal", "ScalingReplicaSet",
        "Scaled up replica set " + meta::name(*created) + " from 0 to " + std::to_string(replicas));
    all_.push_back(*created);
    created_rs_ = meta::name(*created);
    SKIFF_TRY(setDeploymentRevision(d, revision));
    return std::optional<json>(*created);
  }

  Result<void> setDeploymentRevision(json& d, std::int64_t revision) {
    std::string want = std::to_string(revision);
    if (meta::str(d, {"metadata", "annotations", kRevision}) == want) return {};
    json patch = {
        {"metadata",
         {{"annotations", {{kRevision, want}}}, {"resourceVersion", meta::resourceVersion(d)}}}};
    SKIFF_ASSIGN_OR_RETURN(json updated, client_.patch(gvr::kDeployments, meta::ns(d),
                                                       meta::name(d), PatchType::Merge, patch));
    d["metadata"] = updated["metadata"];
    return {};
  }

  void replaceRS(const json& rs) {
    for (auto& x : all_) {
      if (meta::uid(x) == meta::uid(rs)) x = rs;
    }
  }

  // NewRSNewReplicas
  std::int64_t newRSReplicas(const json& d, const Strategy& st, const std::optional<json>& new_rs) {
    std::int64_t want = replicasOf(d);
    if (st.recreate) return want;
    std::int64_t current = 0;
    for (const auto& rs : all_) current += replicasOf(rs);
    std::int64_t new_cur = new_rs ? replicasOf(*new_rs) : 0;
    std::int64_t max_total = want + st.max_surge;
    if (current >= max_total) return new_cur;
    std::int64_t up = std::min(max_total - current, want - new_cur);
    return new_cur + std::max<std::int64_t>(up, 0);
  }

  Result<bool> scaleRS(json& rs, std::int64_t to, const json& d, const Strategy& st) {
    std::int64_t from = replicasOf(rs);
    std::string desired = std::to_string(replicasOf(d));
    std::string max = std::to_string(replicasOf(d) + (st.recreate ? 0 : st.max_surge));
    bool ann_ok = meta::str(rs, {"metadata", "annotations", kDesiredReplicas}) == desired &&
                  meta::str(rs, {"metadata", "annotations", kMaxReplicas}) == max;
    if (from == to && ann_ok) return false;
    json next = rs;
    next["spec"]["replicas"] = to;
    next["metadata"]["annotations"][kDesiredReplicas] = desired;
    next["metadata"]["annotations"][kMaxReplicas] = max;
    SKIFF_ASSIGN_OR_RETURN(json updated, client_.update(gvr::kReplicaSets, meta::ns(rs), next));
    if (from != to) {
      recorder_.event(d, "Normal", "ScalingReplicaSet",
                      std::string(to > from ? "Scaled up" : "Scaled down") + " replica set " +
                          meta::name(rs) + " from " + std::to_string(from) + " to " +
                          std::to_string(to));
    }
    rs = updated;
    replaceRS(updated);
    return from != to;
  }

  // ---- strategies ---------------------------------------------------------------------------

  Result<void> rolloutRolling(json& d, const Strategy& st) {
    SKIFF_ASSIGN_OR_RETURN(std::optional<json> new_rs, newReplicaSet(d, st, true));
    // reconcileNewReplicaSet
    if (new_rs) {
      std::int64_t want = replicasOf(d);
      std::int64_t cur = replicasOf(*new_rs);
      std::int64_t target = cur > want ? want : newRSReplicas(d, st, new_rs);
      SKIFF_ASSIGN_OR_RETURN(bool scaled, scaleRS(*new_rs, target, d, st));
      if (scaled) return syncRolloutStatus(d, st, new_rs);
    }
    SKIFF_ASSIGN_OR_RETURN(bool down, reconcileOld(d, st, new_rs));
    if (down) return syncRolloutStatus(d, st, new_rs);
    if (complete(d, new_rs)) SKIFF_TRY(cleanup(d, new_rs));
    return syncRolloutStatus(d, st, new_rs);
  }

  // reconcileOldReplicaSets: scale old sets down without dropping below replicas-maxUnavailable
  // available pods, first removing unhealthy old replicas.
  Result<bool> reconcileOld(const json& d, const Strategy& st, const std::optional<json>& new_rs) {
    std::vector<json> olds = oldRSs(new_rs);
    std::int64_t old_count = 0;
    for (const auto& rs : olds) old_count += replicasOf(rs);
    if (old_count == 0) return false;
    std::int64_t all_count = 0;
    for (const auto& rs : all_) all_count += replicasOf(rs);
    std::int64_t min_available = replicasOf(d) - st.max_unavailable;
    std::int64_t new_unavailable =
        new_rs ? replicasOf(*new_rs) - statusInt(*new_rs, "availableReplicas") : 0;
    std::int64_t max_scaled_down = all_count - min_available - new_unavailable;
    if (max_scaled_down <= 0) return false;
    bool changed = false;
    // cleanupUnhealthyReplicas
    std::int64_t cleaned = 0;
    for (auto& rs : olds) {
      if (cleaned >= max_scaled_down) break;
      std::int64_t r = replicasOf(rs);
      std::int64_t avail = statusInt(rs, "availableReplicas");
      if (r == 0 || r == avail) continue;
      std::int64_t n = std::min(max_scaled_down - cleaned, r - avail);
      SKIFF_ASSIGN_OR_RETURN(bool s, scaleRS(rs, r - n, d, st));
      changed |= s;
      cleaned += n;
    }
    // scaleDownOldReplicaSetsForRollingUpdate
    std::int64_t available = 0;
    for (const auto& rs : all_) available += statusInt(rs, "availableReplicas");
    if (available > min_available) {
      std::int64_t total = available - min_available;
      std::int64_t done = 0;
      olds = oldRSs(new_rs);
      for (auto& rs : olds) {
        if (done >= total) break;
        std::int64_t r = replicasOf(rs);
        if (r == 0) continue;
        std::int64_t n = std::min(r, total - done);
        SKIFF_ASSIGN_OR_RETURN(bool s, scaleRS(rs, r - n, d, st));
        changed |= s;
        done += n;
      }
    }
    return changed;
  }

  Result<void> rolloutRecreate(json& d, const Strategy& st) {
    SKIFF_ASSIGN_OR_RETURN(std::optional<json> new_rs, newReplicaSet(d, st, false));
    bool scaled = false;
    for (auto& rs : oldRSs(new_rs)) {
      SKIFF_ASSIGN_OR_RETURN(bool s, scaleRS(rs, 0, d, st));
      scaled |= s;
    }
    if (scaled) return syncRolloutStatus(d, st, new_rs);
    // Wait until no pod of an old ReplicaSet is still running (oldPodsRunning).
    SKIFF_ASSIGN_OR_RETURN(ObjectList pods, client_.list(gvr::kPods, meta::ns(d), ListOptions{}));
    std::set<std::string> old_uids;
    for (const auto& rs : oldRSs(new_rs)) old_uids.insert(meta::uid(rs));
    for (const auto& p : pods.items) {
      auto ref = meta::controllerRef(p);
      if (!ref || old_uids.count(ref->value("uid", "")) == 0) continue;
      if (!ctl::isTerminal(p)) return syncRolloutStatus(d, st, new_rs);
    }
    if (!new_rs) {
      SKIFF_ASSIGN_OR_RETURN(new_rs, newReplicaSet(d, st, true));
    }
    if (new_rs) {
      SKIFF_ASSIGN_OR_RETURN(bool s, scaleRS(*new_rs, replicasOf(d), d, st));
      if (s) return syncRolloutStatus(d, st, new_rs);
    }
    if (complete(d, new_rs)) SKIFF_TRY(cleanup(d, new_rs));
    return syncRolloutStatus(d, st, new_rs);
  }

  // sync(): scaling while paused or when spec.replicas changed mid-rollout, proportionally.
  Result<void> syncScale(json& d, const Strategy& st, bool rollout_allowed) {
    (void)rollout_allowed;
    SKIFF_ASSIGN_OR_RETURN(std::optional<json> new_rs, newReplicaSet(d, st, false));
    std::vector<json> active;
    for (const auto& rs : all_) {
      if (replicasOf(rs) > 0) active.push_back(rs);
    }
    std::int64_t want = replicasOf(d);
    if (active.size() <= 1) {
      json target = active.empty() ? (new_rs ? *new_rs : json()) : active[0];
      if (!target.is_null()) SKIFF_TRY(scaleRS(target, want, d, st));
    } else if (new_rs && replicasOf(*new_rs) == want &&
               statusInt(*new_rs, "availableReplicas") >= want) {
      for (auto& rs : oldRSs(new_rs)) SKIFF_TRY(scaleRS(rs, 0, d, st));
    } else {
      std::int64_t allowed = want + (st.recreate ? 0 : st.max_surge);
      std::int64_t current = 0;
      for (const auto& rs : active) current += replicasOf(rs);
      std::int64_t to_add = allowed - current;
      if (to_add != 0) {
        // Largest first when scaling up, smallest first when down; newer wins ties.
        std::sort(active.begin(), active.end(), [&](const json& a, const json& b) {
          if (replicasOf(a) != replicasOf(b)) {
            return to_add > 0 ? replicasOf(a) > replicasOf(b) : replicasOf(a) < replicasOf(b);
          }
          return olderFirst(b, a);
        });
        std::int64_t added = 0;
        std::vector<std::int64_t> sizes;
        for (const auto& rs : active) {
          std::int64_t share = current == 0 ? 0 : replicasOf(rs) * to_add / current;
          sizes.push_back(replicasOf(rs) + share);
          added += share;
        }
        if (!sizes.empty()) sizes[0] += to_add - added;  // leftover to the first
        for (std::size_t i = 0; i < active.size(); ++i) {
          SKIFF_TRY(scaleRS(active[i], std::max<std::int64_t>(sizes[i], 0), d, st));
        }
      } else {
        for (auto& rs : active) SKIFF_TRY(scaleRS(rs, replicasOf(rs), d, st));
      }
    }
    if (meta::boolean(d, {"spec", "paused"}) && complete(d, new_rs)) SKIFF_TRY(cleanup(d, new_rs));
    return syncRolloutStatus(d, st, new_rs);
  }

  // ---- status -----------------------------------------------------------------------------

  bool complete(const json& d, const std::optional<json>& new_rs) const {
    std::int64_t want = replicasOf(d);
    std::int64_t updated = new_rs ? statusInt(*new_rs, "replicas") : 0;
    std::int64_t total = 0, available = 0;
    for (const auto& rs : all_) {
      total += statusInt(rs, "replicas");
      available += statusInt(rs, "availableReplicas");
    }
    return updated == want && total == want && available == want;
  }

  Result<void> cleanup(const json& d, const std::optional<json>& new_rs) {
    std::int64_t limit = meta::integer(d, {"spec", "revisionHistoryLimit"}, 10);
    std::vector<json> cleanable;
    for (const auto& rs : oldRSs(new_rs)) {
      if (replicasOf(rs) == 0 && statusInt(rs, "replicas") == 0 && !meta::isDeleting(rs) &&
          statusInt(rs, "observedGeneration") >= meta::generation(rs)) {
        cleanable.push_back(rs);
      }
    }
    if (static_cast<std::int64_t>(cleanable.size()) <= limit) return {};
    std::sort(cleanable.begin(), cleanable.end(),
              [](const json& a, const json& b) { return revisionOf(a) < revisionOf(b); });
    std::size_t drop = cleanable.size() - static_cast<std::size_t>(limit);
    for (std::size_t i = 0; i < drop; ++i) {
      auto r = client_.remove(gvr::kReplicaSets, meta::ns(d), meta::name(cleanable[i]),
                              opts::withUid(meta::uid(cleanable[i])));
      if (!r && !r.error().is(ErrorCode::NotFound)) return std::move(r).error();
    }
    return {};
  }

  json calculateStatus(const json& d, const Strategy& st, const std::optional<json>& new_rs) {
    std::int64_t total = 0, ready = 0, available = 0;
    for (const auto& rs : all_) {
      total += statusInt(rs, "replicas");
      ready += statusInt(rs, "readyReplicas");
      available += statusInt(rs, "availableReplicas");
    }
    std::int64_t want = replicasOf(d);
    json status = meta::at(d, {"status"}).is_object() ? d["status"] : json::object();
    status["observedGeneration"] = meta::generation(d);
    status["replicas"] = total;
    status["updatedReplicas"] = new_rs ? statusInt(*new_rs, "replicas") : 0;
    status["readyReplicas"] = ready;
    status["availableReplicas"] = available;
    std::int64_t unavailable = std::max<std::int64_t>(want - available, 0);
    if (unavailable > 0) {
      status["unavailableReplicas"] = unavailable;
    } else {
      status.erase("unavailableReplicas");
    }
    json conds = status.contains("conditions") ? status["conditions"] : json::array();
    TimePoint now = clock().now();
    if (available >= want - (st.recreate ? 0 : st.max_unavailable)) {
      ctl::setCondition(conds, ctl::condition("Available", "True", "MinimumReplicasAvailable",
                                              "Deployment has minimum availability.", now));
    } else {
      ctl::setCondition(conds,
                        ctl::condition("Available", "False", "MinimumReplicasUnavailable",
                                       "Deployment does not have minimum availability.", now));
    }
    status["conditions"] = conds;
    return status;
  }

  // syncRolloutStatus: status fields plus the Progressing condition and its deadline.
  Result<void> syncRolloutStatus(json& d, const Strategy& st, const std::optional<json>& new_rs) {
    json old_status = meta::at(d, {"status"}).is_object() ? d["status"] : json::object();
    json status = calculateStatus(d, st, new_rs);
    json& conds = status["conditions"];
    TimePoint now = clock().now();
    std::int64_t deadline = meta::integer(d, {"spec", "progressDeadlineSeconds"}, 600);
    std::string rs_name = new_rs ? meta::name(*new_rs) : "";
    const json* prog = ctl::findCondition(conds, "Progressing");
    bool paused = meta::boolean(d, {"spec", "paused"});
    if (paused) {
      if (!prog || prog->value("reason", "") != "DeploymentPaused") {
        ctl::setCondition(conds, ctl::condition("Progressing", "Unknown", "DeploymentPaused",
                                                "Deployment is paused", now));
      }
    } else if (complete(d, new_rs) && new_rs) {
      if (!prog || prog->value("reason", "") != "NewReplicaSetAvailable") {
        ctl::setCondition(
            conds,
            ctl::condition("Progressing", "True", "NewReplicaSetAvailable",
                           "ReplicaSet \"" + rs_name + "\" has successfully progressed.", now));
      }
    } else if (new_rs) {
      bool progressing =
          !created_rs_.empty() ||
          meta::integer(old_status, {"updatedReplicas"}) != status["updatedReplicas"] ||
          meta::integer(old_status, {"readyReplicas"}) != status["readyReplicas"] ||
          meta::integer(old_status, {"availableReplicas"}) != status["availableReplicas"] ||
          meta::integer(old_status, {"replicas"}) != status["replicas"] || prog == nullptr ||
          prog->value("reason", "") == "DeploymentPaused" ||
          prog->value("reason", "") == "NewReplicaSetAvailable" ||
          prog->value("message", "").find("\"" + rs_name + "\"") == std::string::npos;
      if (progressing) {
        json c = !created_rs_.empty()
                     ? ctl::condition("Progressing", "True", "NewReplicaSetCreated",
                                      "Created new replica set \"" + rs_name + "\"", now)
                     : ctl::condition("Progressing", "True", "ReplicaSetUpdated",
                                      "ReplicaSet \"" + rs_name + "\" is progressing.", now);
        ctl::setCondition(conds, c);
        // lastUpdateTime moves with progress even when the reason stays.
        for (auto& x : conds) {
          if (x.value("type", "") == "Progressing") x["lastUpdateTime"] = formatTime(now);
        }
      } else if (prog && prog->value("reason", "") != "ProgressDeadlineExceeded") {
        TimePoint last;
        if (parseTime(prog->value("lastUpdateTime", ""), &last) &&
            last + std::chrono::seconds(deadline) < now) {
          ctl::setCondition(
              conds,
              ctl::condition("Progressing", "False", "ProgressDeadlineExceeded",
                             "ReplicaSet \"" + rs_name + "\" has timed out progressing.", now));
        }
      }
      // Look again when the deadline would pass.
      if (const json* p = ctl::findCondition(conds, "Progressing");
          p && p->value("status", "") == "True") {
        TimePoint last;
        if (parseTime(p->value("lastUpdateTime", ""), &last)) {
          queue().addAfter(meta::key(d),
                           last + std::chrono::seconds(deadline) - now + std::chrono::seconds(1));
        }
      }
    }
    created_rs_.clear();
    if (status == old_status) return {};
    json obj = d;
    obj["status"] = status;
    auto r = client_.update(gvr::kDeployments, meta::ns(d), obj, "status");
    if (!r && !r.error().is(ErrorCode::NotFound)) return std::move(r).error();
    return {};
  }

  Result<void> syncStatusOnly(json& d) {
    SKIFF_ASSIGN_OR_RETURN(Strategy st, strategyOf(d));
    SKIFF_ASSIGN_OR_RETURN(ObjectList rsl,
                           client_.list(gvr::kReplicaSets, meta::ns(d), ListOptions{}));
    all_.clear();
    for (const auto& rs : rsl.items) {
      auto ref = meta::controllerRef(rs);
      if (ref && ref->value("uid", "") == meta::uid(d)) all_.push_back(rs);
    }
    return syncRolloutStatus(d, st, findNewRS(d));
  }

  ApiClient& client_;
  EventRecorder recorder_;
  Informer* deployments_ = nullptr;
  // Per-sync scratch state (one worker syncs one key at a time; see ControllerManager).
  std::mutex sync_mu_;
  std::vector<json> all_;
  std::string created_rs_;
};

}  // namespace

std::unique_ptr<Controller> newDeploymentController(ApiClient& client,
                                                    std::shared_ptr<Clock> clock) {
  return std::make_unique<DeploymentController>(client, std::move(clock));
}

}  // namespace skiff::master
