// The Deployment controller's rollouts (pkg/controller/deployment/rolling.go, recreate.go,
// sync.go): rolling updates under maxSurge/maxUnavailable, Recreate, proportional scaling,
// revision history cleanup, and the status with its Progressing/Available conditions.
#include <algorithm>
#include <cmath>
#include <set>

#include "deployment_controller.h"
#include "skiff/common/log.h"
#include "util.h"

namespace skiff::master::deployment {

// NewRSNewReplicas
std::int64_t DeploymentController::newRSReplicas(const json& d, const Strategy& st,
                                                 const std::optional<json>& new_rs) {
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

Result<bool> DeploymentController::scaleRS(json& rs, std::int64_t to, const json& d,
                                           const Strategy& st) {
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

Result<void> DeploymentController::rolloutRolling(json& d, const Strategy& st) {
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
Result<bool> DeploymentController::reconcileOld(const json& d, const Strategy& st,
                                                const std::optional<json>& new_rs) {
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

Result<void> DeploymentController::rolloutRecreate(json& d, const Strategy& st) {
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

// getReplicaSetFraction + getProportion: the share of the replicas being added (or removed)
// that one ReplicaSet takes. Its size grows by the ratio of the new allowed size to the
// allowed size it was last scaled for (its max-replicas annotation), rounded to nearest, and
// is capped so the shares never exceed what is left to hand out.
static std::int64_t proportionOf(const json& rs, const json& d, const Strategy& st,
                                 std::int64_t to_add, std::int64_t added) {
  std::int64_t r = replicasOf(rs);
  if (r == 0 || to_add == 0 || to_add == added) return 0;
  std::int64_t fraction;
  if (replicasOf(d) == 0) {
    fraction = -r;
  } else {
    std::int64_t allowed_size = replicasOf(d) + (st.recreate ? 0 : st.max_surge);
    std::int64_t annotated = statusInt(d, "replicas");  // fallback when unannotated
    std::string ann = meta::str(rs, {"metadata", "annotations", kMaxReplicas});
    if (!ann.empty()) {
      try {
        annotated = std::stoll(ann);
      } catch (const std::exception&) {
      }
    }
    if (annotated <= 0) annotated = r;
    double size = static_cast<double>(r * allowed_size) / static_cast<double>(annotated);
    fraction = static_cast<std::int64_t>(std::llround(size)) - r;
  }
  std::int64_t left = to_add - added;
  return to_add > 0 ? std::min(fraction, left) : std::max(fraction, left);
}

// sync() / scale(): scaling while paused or when spec.replicas changed mid-rollout. With one
// active ReplicaSet it takes the whole count; with several, the surge-inclusive difference is
// split in proportion to their sizes so a half-finished rollout keeps its shape.
Result<void> DeploymentController::syncScale(json& d, const Strategy& st, bool rollout_allowed) {
  (void)rollout_allowed;
  SKIFF_ASSIGN_OR_RETURN(std::optional<json> new_rs, newReplicaSet(d, st, false));
  std::vector<json> active;
  for (const auto& rs : all_) {
    if (replicasOf(rs) > 0) active.push_back(rs);
  }
  std::int64_t want = replicasOf(d);
  if (active.size() <= 1) {
    // FindActiveOrLatest: the only active set, else the new one, else the newest old one.
    json target = !active.empty() ? active[0]
                  : new_rs        ? *new_rs
                  : all_.empty()  ? json()
                                  : all_.back();
    if (!target.is_null()) SKIFF_TRY(scaleRS(target, want, d, st));
  } else if (new_rs && replicasOf(*new_rs) == want &&
             meta::str(*new_rs, {"metadata", "annotations", kDesiredReplicas}) ==
                 std::to_string(want) &&
             statusInt(*new_rs, "availableReplicas") >= want) {
    // IsSaturated: the new set carries the rollout; old ones go.
    for (auto& rs : oldRSs(new_rs)) {
      if (replicasOf(rs) > 0) SKIFF_TRY(scaleRS(rs, 0, d, st));
    }
  } else if (!st.recreate) {
    std::int64_t allowed = want > 0 ? want + st.max_surge : 0;
    std::int64_t current = 0;
    for (const auto& rs : active) current += replicasOf(rs);
    std::int64_t to_add = allowed - current;
    // Largest first (it takes the rounding leftover); among equals the newer one first when
    // growing, the older one first when shrinking.
    std::stable_sort(active.begin(), active.end(), [&](const json& a, const json& b) {
      if (replicasOf(a) != replicasOf(b)) return replicasOf(a) > replicasOf(b);
      return to_add > 0 ? olderFirst(b, a) : olderFirst(a, b);
    });
    std::vector<std::int64_t> sizes;
    std::int64_t added = 0;
    for (const auto& rs : active) {
      std::int64_t share = proportionOf(rs, d, st, to_add, added);
      sizes.push_back(replicasOf(rs) + share);
      added += share;
    }
    if (to_add != 0) sizes[0] = std::max<std::int64_t>(sizes[0] + to_add - added, 0);
    for (std::size_t i = 0; i < active.size(); ++i) SKIFF_TRY(scaleRS(active[i], sizes[i], d, st));
  }
  if (meta::boolean(d, {"spec", "paused"}) && complete(d, new_rs)) SKIFF_TRY(cleanup(d, new_rs));
  return syncRolloutStatus(d, st, new_rs);
}

bool DeploymentController::complete(const json& d, const std::optional<json>& new_rs) const {
  std::int64_t want = replicasOf(d);
  std::int64_t updated = new_rs ? statusInt(*new_rs, "replicas") : 0;
  std::int64_t total = 0, available = 0;
  for (const auto& rs : all_) {
    total += statusInt(rs, "replicas");
    available += statusInt(rs, "availableReplicas");
  }
  return updated == want && total == want && available == want;
}

Result<void> DeploymentController::cleanup(const json& d, const std::optional<json>& new_rs) {
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
    SKIFF_TRY(
        ctl::ignoreNotFound(client_.remove(gvr::kReplicaSets, meta::ns(d), meta::name(cleanable[i]),
                                           opts::withUid(meta::uid(cleanable[i])))));
  }
  return {};
}

json DeploymentController::calculateStatus(const json& d, const Strategy& st,
                                           const std::optional<json>& new_rs) {
  std::int64_t total = 0, ready = 0, available = 0;
  for (const auto& rs : all_) {
    total += statusInt(rs, "replicas");
    ready += statusInt(rs, "readyReplicas");
    available += statusInt(rs, "availableReplicas");
  }
  std::int64_t want = replicasOf(d);
  json status = ctl::statusOf(d);
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
    ctl::setCondition(conds, ctl::condition("Available", "False", "MinimumReplicasUnavailable",
                                            "Deployment does not have minimum availability.", now));
  }
  status["conditions"] = conds;
  return status;
}

// syncRolloutStatus: status fields plus the Progressing condition and its deadline.
Result<void> DeploymentController::syncRolloutStatus(json& d, const Strategy& st,
                                                     const std::optional<json>& new_rs) {
  json old_status = ctl::statusOf(d);
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
  return ctl::updateStatus(client_, gvr::kDeployments, d, std::move(status));
}

}  // namespace skiff::master::deployment
