#include "skiff/agent/node_status.h"

#include <cstdio>
#include <ctime>

#include "skiff/agent/pod_status.h"
#include "skiff/common/log.h"
#include "skiff/common/quantity.h"
#include "skiff/common/rfc3339.h"

namespace skiff::agent {

using nlohmann::json;
using skiff::log::kv;

namespace {

std::string microTime(std::chrono::system_clock::time_point t) { return formatRfc3339Micro(t); }

std::string seconds(std::chrono::system_clock::time_point t) {
  return rfc3339FromNs(
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
}

json withoutHeartbeats(json status) {
  for (auto& c : status["conditions"]) c.erase("lastHeartbeatTime");
  return status;
}

// A DNS-1123 label run ("a-b.c" parts) and a qualified name's name part, as apimachinery's
// validation checks them.
bool dnsSubdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = s.find('.', start);
    std::string_view label = s.substr(start, dot == std::string_view::npos ? s.npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool qualifiedNamePart(std::string_view s) {
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (s.empty() || s.size() > 63 || !alnum(s.front()) || !alnum(s.back())) return false;
  for (char c : s) {
    if (!alnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

// kubelet's MachineInfo setter works on the Node as the API server has it: what the agent does
// not compute stays in capacity (an extended resource a client PATCHed in, such as the
// preemption test's example.com/fakecpu; a hugepages size the host no longer reports), and
// allocatable gets each of them as capacity minus reservation (nothing is reserved of them),
// never negative.
void keepUncomputedResources(const json& old_status, json& status) {
  const json& old_capacity = old_status.value("capacity", json::object());
  for (const auto& [name, value] : old_capacity.items()) {
    if (status["capacity"].contains(name)) continue;
    status["capacity"][name] = value;
    json allocatable = value;
    if (value.is_string()) {
      auto q = Quantity::parse(value.get<std::string>());
      if (q && q->sign() < 0) allocatable = "0";
    }
    status["allocatable"][name] = allocatable;
  }
}

}  // namespace

bool isExtendedResourceName(std::string_view name) {
  std::size_t slash = name.find('/');
  if (slash == std::string_view::npos) return false;                        // native: cpu, pods
  if (name.find("kubernetes.io/") != std::string_view::npos) return false;  // prefixed native
  if (name.substr(0, 9) == "requests.") return false;                       // quota's prefix
  // As a quota key ("requests.<name>") it must be a qualified name.
  return name.find('/', slash + 1) == std::string_view::npos &&
         dnsSubdomain("requests." + std::string(name.substr(0, slash))) &&
         qualifiedNamePart(name.substr(slash + 1));
}

NodeStatusManager::NodeStatusManager(KubeClientPtr client, NodeRegistration reg, NodeFacts& facts,
                                     std::function<NodeHealth()> health, WallClock clock)
    : client_(std::move(client)),
      reg_(std::move(reg)),
      facts_(facts),
      health_(std::move(health)),
      clock_(std::move(clock)) {}

json NodeStatusManager::nodeObject(const NodeFactsSnapshot& facts) {
  json labels = {{"kubernetes.io/hostname", reg_.name},
                 {"kubernetes.io/os", facts.node_info.value("operatingSystem", "linux")},
                 {"kubernetes.io/arch", facts.node_info.value("architecture", "amd64")},
                 {"beta.kubernetes.io/os", facts.node_info.value("operatingSystem", "linux")},
                 {"beta.kubernetes.io/arch", facts.node_info.value("architecture", "amd64")}};
  for (const auto& [k, v] : reg_.labels) labels[k] = v;
  json node = {{"apiVersion", "v1"},
               {"kind", "Node"},
               {"metadata",
                {{"name", reg_.name},
                 {"labels", labels},
                 {"annotations",
                  {{"node.alpha.kubernetes.io/ttl", "0"},
                   {"volumes.kubernetes.io/controller-managed-attach-detach", "true"}}}}},
               {"spec", json::object()}};
  for (const auto& [k, v] : reg_.annotations) node["metadata"]["annotations"][k] = v;
  if (!reg_.taints.empty()) node["spec"]["taints"] = reg_.taints;
  return node;
}

Result<json> NodeStatusManager::computeStatus(const json& old_status) {
  SKIFF_ASSIGN_OR_RETURN(auto facts, facts_.collect());
  NodeHealth h = health_ ? health_() : NodeHealth{};
  std::string now = seconds(clock_());
  auto cond = [&](const std::string& type, bool value, const std::string& reason,
                  const std::string& message) {
    json c = {
        {"type", type},       {"status", value ? "True" : "False"}, {"reason", reason},
        {"message", message}, {"lastHeartbeatTime", now},           {"lastTransitionTime", now}};
    for (const auto& o : old_status.value("conditions", json::array())) {
      if (o.value("type", "") == type && o.value("status", "") == c["status"] &&
          o.contains("lastTransitionTime")) {
        c["lastTransitionTime"] = o["lastTransitionTime"];
      }
    }
    return c;
  };
  json conds = json::array();
  conds.push_back(
      cond("MemoryPressure", h.memory_pressure,
           h.memory_pressure ? "KubeletHasInsufficientMemory" : "KubeletHasSufficientMemory",
           h.memory_pressure ? "kubelet has insufficient memory available"
                             : "kubelet has sufficient memory available"));
  conds.push_back(
      cond("DiskPressure", h.disk_pressure,
           h.disk_pressure ? "KubeletHasDiskPressure" : "KubeletHasNoDiskPressure",
           h.disk_pressure ? "kubelet has disk pressure" : "kubelet has no disk pressure"));
  conds.push_back(cond("PIDPressure", h.pid_pressure,
                       h.pid_pressure ? "KubeletHasInsufficientPID" : "KubeletHasSufficientPID",
                       h.pid_pressure ? "kubelet has insufficient PID available"
                                      : "kubelet has sufficient PID available"));
  bool ready = h.runtime_ready && h.network_ready;
  std::string not_ready_msg;
  if (!h.runtime_ready) {
    not_ready_msg = "container runtime is down: " + h.runtime_message;
  } else if (!h.network_ready) {
    not_ready_msg =
        "container runtime network not ready: NetworkReady=false "
        "reason:NetworkPluginNotReady message:pod network is not ready: no podCIDR "
        "assigned to this node yet";
  }
  conds.push_back(cond("Ready", ready, ready ? "KubeletReady" : "KubeletNotReady",
                       ready ? "kubelet is posting ready status" : not_ready_msg));
  // NetworkUnavailable belongs to the network plugin (flannel sets it); ours is built in.
  conds.push_back(cond("NetworkUnavailable", !h.network_ready,
                       h.network_ready ? "SkiffNetworkIsUp" : "NoPodCIDR",
                       h.network_ready ? "skiff pod network is running on this node"
                                       : "waiting for a podCIDR from the controller manager"));
  std::string ip = reg_.node_ip.empty() ? facts.default_ip : reg_.node_ip;
  {
    std::lock_guard lk(mu_);
    node_ip_ = ip;
  }
  json info = facts.node_info;
  info["containerRuntimeVersion"] = reg_.runtime_version;
  info["kubeletVersion"] = reg_.kubelet_version;
  info["kubeProxyVersion"] = reg_.kubelet_version;
  json status = {{"capacity", facts.capacity},
                 {"allocatable", facts.allocatable},
                 {"conditions", conds},
                 {"addresses", json::array({{{"type", "InternalIP"}, {"address", ip}},
                                            {{"type", "Hostname"}, {"address", reg_.name}}})},
                 {"daemonEndpoints", {{"kubeletEndpoint", {{"Port", reg_.kubelet_port}}}}},
                 {"nodeInfo", info}};
  keepUncomputedResources(old_status, status);
  json images = json::array();
  for (std::size_t i = 0; i < h.images.size() && i < 50; ++i) images.push_back(h.images[i]);
  status["images"] = images;
  return status;
}

Result<void> NodeStatusManager::registerNode() {
  auto lg = skiff::log::get("agent");
  SKIFF_ASSIGN_OR_RETURN(auto facts, facts_.collect());
  json node = nodeObject(facts);
  SKIFF_ASSIGN_OR_RETURN(node["status"], computeStatus(json::object()));
  auto created = client_->create(apiPath("", "v1", "nodes"), node);
  if (created) {
    SKIFF_LOG_INFO(lg, "Successfully registered node", kv("node", reg_.name));
    std::lock_guard lk(mu_);
    node_ = *created;
  } else if (created.error().is(ErrorCode::AlreadyExists)) {
    // kubelet reconciles an existing Node: our labels and taints are (re)applied.
    json patch = {{"metadata", {{"labels", node["metadata"]["labels"]}}}};
    if (!reg_.taints.empty()) patch["spec"] = {{"taints", reg_.taints}};
    SKIFF_ASSIGN_OR_RETURN(auto cur, client_->patch(apiPath("", "v1", "nodes", "", reg_.name),
                                                    patch, PatchType::Merge));
    SKIFF_LOG_INFO(lg, "Node was previously registered", kv("node", reg_.name));
    std::lock_guard lk(mu_);
    node_ = cur;
  } else {
    return std::move(created).error().wrap("register node '" + reg_.name + "'");
  }
  auto patched = syncStatus();
  if (!patched) return std::move(patched).error();
  return ok();
}

Result<void> NodeStatusManager::renewLease() {
  std::string path = apiPath("coordination.k8s.io", "v1", "leases", "kube-node-lease", reg_.name);
  std::string now = microTime(clock_());
  auto cur = client_->get(path);
  if (!cur) {
    if (!cur.error().is(ErrorCode::NotFound)) return std::move(cur).error().wrap("get node lease");
    json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                  {"kind", "Lease"},
                  {"metadata", {{"name", reg_.name}, {"namespace", "kube-node-lease"}}},
                  {"spec",
                   {{"holderIdentity", reg_.name},
                    {"leaseDurationSeconds", reg_.lease_duration_seconds},
                    {"renewTime", now}}}};
    std::string uid;
    {
      std::lock_guard lk(mu_);
      if (node_.contains("metadata")) uid = node_["metadata"].value("uid", "");
    }
    if (!uid.empty()) {
      lease["metadata"]["ownerReferences"] = json::array(
          {{{"apiVersion", "v1"}, {"kind", "Node"}, {"name", reg_.name}, {"uid", uid}}});
    }
    auto created =
        client_->create(apiPath("coordination.k8s.io", "v1", "leases", "kube-node-lease"), lease);
    if (!created) return std::move(created).error().wrap("create node lease");
    return ok();
  }
  json lease = *cur;
  lease["spec"]["renewTime"] = now;
  lease["spec"]["holderIdentity"] = reg_.name;
  // kubernetes#102744: keep leaseDurationSeconds in line with our configuration.
  lease["spec"]["leaseDurationSeconds"] = reg_.lease_duration_seconds;
  auto updated = client_->update(path, lease);
  if (!updated) return std::move(updated).error().wrap("renew node lease");
  return ok();
}

Result<bool> NodeStatusManager::syncStatus() {
  json old_status;
  {
    std::lock_guard lk(mu_);
    old_status = node_.value("status", json::object());
  }
  SKIFF_ASSIGN_OR_RETURN(auto status, computeStatus(old_status));
  json comparable = withoutHeartbeats(status);
  auto now = clock_();
  {
    std::lock_guard lk(mu_);
    if (comparable == last_reported_ && now - last_report_ < reg_.report_frequency) return false;
  }
  // Merge patch: lists (conditions, addresses, images) are replaced whole, which is what we want;
  // maps merge, so an extended resource that left capacity is removed from allocatable by name
  // (kubelet drops those, and only those).
  json body = {{"status", status}};
  const json old_allocatable = old_status.value("allocatable", json::object());
  for (const auto& [name, _] : old_allocatable.items()) {
    if (!status["allocatable"].contains(name) && isExtendedResourceName(name)) {
      body["status"]["allocatable"][name] = nullptr;
    }
  }
  auto patched =
      client_->patch(apiPath("", "v1", "nodes", "", reg_.name, "status"), body, PatchType::Merge);
  if (!patched) return std::move(patched).error().wrap("update node status");
  std::lock_guard lk(mu_);
  node_ = *patched;
  last_reported_ = comparable;
  last_report_ = now;
  return true;
}

void NodeStatusManager::observeNode(const json& node) {
  std::lock_guard lk(mu_);
  node_ = node;
}

json NodeStatusManager::node() {
  std::lock_guard lk(mu_);
  return node_;
}

std::string NodeStatusManager::podCidr() {
  std::lock_guard lk(mu_);
  if (!node_.contains("spec")) return "";
  return node_["spec"].value("podCIDR", "");
}

std::string NodeStatusManager::nodeIp() {
  std::lock_guard lk(mu_);
  return node_ip_;
}

}  // namespace skiff::agent
