#pragma once

// The Deployment controller's class and helpers, shared by deployment.cc (handlers, sync,
// ReplicaSet bookkeeping) and deployment_rollout.cc (rolling and recreate rollouts, scaling,
// history cleanup, status).

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "skiff/master/controllers/controllers.h"
#include "skiff/master/informer/event_recorder.h"
#include "skiff/master/informer/meta.h"
#include "skiff/master/informer/options.h"

namespace skiff::master::deployment {

inline constexpr const char* kRevision = "deployment.kubernetes.io/revision";
inline constexpr const char* kRevisionHistory = "deployment.kubernetes.io/revision-history";
inline constexpr const char* kDesiredReplicas = "deployment.kubernetes.io/desired-replicas";
inline constexpr const char* kMaxReplicas = "deployment.kubernetes.io/max-replicas";
inline constexpr const char* kHashLabel = "pod-template-hash";

std::int64_t replicasOf(const json& obj);
std::int64_t statusInt(const json& obj, const char* f);
// The deployment.kubernetes.io/revision annotation (0 when absent or not a number).
std::int64_t revisionOf(const json& rs);
// The template without pod-template-hash, as EqualIgnoreHash compares.
json templateIgnoringHash(json tmpl);
// Oldest first (creationTimestamp, then name).
bool olderFirst(const json& a, const json& b);

struct Strategy {
  bool recreate = false;
  std::int64_t max_surge = 0;
  std::int64_t max_unavailable = 0;
};

// The rollout strategy with maxSurge/maxUnavailable resolved against spec.replicas.
Result<Strategy> strategyOf(const json& d);

class DeploymentController : public RecordingController {
 public:
  DeploymentController(ApiClient& client, std::shared_ptr<Clock> clock);

  void registerHandlers(SharedInformers& inf) override;

  Result<void> sync(const std::string& key) override;

 private:
  // ---- ReplicaSet bookkeeping -------------------------------------------------------------

  std::optional<json> findNewRS(const json& d) const;

  std::vector<json> oldRSs(const std::optional<json>& new_rs) const;

  bool isScalingEvent(const json& d) const;

  // The annotations a ReplicaSet carries for this Deployment (SetNewReplicaSetAnnotations +
  // copyDeploymentAnnotationsToReplicaSet): the user's annotations (change-cause...), revision,
  // desired/max replicas.
  json rsAnnotations(const json& d, const json& current, std::int64_t revision,
                     const Strategy& st) const;

  // getNewReplicaSet: finds or creates the new ReplicaSet and keeps revisions in step.
  Result<std::optional<json>> newReplicaSet(json& d, const Strategy& st, bool create);

  Result<void> setDeploymentRevision(json& d, std::int64_t revision);

  void replaceRS(const json& rs);

  // NewRSNewReplicas
  std::int64_t newRSReplicas(const json& d, const Strategy& st, const std::optional<json>& new_rs);

  Result<bool> scaleRS(json& rs, std::int64_t to, const json& d, const Strategy& st);

  // ---- strategies ---------------------------------------------------------------------------

  Result<void> rolloutRolling(json& d, const Strategy& st);

  // reconcileOldReplicaSets: scale old sets down without dropping below replicas-maxUnavailable
  // available pods, first removing unhealthy old replicas.
  Result<bool> reconcileOld(const json& d, const Strategy& st, const std::optional<json>& new_rs);

  Result<void> rolloutRecreate(json& d, const Strategy& st);

  // sync(): scaling while paused or when spec.replicas changed mid-rollout, proportionally.
  Result<void> syncScale(json& d, const Strategy& st, bool rollout_allowed);

  // ---- status -----------------------------------------------------------------------------

  bool complete(const json& d, const std::optional<json>& new_rs) const;

  Result<void> cleanup(const json& d, const std::optional<json>& new_rs);

  json calculateStatus(const json& d, const Strategy& st, const std::optional<json>& new_rs);

  // syncRolloutStatus: status fields plus the Progressing condition and its deadline.
  Result<void> syncRolloutStatus(json& d, const Strategy& st, const std::optional<json>& new_rs);

  Result<void> syncStatusOnly(json& d);

  Informer* deployments_ = nullptr;
  // Per-sync scratch state (one worker syncs one key at a time; see ControllerManager).
  std::mutex sync_mu_;
  std::vector<json> all_;
  std::string created_rs_;
};

}  // namespace skiff::master::deployment
