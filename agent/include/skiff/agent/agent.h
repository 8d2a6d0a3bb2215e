#pragma once

// The whole node agent: credentials (kubeconfig or join), node registration, lease and status,
// pods, the kubelet API, the service proxy. runAgent blocks until SIGTERM/SIGINT and returns the
// process exit code. Pods keep running when the agent stops (they are re-adopted on start).

#include <nlohmann/json.hpp>

#include <memory>
#include <vector>

#include "skiff/agent/config.h"
#include "skiff/agent/container_runtime.h"
#include "skiff/netproxy/service_tracker.h"

namespace skiff::agent {

int runAgent(const AgentConfig& cfg);

// Adapters to the real libraries (runtime_adapter.cc, network_adapter.cc). They return an
// Unavailable error when the library is not built in, and the agent reports the node NotReady
// with that message.
Result<ContainerRuntimePtr> makeContainerRuntime(const AgentConfig& cfg);
Result<PodNetworkManagerPtr> makePodNetwork(const AgentConfig& cfg, const std::string& node_name);
// kube-proxy's part: the Services and EndpointSlices that changed since the last sync (the
// informers feed `changes` as events arrive), rules of the chosen mode out (netproxy's
// ServiceProxy). Returns a one-line summary for the log. Called from one sync loop.
class ServiceProxySink {
 public:
  virtual ~ServiceProxySink() = default;
  virtual Result<std::string> sync(netproxy::ServiceTracker& changes) = 0;
};
// Removes the service proxy's and the pod network's rules of the nftables and/or iptables modes
// in this network namespace (`skiff-agent cleanup-proxy`, and a mode switch at start): the
// nftables tables `ip skiff` and `ip skiff-podnet`, the legacy KUBE-* and SKIFF-* chains (only
// from legacy tables that already exist). Other tables and chains are left alone. Idempotent.
Result<void> cleanupProxyRules(bool nftables, bool iptables);

Result<std::unique_ptr<ServiceProxySink>> makeServiceProxy(const AgentConfig& cfg,
                                                           const std::string& node_name);
// Imports an image archive into the runtime's image store; returns the names of its images (an
// id for an image without one).
Result<std::vector<std::string>> importImageArchive(ContainerRuntime& runtime,
                                                    const std::string& path);

}  // namespace skiff::agent
