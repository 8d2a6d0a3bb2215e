#pragma once

// What the node is and what it can hold, as the Node object reports it: capacity, allocatable
// (capacity - kube-reserved - system-reserved - hard eviction), nodeInfo, the host name and
// addresses. Consumer-side interface (STYLE.md §2); hostinfo backs it (makeNodeFacts), and tests
// use fixed values.

#include <nlohmann/json.hpp>

#include <memory>
#include <string>

#include "skiff/agent/config.h"
#include "skiff/common/result.h"

namespace skiff::agent {

struct NodeFactsSnapshot {
  nlohmann::json capacity;  // {"cpu":"2","memory":"8049376Ki","pods":"110",...}
  nlohmann::json allocatable;
  nlohmann::json node_info;  // v1.NodeSystemInfo minus the runtime/kubelet versions
  std::string hostname;      // lower-cased, as kubelet does
  std::string default_ip;    // first global address, for InternalIP without --node-ip
};

class NodeFacts {
 public:
  virtual ~NodeFacts() = default;
  virtual Result<NodeFactsSnapshot> collect() = 0;
};
using NodeFactsPtr = std::unique_ptr<NodeFacts>;

// Backed by hostinfo (collectHostInfo + computeNodeResources), with the reservations and hard
// eviction thresholds of `cfg`; those are parsed here, so a bad value fails at start.
Result<NodeFactsPtr> makeNodeFacts(const AgentConfig& cfg);

// Live usage for the eviction manager and node pressure conditions.
struct NodeUsage {
  int64_t memory_available = -1;  // bytes (MemAvailable)
  int64_t memory_capacity = -1;
  int64_t nodefs_available = -1, nodefs_capacity = -1;
  int64_t nodefs_inodes_free = -1, nodefs_inodes = -1;
  int64_t pids_available = -1, pids_max = -1;
};
Result<NodeUsage> readNodeUsage(const std::string& root_dir);

}  // namespace skiff::agent
