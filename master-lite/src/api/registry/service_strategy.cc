#include "service_strategy.h"

#include "skiff/master/api/object_util.h"
#include "skiff/master/api/storage_keys.h"

namespace skiff::master::api {

ServiceStrategy::ServiceStrategy(store::Store& store, const RegistryOptions& options)
    : store_(store),
      storage_prefix_(options.storage_prefix),
      service_cidr_(options.service_cidr),
      ips_(options.service_cidr),
      ports_(options.node_port_min, options.node_port_max) {}

void ServiceStrategy::prepareForCreate(const ResourceInfo&, json& obj) const {
  obj["status"] = {{"loadBalancer", json::object()}};
}

Result<void> ServiceStrategy::admitCreate(const ResourceInfo& r, json& obj, const WriteOptions&) {
  return admitUpdate(r, obj, json());
}

// Re-read before every allocation, not once: masters sharing one etcd allocate from the same
// range, and an address or port another master handed out must not be handed out again. Marks
// only add (an allocation admitted here but not yet stored stays marked); a release by another
// master is seen after this master restarts. Two masters admitting at the same instant can
// still pick the same free address (upstream serialises through a stored allocation bitmap).
Result<void> ServiceStrategy::loadLocked() {
  auto all = store_.list(storagePrefix(storage_prefix_, *findResource("", "v1", "services"), ""));
  if (!all) return std::move(all).error();
  for (const auto& kv : all->items) {
    json s = json::parse(kv.value, nullptr, false);
    std::uint32_t ip;
    if (parseIpv4(str(s, {"spec", "clusterIP"}), &ip)) ips_.mark(ip);
    for (const auto& p :
         at(s, {"spec", "ports"}).is_array() ? at(s, {"spec", "ports"}) : json::array()) {
      if (p.contains("nodePort") && p["nodePort"].is_number_integer())
        ports_.mark(p["nodePort"].get<int>());
    }
  }
  return ok();
}

Result<void> ServiceStrategy::assignClusterIp(json& spec, const json& old, FieldErrors& errs) {
  std::string want = spec.value("clusterIP", "");
  std::string had = old.is_object() ? str(old, {"spec", "clusterIP"}) : "";
  if (want.empty() && !had.empty()) want = had;
  if (want == "None") {
    spec["clusterIP"] = "None";
    spec["clusterIPs"] = json::array({"None"});
  } else if (want == had && !had.empty()) {
    spec["clusterIP"] = had;
    spec["clusterIPs"] = json::array({had});
  } else if (!want.empty()) {
    std::uint32_t ip;
    if (!parseIpv4(want, &ip) || !ips_.inRange(ip)) {
      errs.push_back({FieldError::Type::Invalid, "spec.clusterIPs", json::array({want}),
                      "failed to allocate IP " + want + ": the provided IP (" + want +
                          ") is not in the valid range. The range of valid IPs is " +
                          service_cidr_});
    } else if (ips_.allocated(ip)) {
      errs.push_back({FieldError::Type::Invalid, "spec.clusterIPs", json::array({want}),
                      "failed to allocate IP " + want + ": provided IP is already allocated"});
    } else {
      ips_.mark(ip);
      spec["clusterIPs"] = json::array({want});
    }
  } else {
    auto ip = ips_.allocateNext();
    if (!ip) return Error(ErrorCode::Internal, "failed to allocate a serviceIP: range is full");
    spec["clusterIP"] = ipToString(*ip);
    spec["clusterIPs"] = json::array({spec["clusterIP"]});
  }
  if (spec.value("clusterIP", "") != "None") {
    spec["ipFamilies"] = json::array({"IPv4"});
    spec["ipFamilyPolicy"] = "SingleStack";
  } else {
    if (!spec.contains("ipFamilies")) spec["ipFamilies"] = json::array({"IPv4"});
    if (!spec.contains("ipFamilyPolicy")) spec["ipFamilyPolicy"] = "SingleStack";
  }
  return ok();
}

Result<void> ServiceStrategy::assignNodePorts(json& spec, const json& old, FieldErrors& errs) {
  std::string type = spec.value("type", "ClusterIP");
  bool wants_node_ports = type == "NodePort" || type == "LoadBalancer";
  if (!spec.contains("ports") || !spec["ports"].is_array()) return ok();
  const json& old_ports = old.is_object() ? at(old, {"spec", "ports"}) : json();
  for (std::size_t i = 0; i < spec["ports"].size(); ++i) {
    json& p = spec["ports"][i];
    if (!wants_node_ports) {
      p.erase("nodePort");
      continue;
    }
    int had = 0;
    if (old_ports.is_array()) {
      for (const auto& op : old_ports) {
        if (op.value("port", 0) == p.value("port", -1) &&
            op.value("protocol", "TCP") == p.value("protocol", "TCP")) {
          had = op.value("nodePort", 0);
        }
      }
    }
    int want = p.value("nodePort", 0);
    if (want == 0) want = had;
    std::string field = "spec.ports[" + std::to_string(i) + "].nodePort";
    if (want != 0 && want == had) {
      p["nodePort"] = had;
    } else if (want != 0) {
      if (!ports_.inRange(want)) {
        errs.push_back({FieldError::Type::Invalid, field, want,
                        "provided port is not in the valid range. The range of valid ports is " +
                            std::to_string(ports_.min()) + "-" + std::to_string(ports_.max())});
      } else if (ports_.allocated(want)) {
        errs.push_back(
            {FieldError::Type::Invalid, field, want, "provided port is already allocated"});
      } else {
        ports_.mark(want);
      }
    } else {
      auto port = ports_.allocateNext();
      if (!port) return Error(ErrorCode::Internal, "failed to allocate a nodePort: range is full");
      p["nodePort"] = *port;
    }
  }
  return ok();
}

Result<void> ServiceStrategy::admitUpdate(const ResourceInfo& r, json& obj, const json& old) {
  std::lock_guard lock(mu_);
  SKIFF_TRY(loadLocked());
  json& spec = obj["spec"];
  std::string name = str(obj, {"metadata", "name"});
  FieldErrors errs;
  if (spec.value("type", "ClusterIP") != "ExternalName") {
    SKIFF_TRY(assignClusterIp(spec, old, errs));
  }
  SKIFF_TRY(assignNodePorts(spec, old, errs));
  if (!errs.empty()) return invalidError(r, name, errs);
  return ok();
}

// Gives back the IP and node ports of `old` that `obj` does not use any more (type change).
void ServiceStrategy::afterUpdate(const ResourceInfo& r, const json& old, const json& obj) {
  json dropped = old;
  std::uint32_t a, b;
  if (parseIpv4(str(old, {"spec", "clusterIP"}), &a) &&
      parseIpv4(str(obj, {"spec", "clusterIP"}), &b) && a == b) {
    dropped["spec"].erase("clusterIP");
  }
  if (dropped["spec"].contains("ports") && dropped["spec"]["ports"].is_array()) {
    json keep = json::array();
    for (auto& p : dropped["spec"]["ports"]) {
      bool still = false;
      for (const auto& q :
           at(obj, {"spec", "ports"}).is_array() ? at(obj, {"spec", "ports"}) : json::array()) {
        if (q.value("nodePort", 0) == p.value("nodePort", -1)) still = true;
      }
      if (!still) keep.push_back(p);
    }
    dropped["spec"]["ports"] = keep;
  }
  released(r, dropped);
}

void ServiceStrategy::released(const ResourceInfo&, const json& obj) {
  std::lock_guard lock(mu_);
  std::uint32_t ip;
  if (parseIpv4(str(obj, {"spec", "clusterIP"}), &ip)) ips_.release(ip);
  const json& ports = at(obj, {"spec", "ports"});
  if (ports.is_array()) {
    for (const auto& p : ports) {
      if (p.contains("nodePort") && p["nodePort"].is_number_integer())
        ports_.release(p["nodePort"].get<int>());
    }
  }
}

}  // namespace skiff::master::api
