#pragma once

// The API objects a pod's containers and volumes refer to (ConfigMaps, Secrets, Services for the
// service env vars, ServiceAccount tokens), behind a narrow interface so the pod logic is tested
// without an API server.

#include <nlohmann/json.hpp>

#include <memory>
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
  // A bound ServiceAccount token (TokenRequest); audience empty = the API server's.
  virtual Result<std::string> serviceAccountToken(const std::string& ns, const std::string& sa,
                                                  const std::string& pod_name,
                                                  const std::string& pod_uid,
                                                  int64_t expiration_seconds) = 0;
  // PEM of the cluster CA the pods should trust (kube-root-ca.crt ConfigMap).
  virtual Result<std::string> rootCa(const std::string& ns) = 0;
};

// Fetches everything from the API server on each call (kubelet's "Get" strategy; the sync loop's
// period bounds how stale a mounted ConfigMap can be).
std::unique_ptr<ObjectSource> makeApiObjectSource(KubeClientPtr client);

}  // namespace skiff::agent
