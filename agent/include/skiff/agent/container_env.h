#pragma once

// A container's environment and command line as kubelet builds them
// (pkg/kubelet/kubelet_pods.go makeEnvironmentVariables, third_party/forked/golang/expansion):
// envFrom, then env (value, fieldRef, resourceFieldRef, configMapKeyRef, secretKeyRef) with
// $(VAR) expansion over the variables defined before, then the service link variables
// (FOO_SERVICE_HOST, FOO_PORT_80_TCP_ADDR...) for names not already set. Errors carry the
// message kubelet shows in CreateContainerConfigError.

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "skiff/agent/object_source.h"
#include "skiff/common/result.h"

namespace skiff::agent {

using EnvList = std::vector<std::pair<std::string, std::string>>;

struct EnvContext {
  std::string node_name;
  std::string host_ip;
  std::string pod_ip;
  int64_t node_allocatable_milli_cpu = 0;
  int64_t node_allocatable_memory = 0;
};

Result<EnvList> buildContainerEnv(const nlohmann::json& pod, const nlohmann::json& container,
                                  ObjectSource& objects, const EnvContext& ctx);

// "$(A)-$$(B)-$(MISSING)" with A=x -> "x-$(B)-$(MISSING)".
std::string expandVars(const std::string& in, const std::map<std::string, std::string>& vars);

// The service link variables of one Service (kubelet's envvars.FromServices).
EnvList serviceEnv(const std::vector<nlohmann::json>& services);

// Resolves a downward API fieldRef path on a pod (metadata.name, metadata.labels['k'],
// status.podIP...). `pod_ip`/`host_ip` override the pod's status, which may lag.
Result<std::string> podFieldValue(const nlohmann::json& pod, const std::string& path,
                                  const EnvContext& ctx);
// resourceFieldRef (limits.cpu, requests.memory...) with its divisor.
Result<std::string> resourceFieldValue(const nlohmann::json& container, const nlohmann::json& ref,
                                       const EnvContext& ctx);

}  // namespace skiff::agent
