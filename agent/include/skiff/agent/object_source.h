#pragma once

// The API objects a pod's containers and volumes refer to (ConfigMaps, Secrets, Services for the
// service env vars, ServiceAccount tokens), behind a narrow interface so the pod logic is tested
// without an API server.

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "skiff/agent/kube_client.h"
#include "skiff/common/result.h"

namespace skiff::agent {

class ObjectSource {
 public:
  virtual ~ObjectSource() = default;
  virtual Result<nlohmann::json> configMap(const std::string& ns, const std::string& name) = 0;
  virtual Result<nlohmann::json> secret(const std::string& ns, const std::string& name) = 0;
  // Services of the namespace (and of "default" for the kubernetes service), for env vars.
  virtual Result<std::vector<nlohmann::json>> services(const std::string& ns) = 0;
  // A bound ServiceAccount token (TokenRequest bound to the pod); audience empty = the API
  // server's. The API source caches tokens and refreshes them at 80 % of their life
  // (ServiceAccountTokenManager).
  virtual Result<std::string> serviceAccountToken(const std::string& ns, const std::string& sa,
                                                  const std::string& audience,
                                                  const std::string& pod_name,
                                                  const std::string& pod_uid,
                                                  int64_t expiration_seconds) = 0;
  // A PersistentVolumeClaim and a PersistentVolume (claim-backed volumes). The defaults say
  // the source has none, for sources that serve no storage.
  virtual Result<nlohmann::json> persistentVolumeClaim(const std::string& ns,
                                                       const std::string& name) {
    return Error(ErrorCode::NotFound, "persistentvolumeclaims \"" + name + "\" not found");
    (void)ns;
  }
  virtual Result<nlohmann::json> persistentVolume(const std::string& name) {
    return Error(ErrorCode::NotFound, "persistentvolumes \"" + name + "\" not found");
  }
  // The pod's volumes are gone: forget what was cached for it (its tokens).
  virtual void forgetPod(const std::string& pod_uid) { (void)pod_uid; }
  // PEM of the cluster CA the pods should trust (kube-root-ca.crt ConfigMap).
  virtual Result<std::string> rootCa(const std::string& ns) = 0;
};

// Every Service of a namespace from a watch cache, or nullopt while that cache has not listed
// yet (the kubelet's service lister).
using ServiceLister =
    std::function<std::optional<std::vector<nlohmann::json>>(const std::string& ns)>;

// Fetches everything from the API server on each call (kubelet's "Get" strategy; the sync loop's
// period bounds how stale a mounted ConfigMap can be). Services come from `services` when it
// has them: a LIST per pod start was a request to the master for every pod of a burst.
std::unique_ptr<ObjectSource> makeApiObjectSource(KubeClientPtr client,
                                                  ServiceLister services = nullptr);

}  // namespace skiff::agent
