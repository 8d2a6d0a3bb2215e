// Adapter from agent::ContainerRuntime to the runtime library (skiff/runtime/runtime.h).
// TODO(agent): wire skiff::runtime::createRuntime once the runtime branch is merged.
#include "skiff/agent/agent.h"

namespace skiff::agent {

Result<ContainerRuntimePtr> makeContainerRuntime(const AgentConfig& cfg) {
  return Error(ErrorCode::Unavailable,
               "container runtime '" + cfg.runtime + "' is not built into this skiff-agent");
}

Result<PodNetworkManagerPtr> makePodNetwork(const AgentConfig&, const std::string&) {
  return PodNetworkManagerPtr();
}

}  // namespace skiff::agent
