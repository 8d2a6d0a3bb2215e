#pragma once
// The scheduler's VolumeBinding plugin (pkg/scheduler/framework/plugins/volumebinding): a pod's
// claims must exist and Immediate ones be bound (PreFilter); a node must match the node affinity
// of the volumes already bound to the pod's claims, and a WaitForFirstConsumer claim needs a
// matching volume on the node or a class that provisions (Filter); the chosen node is written
// to such claims as volume.kubernetes.io/selected-node so the PV controller binds or provisions
// there (PreBind).
#include <functional>
#include <string>
#include <vector>

#include "skiff/master/client/api_client.h"
#include "skiff/master/informer/informer.h"

namespace skiff::master::sched {

struct PodVolumes {
  std::string error;                 // PreFilter failure ("" = fine)
  std::vector<json> bound_volumes;   // PVs bound to the pod's claims
  std::vector<json> delayed_claims;  // unbound WaitForFirstConsumer claims
  bool empty() const { return bound_volumes.empty() && delayed_claims.empty(); }
};

class VolumeBinding {
 public:
  // `changed` runs when a claim, volume or class changes (unschedulable pods are retried).
  VolumeBinding(ApiClient& client, const std::function<void()>& changed);
  Result<void> start(bool background);
  void stop();
  PodVolumes prepare(const json& pod) const;
  // "" when `node` fits, else upstream's reason.
  std::string filter(const PodVolumes& vols, const json& node) const;
  Result<void> preBind(const PodVolumes& vols, const std::string& node);

 private:
  ApiClient& client_;
  Informer claims_;
  Informer volumes_;
  Informer classes_;
};

}  // namespace skiff::master::sched
