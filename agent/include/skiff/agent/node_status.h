#pragma once

// The Node side of kubelet (pkg/kubelet/kubelet_node_status.go, nodelease): register the Node,
// renew its Lease in kube-node-lease (duration 40 s, renewed every 10 s), and patch the node
// status when it changed or at least every nodeStatusReportFrequency (5 min). Conditions carry
// kubelet's reasons and messages (KubeletReady, KubeletHasSufficientMemory...).
//
// Thread-safety: registerNode/renewLease/syncStatus may run on different threads (the lease has
// its own so pod work never delays it); shared state is behind a mutex.

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "skiff/agent/backoff.h"
#include "skiff/agent/kube_client.h"
#include "skiff/agent/node_facts.h"

namespace skiff::agent {

// v1helper.IsExtendedResourceName: a domain-prefixed resource outside kubernetes.io
// ("example.com/fakecpu", "nvidia.com/gpu"), not a quota "requests." name.
bool isExtendedResourceName(std::string_view name);

struct NodeHealth {
  bool runtime_ready = true;
  std::string runtime_message;
  bool network_ready = true;  // pod network configured (podCIDR known)
  bool memory_pressure = false;
  bool disk_pressure = false;
  bool pid_pressure = false;
  std::vector<nlohmann::json> images;  // v1.ContainerImage, largest first, at most 50
};

struct NodeRegistration {
  std::string name;
  std::string node_ip;  // empty: NodeFacts default
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;  // added to the registered Node
  std::vector<nlohmann::json> taints;
  int kubelet_port = 10250;
  int lease_duration_seconds = 40;
  std::string kubelet_version;
  std::string runtime_version;
  std::chrono::seconds report_frequency{300};
};

class NodeStatusManager {
 public:
  NodeStatusManager(KubeClientPtr client, NodeRegistration reg, NodeFacts& facts,
                    std::function<NodeHealth()> health, WallClock clock);

  // Creates the Node; when it exists already, reconciles our labels/taints/addresses on it.
  Result<void> registerNode();
  // Creates or renews the Lease (renewTime = now, holderIdentity = node name).
  Result<void> renewLease();
  // Computes the status and patches it when it changed, or when `report_frequency` passed since
  // the last patch. Returns whether it patched.
  Result<bool> syncStatus();
  // Our Node as a watch saw it (spec.podCIDR assigned by the master's IPAM arrives this way).
  void observeNode(const nlohmann::json& node);
  // The Node as last read or written (spec.podCIDR etc.).
  nlohmann::json node();
  std::string podCidr();
  std::string nodeIp();

  // The full status we would report now (exposed for tests).
  Result<nlohmann::json> computeStatus(const nlohmann::json& old_status);

 private:
  nlohmann::json nodeObject(const NodeFactsSnapshot& facts);
  KubeClientPtr client_;
  NodeRegistration reg_;
  NodeFacts& facts_;
  std::function<NodeHealth()> health_;
  WallClock clock_;
  std::mutex mu_;
  nlohmann::json node_;
  nlohmann::json last_reported_;  // status without heartbeat times
  std::chrono::system_clock::time_point last_report_{};
  std::string node_ip_;
};

}  // namespace skiff::agent
