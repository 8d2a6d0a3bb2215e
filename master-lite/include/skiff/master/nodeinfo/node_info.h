#pragma once

// Nodes and pods as the scheduler sees them (kube-scheduler's framework.NodeInfo / PodInfo),
// precomputed from JSON once per object change so the per-pod loop over nodes is arithmetic.
// Shared by the scheduler and the DaemonSet controller, which checks that a daemon pod fits a
// node with the same predicates (upstream's daemonset controller uses the scheduler framework's
// too), so that neither includes the other's private headers.

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "skiff/common/pod_resources.h"
#include "skiff/master/selectors.h"

namespace skiff::master::sched {

using json = nlohmann::json;

struct Resources {
  std::int64_t cpu = 0;     // milli-cores
  std::int64_t memory = 0;  // milli-bytes (quantity milli-units)
  std::int64_t ephemeral = 0;
  std::map<std::string, std::int64_t> scalar;  // hugepages-*, extended resources
  static Resources from(const MilliResourceList& list);
  void add(const Resources& o, int sign = 1);
};

struct Taint {
  std::string key, value, effect;
};

struct Toleration {
  std::string key, op, value, effect;
  bool tolerates(const Taint& t) const;
};

struct HostPort {
  std::string protocol, ip;
  int port = 0;
  bool conflicts(const HostPort& o) const;
};

// A node selector term set (requiredDuringScheduling... nodeSelectorTerms), ORed.
struct NodeSelectorRequirement {
  std::string key, op;
  std::vector<std::string> values;
  bool field = false;  // matchFields (metadata.name only)
};
struct NodeSelectorTerm {
  std::vector<NodeSelectorRequirement> reqs;
  bool matches(const std::string& node_name,
               const std::map<std::string, std::string>& labels) const;
};

// What the scheduler needs of a pod.
struct PodInfo {
  std::string key, ns, name, uid, node_name, owner_uid;
  Resources requests, non_zero;
  std::vector<HostPort> ports;
  std::vector<Toleration> tolerations;
  std::map<std::string, std::string> node_selector;
  std::vector<NodeSelectorTerm> required_terms;  // empty: no required affinity
  std::vector<std::pair<int, NodeSelectorTerm>> preferred_terms;
  std::int32_t priority = 0;
  bool preempt_never = false;
  json object;

  static PodInfo from(const json& pod);
};

struct NodeInfo {
  std::string name;
  bool present = false;  // Node object seen (pods may arrive first)
  std::map<std::string, std::string> labels;
  Resources allocatable;
  std::int64_t allowed_pods = 110;
  std::vector<Taint> taints;  // including the implicit not-ready/unreachable ones
  bool unschedulable = false;
  json object;

  Resources requested, non_zero_requested;
  std::map<std::string, PodInfo> pods;  // by key
  std::map<std::string, int> owner_counts;

  void setNode(const json& node);
  void addPod(const PodInfo& p);
  void removePod(const std::string& key);
};

// One node's filter outcome: the plugin reasons (empty = feasible), and whether preemption
// could help (Unschedulable) or not (UnschedulableAndUnresolvable).
struct FilterResult {
  std::vector<std::string> reasons;
  bool resolvable = true;
  bool ok() const { return reasons.empty(); }
};

FilterResult filterNode(const PodInfo& pod, const NodeInfo& node);
// Resource and port fit alone (what preemption re-checks after removing victims).
FilterResult fitResources(const PodInfo& pod, const NodeInfo& node, const Resources& requested,
                          int pod_count, const std::vector<HostPort>& used_ports);

// Raw plugin scores for one node, before normalisation.
struct RawScores {
  std::int64_t least_allocated = 0;
  std::int64_t balanced = 0;
  std::int64_t intolerable_prefer_no_schedule = 0;
  std::int64_t preferred_affinity = 0;
  std::int64_t same_owner = 0;
};
RawScores scoreNode(const PodInfo& pod, const NodeInfo& node);
// Weighted totals after upstream's NormalizeScore steps (TaintToleration 3, NodeAffinity 2,
// PodTopologySpread 2, NodeResourcesFit 1, BalancedAllocation 1).
std::vector<std::int64_t> combineScores(const std::vector<RawScores>& raw);

// "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint {k: v}."
// `per_node` holds each failing node's reasons; `post_filter` is the preemption message
// ("" when preemption did not run).
std::string fitErrorMessage(std::size_t num_nodes,
                            const std::vector<std::vector<std::string>>& per_node,
                            const std::string& post_filter);

}  // namespace skiff::master::sched
