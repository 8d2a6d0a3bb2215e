#include "skiff/master/nodeinfo/node_info.h"

#include <algorithm>
#include <cmath>

#include "skiff/master/informer/meta.h"

namespace skiff::master::sched {

Resources Resources::from(const MilliResourceList& list) {
  Resources r;
  for (const auto& [k, v] : list) {
    if (k == "cpu") {
      r.cpu = v;
    } else if (k == "memory") {
      r.memory = v;
    } else if (k == "ephemeral-storage") {
      r.ephemeral = v;
    } else if (k != "pods") {
      r.scalar[k] = v;
    }
  }
  return r;
}

void Resources::add(const Resources& o, int sign) {
  cpu += sign * o.cpu;
  memory += sign * o.memory;
  ephemeral += sign * o.ephemeral;
  for (const auto& [k, v] : o.scalar) scalar[k] += sign * v;
}

bool Toleration::tolerates(const Taint& t) const {
  if (!effect.empty() && effect != t.effect) return false;
  if (!key.empty() && key != t.key) return false;
  if (op == "Exists") return true;
  if (op.empty() || op == "Equal") return value == t.value;
  return false;
}

bool HostPort::conflicts(const HostPort& o) const {
  if (port != o.port || protocol != o.protocol) return false;
  auto any = [](const std::string& ip) { return ip.empty() || ip == "0.0.0.0" || ip == "::"; };
  return any(ip) || any(o.ip) || ip == o.ip;
}

bool NodeSelectorTerm::matches(const std::string& node_name,
                               const std::map<std::string, std::string>& labels) const {
  if (reqs.empty()) return false;  // an empty term matches no objects
  for (const auto& r : reqs) {
    std::optional<std::string> v;
    if (r.field) {
      if (r.key == "metadata.name") v = node_name;
    } else if (auto it = labels.find(r.key); it != labels.end()) {
      v = it->second;
    }
    auto in = [&] {
      return v && std::find(r.values.begin(), r.values.end(), *v) != r.values.end();
    };
    if (r.op == "In") {
      if (!in()) return false;
    } else if (r.op == "NotIn") {
      if (in()) return false;
    } else if (r.op == "Exists") {
      if (!v) return false;
    } else if (r.op == "DoesNotExist") {
      if (v) return false;
    } else if (r.op == "Gt" || r.op == "Lt") {
      if (!v || r.values.size() != 1) return false;
      try {
        long long have = std::stoll(*v), want = std::stoll(r.values[0]);
        if (r.op == "Gt" ? !(have > want) : !(have < want)) return false;
      } catch (const std::exception&) {
        return false;
      }
    } else {
      return false;
    }
  }
  return true;
}

namespace {

std::vector<NodeSelectorTerm> parseTerms(const json& terms) {
  std::vector<NodeSelectorTerm> out;
  if (!terms.is_array()) return out;
  for (const auto& t : terms) {
    NodeSelectorTerm term;
    for (const char* kind : {"matchExpressions", "matchFields"}) {
      const json& exprs = meta::at(t, {kind});
      if (!exprs.is_array()) continue;
      for (const auto& e : exprs) {
        NodeSelectorRequirement r;
        r.key = e.value("key", "");
        r.op = e.value("operator", "");
        r.field = std::string(kind) == "matchFields";
        if (auto vs = e.find("values"); vs != e.end() && vs->is_array()) {
          for (const auto& v : *vs) {
            if (v.is_string()) r.values.push_back(v.get<std::string>());
          }
        }
        term.reqs.push_back(std::move(r));
      }
    }
    out.push_back(std::move(term));
  }
  return out;
}

std::vector<Taint> parseTaints(const json& taints) {
  std::vector<Taint> out;
  if (!taints.is_array()) return out;
  for (const auto& t : taints) {
    out.push_back({t.value("key", ""), t.value("value", ""), t.value("effect", "")});
  }
  return out;
}

}  // namespace

PodInfo PodInfo::from(const json& pod) {
  PodInfo p;
  p.ns = meta::ns(pod);
  p.name = meta::name(pod);
  p.key = meta::key(pod);
  p.uid = meta::uid(pod);
  p.node_name = meta::str(pod, {"spec", "nodeName"});
  if (auto ref = meta::controllerRef(pod)) p.owner_uid = ref->value("uid", "");
  p.requests = Resources::from(podRequests(pod));
  p.non_zero = Resources::from(podNonZeroRequests(pod));
  p.priority = static_cast<std::int32_t>(meta::integer(pod, {"spec", "priority"}, 0));
  p.preempt_never = meta::str(pod, {"spec", "preemptionPolicy"}) == "Never";
  const json& spec = meta::at(pod, {"spec"});
  for (const char* list : {"containers", "initContainers"}) {
    const json& cs = meta::at(spec, {list});
    if (!cs.is_array()) continue;
    for (const auto& c : cs) {
      const json& ports = meta::at(c, {"ports"});
      if (!ports.is_array()) continue;
      for (const auto& port : ports) {
        int hp = port.value("hostPort", 0);
        if (hp <= 0) continue;
        p.ports.push_back({port.value("protocol", "TCP"), port.value("hostIP", ""), hp});
      }
    }
  }
  const json& tols = meta::at(spec, {"tolerations"});
  if (tols.is_array()) {
    for (const auto& t : tols) {
      p.tolerations.push_back({t.value("key", ""), t.value("operator", ""), t.value("value", ""),
                               t.value("effect", "")});
    }
  }
  const json& ns = meta::at(spec, {"nodeSelector"});
  if (ns.is_object()) {
    for (auto it = ns.begin(); it != ns.end(); ++it) {
      if (it.value().is_string()) p.node_selector[it.key()] = it.value().get<std::string>();
    }
  }
  const json& na = meta::at(spec, {"affinity", "nodeAffinity"});
  p.required_terms = parseTerms(
      meta::at(na, {"requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms"}));
  const json& pref = meta::at(na, {"preferredDuringSchedulingIgnoredDuringExecution"});
  if (pref.is_array()) {
    for (const auto& t : pref) {
      auto terms = parseTerms(json::array({t.value("preference", json::object())}));
      if (!terms.empty()) p.preferred_terms.emplace_back(t.value("weight", 0), terms[0]);
    }
  }
  p.object = pod;
  return p;
}

void NodeInfo::setNode(const json& node) {
  present = true;
  object = node;
  name = meta::name(node);
  labels = meta::labels(node);
  MilliResourceList alloc = parseMilliResourceList(meta::at(node, {"status", "allocatable"}));
  if (alloc.empty()) alloc = parseMilliResourceList(meta::at(node, {"status", "capacity"}));
  allocatable = Resources::from(alloc);
  allowed_pods = alloc.count("pods") != 0 ? alloc["pods"] / 1000 : 0;
  unschedulable = meta::boolean(node, {"spec", "unschedulable"});
  taints = parseTaints(meta::at(node, {"spec", "taints"}));
  // Node readiness acts through taints (TaintNodesByCondition); until the lifecycle controller
  // has written them, treat a node that is not Ready as carrying the matching taint.
  std::string ready = "Unknown";
  bool has_ready = false;
  const json& conds = meta::at(node, {"status", "conditions"});
  if (conds.is_array()) {
    for (const auto& c : conds) {
      if (c.value("type", "") == "Ready") {
        ready = c.value("status", "Unknown");
        has_ready = true;
      }
    }
  }
  if (ready != "True") {
    bool tainted = std::any_of(taints.begin(), taints.end(), [](const Taint& t) {
      return (t.key == "node.kubernetes.io/not-ready" ||
              t.key == "node.kubernetes.io/unreachable") &&
             t.effect == "NoSchedule";
    });
    if (!tainted) {
      taints.push_back({(ready == "Unknown" && has_ready) ? "node.kubernetes.io/unreachable"
                                                          : "node.kubernetes.io/not-ready",
                        "", "NoSchedule"});
    }
  }
}

void NodeInfo::addPod(const PodInfo& p) {
  removePod(p.key);
  requested.add(p.requests);
  non_zero_requested.add(p.non_zero);
  if (!p.owner_uid.empty()) owner_counts[p.owner_uid]++;
  pods.emplace(p.key, p);
}

void NodeInfo::removePod(const std::string& key) {
  auto it = pods.find(key);
  if (it == pods.end()) return;
  requested.add(it->second.requests, -1);
  non_zero_requested.add(it->second.non_zero, -1);
  if (!it->second.owner_uid.empty() && --owner_counts[it->second.owner_uid] <= 0) {
    owner_counts.erase(it->second.owner_uid);
  }
  pods.erase(it);
}

namespace {

bool toleratesAll(const std::vector<Toleration>& tols, const Taint& t) {
  return std::any_of(tols.begin(), tols.end(), [&](const Toleration& x) { return x.tolerates(t); });
}

}  // namespace

FilterResult fitResources(const PodInfo& pod, const NodeInfo& node, const Resources& requested,
                          int pod_count, const std::vector<HostPort>& used_ports) {
  FilterResult r;
  // NodePorts
  for (const auto& want : pod.ports) {
    for (const auto& used : used_ports) {
      if (want.conflicts(used)) {
        r.reasons.push_back("node(s) didn't have free ports for the requested pod ports");
        return r;
      }
    }
  }
  // NodeResourcesFit (fitsRequest): pods first, then cpu, memory, ephemeral, scalar.
  if (pod_count + 1 > node.allowed_pods) r.reasons.push_back("Too many pods");
  const Resources& want = pod.requests;
  const Resources& alloc = node.allocatable;
  if (want.cpu > 0 && want.cpu > alloc.cpu - requested.cpu) {
    r.reasons.push_back("Insufficient cpu");
  }
  if (want.memory > 0 && want.memory > alloc.memory - requested.memory) {
    r.reasons.push_back("Insufficient memory");
  }
  if (want.ephemeral > 0 && want.ephemeral > alloc.ephemeral - requested.ephemeral) {
    r.reasons.push_back("Insufficient ephemeral-storage");
  }
  for (const auto& [name, v] : want.scalar) {
    if (v <= 0) continue;
    auto a = alloc.scalar.find(name);
    auto u = requested.scalar.find(name);
    std::int64_t free =
        (a == alloc.scalar.end() ? 0 : a->second) - (u == requested.scalar.end() ? 0 : u->second);
    if (v > free) r.reasons.push_back("Insufficient " + name);
  }
  return r;
}

FilterResult filterNode(const PodInfo& pod, const NodeInfo& node) {
  FilterResult r;
  r.resolvable = false;
  // NodeUnschedulable
  if (node.unschedulable &&
      !toleratesAll(pod.tolerations, {"node.kubernetes.io/unschedulable", "", "NoSchedule"})) {
    r.reasons.push_back("node(s) were unschedulable");
    return r;
  }
  // TaintToleration: the first NoSchedule/NoExecute taint the pod does not tolerate.
  for (const auto& t : node.taints) {
    if (t.effect != "NoSchedule" && t.effect != "NoExecute") continue;
    if (!toleratesAll(pod.tolerations, t)) {
      r.reasons.push_back("node(s) had untolerated taint {" + t.key + ": " + t.value + "}");
      return r;
    }
  }
  // NodeAffinity: nodeSelector and required terms.
  bool affinity_ok = true;
  for (const auto& [k, v] : pod.node_selector) {
    auto it = node.labels.find(k);
    if (it == node.labels.end() || it->second != v) affinity_ok = false;
  }
  if (affinity_ok && !pod.required_terms.empty()) {
    affinity_ok =
        std::any_of(pod.required_terms.begin(), pod.required_terms.end(),
                    [&](const NodeSelectorTerm& t) { return t.matches(node.name, node.labels); });
  }
  if (!affinity_ok) {
    r.reasons.push_back("node(s) didn't match Pod's node affinity/selector");
    return r;
  }
  std::vector<HostPort> used;
  if (!pod.ports.empty()) {
    for (const auto& [k, p] : node.pods) used.insert(used.end(), p.ports.begin(), p.ports.end());
  }
  FilterResult fit =
      fitResources(pod, node, node.requested, static_cast<int>(node.pods.size()), used);
  fit.resolvable = true;
  return fit;
}

RawScores scoreNode(const PodInfo& pod, const NodeInfo& node) {
  RawScores s;
  auto least = [](std::int64_t req, std::int64_t cap) -> std::int64_t {
    if (cap <= 0 || req > cap) return 0;
    return (cap - req) * 100 / cap;
  };
  std::int64_t cpu_req = node.non_zero_requested.cpu + pod.non_zero.cpu;
  std::int64_t mem_req = node.non_zero_requested.memory + pod.non_zero.memory;
  s.least_allocated =
      (least(cpu_req, node.allocatable.cpu) + least(mem_req, node.allocatable.memory)) / 2;
  auto frac = [](std::int64_t req, std::int64_t cap) {
    if (cap <= 0) return 1.0;
    return std::min(1.0, static_cast<double>(req) / static_cast<double>(cap));
  };
  double fc = frac(node.requested.cpu + pod.requests.cpu, node.allocatable.cpu);
  double fm = frac(node.requested.memory + pod.requests.memory, node.allocatable.memory);
  double stddev = std::fabs(fc - fm) / 2;
  s.balanced = static_cast<std::int64_t>((1 - stddev) * 100);
  for (const auto& t : node.taints) {
    if (t.effect != "PreferNoSchedule") continue;
    bool tolerated =
        std::any_of(pod.tolerations.begin(), pod.tolerations.end(), [&](const Toleration& x) {
          return (x.effect.empty() || x.effect == "PreferNoSchedule") && x.tolerates(t);
        });
    if (!tolerated) s.intolerable_prefer_no_schedule++;
  }
  for (const auto& [w, term] : pod.preferred_terms) {
    if (term.matches(node.name, node.labels)) s.preferred_affinity += w;
  }
  if (!pod.owner_uid.empty()) {
    auto it = node.owner_counts.find(pod.owner_uid);
    if (it != node.owner_counts.end()) s.same_owner = it->second;
  }
  return s;
}

std::vector<std::int64_t> combineScores(const std::vector<RawScores>& raw) {
  std::int64_t max_taint = 0, max_aff = 0, max_owner = 0, min_owner = INT64_MAX;
  for (const auto& r : raw) {
    max_taint = std::max(max_taint, r.intolerable_prefer_no_schedule);
    max_aff = std::max(max_aff, r.preferred_affinity);
    max_owner = std::max(max_owner, r.same_owner);
    min_owner = std::min(min_owner, r.same_owner);
  }
  std::vector<std::int64_t> out;
  out.reserve(raw.size());
  for (const auto& r : raw) {
    std::int64_t taint =
        max_taint == 0 ? 100 : 100 - r.intolerable_prefer_no_schedule * 100 / max_taint;
    std::int64_t aff = max_aff == 0 ? 0 : r.preferred_affinity * 100 / max_aff;
    // PodTopologySpread's NormalizeScore: fewer matching pods scores higher.
    std::int64_t spread =
        max_owner == 0 ? 100 : 100 * (max_owner + min_owner - r.same_owner) / max_owner;
    out.push_back(3 * taint + 2 * aff + 2 * spread + r.least_allocated + r.balanced);
  }
  return out;
}

std::string fitErrorMessage(std::size_t num_nodes,
                            const std::vector<std::vector<std::string>>& per_node,
                            const std::string& post_filter) {
  std::map<std::string, int> histogram;
  for (const auto& reasons : per_node) {
    for (const auto& r : reasons) histogram[r]++;
  }
  std::vector<std::string> parts;
  parts.reserve(histogram.size());
  for (const auto& [reason, n] : histogram) parts.push_back(std::to_string(n) + " " + reason);
  std::sort(parts.begin(), parts.end());
  std::string msg = "0/" + std::to_string(num_nodes) + " nodes are available:";
  std::string joined;
  for (const auto& p : parts) joined += (joined.empty() ? "" : ", ") + p;
  msg += " " + joined + ".";
  if (!post_filter.empty()) msg += " " + post_filter;
  return msg;
}

}  // namespace skiff::master::sched
