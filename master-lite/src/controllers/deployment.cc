// Deployment controller (pkg/controller/deployment): owns ReplicaSets whose template is the
// Deployment's template plus a pod-template-hash label, rolls from old to new under maxSurge /
// maxUnavailable (RollingUpdate) or all at once (Recreate), keeps revision annotations that
// `kubectl rollout history|undo` read, trims history to revisionHistoryLimit and reports the
// status fields and Progressing/Available conditions `kubectl rollout status` waits on.
#include <algorithm>
#include <set>

#include "deployment_controller.h"
#include "skiff/common/log.h"
#include "util.h"

namespace skiff::master {
namespace deployment {

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

DeploymentController::DeploymentController(ApiClient& client, std::shared_ptr<Clock> clock)
    : RecordingController("deployment", client, std::move(clock), "deployment-controller") {}

void DeploymentController::registerHandlers(SharedInformers& inf) {
  deployments_ = &enqueueEveryChange(inf, gvr::kDeployments);
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

Result<void> DeploymentController::sync(const std::string& key) {
  std::lock_guard serial(sync_mu_);  // all_/created_rs_ are per-sync scratch state
  SKIFF_ASSIGN_OR_RETURN(std::optional<json> got,
                         ctl::getIfExists(client_, gvr::kDeployments, key));
  if (!got) return {};
  json d = std::move(*got);
  const std::string ns = meta::ns(d);
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

std::optional<json> DeploymentController::findNewRS(const json& d) const {
  json want = templateIgnoringHash(meta::at(d, {"spec", "template"}));
  for (const auto& rs : all_) {  // oldest first, as FindNewReplicaSet picks
    if (templateIgnoringHash(meta::at(rs, {"spec", "template"})) == want) return rs;
  }
  return std::nullopt;
}

std::vector<json> DeploymentController::oldRSs(const std::optional<json>& new_rs) const {
  std::vector<json> out;
  for (const auto& rs : all_) {
    if (!new_rs || meta::uid(rs) != meta::uid(*new_rs)) out.push_back(rs);
  }
  return out;
}

bool DeploymentController::isScalingEvent(const json& d) const {
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
json DeploymentController::rsAnnotations(const json& d, const json& current, std::int64_t revision,
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
Result<std::optional<json>> DeploymentController::newReplicaSet(json& d, const Strategy& st,
                                                                bool create) {
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
    // desired/max-replicas stay as the set was last scaled (SetNewReplicaSetAnnotations sets
    // them only on creation): scale() reads them to size its proportional share, and
    // scaleRS writes them together with spec.replicas.
    for (const char* k : {kDesiredReplicas, kMaxReplicas}) {
      const json& was = meta::at(rs, {"metadata", "annotations", k});
      if (was.is_null()) {
        ann.erase(k);
      } else {
        ann[k] = was;
      }
    }
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
      // UpdateStatus as upstream (the role may update deployments/status, not patch it).
      json next = d;
      next["status"]["collisionCount"] = collisions.value_or(0) + 1;
      SKIFF_TRY(client_.update(gvr::kDeployments, ns, next, "status"));
      return Error(ErrorCode::Conflict, "hash collision for ReplicaSet '" + meta::name(rs) +
                                            "', retrying with a new collisionCount");
    }
    std::string msg =
        "Failed to create new replica set \"" + meta::name(rs) + "\": " + created.error().message();
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

Result<void> DeploymentController::setDeploymentRevision(json& d, std::int64_t revision) {
  std::string want = std::to_string(revision);
  if (meta::str(d, {"metadata", "annotations", kRevision}) == want) return {};
  // An update at d's resourceVersion, as upstream (the role may update deployments, not patch).
  json next = d;
  next["metadata"]["annotations"][kRevision] = want;
  SKIFF_ASSIGN_OR_RETURN(json updated, client_.update(gvr::kDeployments, meta::ns(d), next));
  d["metadata"] = updated["metadata"];
  return {};
}

void DeploymentController::replaceRS(const json& rs) {
  for (auto& x : all_) {
    if (meta::uid(x) == meta::uid(rs)) x = rs;
  }
}

Result<void> DeploymentController::syncStatusOnly(json& d) {
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

}  // namespace deployment

const ControllerFactory newDeploymentController = makeController<deployment::DeploymentController>;

}  // namespace skiff::master
