#include "service_strategy.h"

#include <cstdlib>
#include <map>
#include <set>

#include "skiff/master/api/object_util.h"
#include "skiff/master/api/storage_keys.h"

namespace skiff::master::api {

namespace {

// Another master's allocation is stored a moment after it is reserved: a reservation no Service
// holds is left alone this long before the repair pass takes it back.
constexpr auto kRepairGrace = std::chrono::seconds(60);
constexpr auto kRepairEvery = std::chrono::minutes(3);

std::string ownerOf(const json& obj) {
  return str(obj, {"metadata", "namespace"}) + "/" + str(obj, {"metadata", "name"});
}

// Makes the reservations under `keys` match `held` (value -> owner, from the stored Services);
// returns every value now taken.
Result<std::set<std::string>> reconcile(StoredReservations& keys,
                                        const std::map<std::string, std::string>& held,
                                        StoredReservations::Clock::time_point now) {
  SKIFF_ASSIGN_OR_RETURN(auto have, keys.list());
  std::set<std::string> taken;
  for (const auto& [value, owner] : held) {
    if (!have.count(value)) SKIFF_TRY(keys.reserve(value, owner));
    taken.insert(value);
  }
  for (const auto& [value, entry] : have) {
    if (held.count(value)) continue;
    if (now - entry.taken < kRepairGrace) {
      taken.insert(value);
    } else {
      SKIFF_TRY(keys.release(value));
    }
  }
  return taken;
}

}  // namespace

ServiceStrategy::ServiceStrategy(store::Store& store, const RegistryOptions& options)
    : store_(store),
      storage_prefix_(options.storage_prefix),
      service_cidr_(options.service_cidr),
      ips_(options.service_cidr),
      ports_(options.node_port_min, options.node_port_max),
      ip_keys_(store, options.storage_prefix + "/ranges/skiff/serviceips/"),
      port_keys_(store, options.storage_prefix + "/ranges/skiff/servicenodeports/") {}

void ServiceStrategy::prepareForCreate(const ResourceInfo&, json& obj) const {
  obj["status"] = {{"loadBalancer", json::object()}};
}

Result<void> ServiceStrategy::admitCreate(const ResourceInfo& r, json& obj, const WriteOptions&) {
  return admitUpdate(r, obj, json());
}

// Reconciles the reservations with the stored Services: an address or port a Service holds
// without a reservation gets one (Services stored before reservations existed), and one no
// Service holds goes after kRepairGrace (an allocation whose Service was never written: a
// create refused later in admission, a failed update). The in-memory allocators are rebuilt
// from what is reserved, so what other masters released becomes free here too.
Result<void> ServiceStrategy::repairLocked() {
  auto now = StoredReservations::Clock::now();
  if (repaired_ && now - last_repair_ < kRepairEvery) return ok();
  auto all = store_.list(storagePrefix(storage_prefix_, *findResource("", "v1", "services"), ""));
  if (!all) return std::move(all).error();
  std::map<std::string, std::string> ips, ports;
  for (const auto& kv : all->items) {
    json s = json::parse(kv.value, nullptr, false);
    std::uint32_t ip;
    if (parseIpv4(str(s, {"spec", "clusterIP"}), &ip)) ips[ipToString(ip)] = ownerOf(s);
    for (const auto& p :
         at(s, {"spec", "ports"}).is_array() ? at(s, {"spec", "ports"}) : json::array()) {
      if (p.contains("nodePort") && p["nodePort"].is_number_integer())
        ports[std::to_string(p["nodePort"].get<int>())] = ownerOf(s);
    }
  }
  SKIFF_ASSIGN_OR_RETURN(auto taken_ips, reconcile(ip_keys_, ips, now));
  SKIFF_ASSIGN_OR_RETURN(auto taken_ports, reconcile(port_keys_, ports, now));
  ips_.clear();
  for (const auto& v : taken_ips) {
    std::uint32_t ip;
    if (parseIpv4(v, &ip)) ips_.mark(ip);
  }
  ports_.clear();
  for (const auto& v : taken_ports) ports_.mark(std::atoi(v.c_str()));
  repaired_ = true;
  last_repair_ = now;
  return ok();
}

Result<void> ServiceStrategy::assignClusterIp(json& spec, const json& old, const std::string& owner,
                                              FieldErrors& errs) {
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
    } else {
      // The store decides, not this master's marks: another master may have released it.
      SKIFF_ASSIGN_OR_RETURN(bool reserved, ip_keys_.reserve(ipToString(ip), owner));
      ips_.mark(ip);
      if (!reserved) {
        errs.push_back({FieldError::Type::Invalid, "spec.clusterIPs", json::array({want}),
                        "failed to allocate IP " + want + ": provided IP is already allocated"});
      } else {
        spec["clusterIPs"] = json::array({want});
      }
    }
  } else {
    // Round-robin from this master's cursor; an address another master took is marked and
    // skipped.
    for (;;) {
      auto ip = ips_.allocateNext();
      if (!ip) return Error(ErrorCode::Internal, "failed to allocate a serviceIP: range is full");
      SKIFF_ASSIGN_OR_RETURN(bool reserved, ip_keys_.reserve(ipToString(*ip), owner));
      if (!reserved) continue;
      spec["clusterIP"] = ipToString(*ip);
      spec["clusterIPs"] = json::array({spec["clusterIP"]});
      break;
    }
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

Result<void> ServiceStrategy::assignNodePorts(json& spec, const json& old, const std::string& owner,
                                              FieldErrors& errs) {
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
      } else {
        SKIFF_ASSIGN_OR_RETURN(bool reserved, port_keys_.reserve(std::to_string(want), owner));
        ports_.mark(want);
        if (!reserved)
          errs.push_back(
              {FieldError::Type::Invalid, field, want, "provided port is already allocated"});
      }
    } else {
      for (;;) {
        auto port = ports_.allocateNext();
        if (!port)
          return Error(ErrorCode::Internal, "failed to allocate a nodePort: range is full");
        SKIFF_ASSIGN_OR_RETURN(bool reserved, port_keys_.reserve(std::to_string(*port), owner));
        if (!reserved) continue;
        p["nodePort"] = *port;
        break;
      }
    }
  }
  return ok();
}

namespace {

std::string serviceType(const json& svc) {
  std::string t = str(svc, {"spec", "type"});
  return t.empty() ? "ClusterIP" : t;
}
bool needsClusterIp(const json& svc) { return serviceType(svc) != "ExternalName"; }
bool needsNodePort(const json& svc) {
  std::string t = serviceType(svc);
  return t == "NodePort" || t == "LoadBalancer";
}
bool externallyAccessible(const json& svc) {
  return needsNodePort(svc) || at(svc, {"spec", "externalIPs"}).is_array();
}
// The same value of spec.<field> in both (both absent counts as the same).
bool same(const json& a, const json& b, const char* field) {
  return at(a, {"spec", field}) == at(b, {"spec", field});
}
bool sameNodePorts(const json& old, const json& obj) {
  const json& a = at(old, {"spec", "ports"});
  const json& b = at(obj, {"spec", "ports"});
  if (!a.is_array() || !b.is_array() || a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].value("nodePort", 0) != b[i].value("nodePort", 0)) return false;
  }
  return true;
}

}  // namespace

void ServiceStrategy::prepareForUpdate(const ResourceInfo& r, json& obj, const json& old) const {
  Strategy::prepareForUpdate(r, obj, old);
  if (!obj.contains("spec") || !obj["spec"].is_object()) return;
  json& spec = obj["spec"];
  if (needsClusterIp(old) && !needsClusterIp(obj)) {
    if (same(old, obj, "clusterIP") && same(old, obj, "clusterIPs")) {
      spec.erase("clusterIP");
      spec.erase("clusterIPs");
    }
    if (same(old, obj, "ipFamilies")) spec.erase("ipFamilies");
    if (same(old, obj, "ipFamilyPolicy")) spec.erase("ipFamilyPolicy");
  }
  if (needsNodePort(old) && !needsNodePort(obj) && sameNodePorts(old, obj)) {
    for (auto& p : spec["ports"]) {
      if (p.is_object()) p.erase("nodePort");
    }
  }
  bool was_lb = serviceType(old) == "LoadBalancer", is_lb = serviceType(obj) == "LoadBalancer";
  if (was_lb && !is_lb) {
    // Health check node port: only LoadBalancer with externalTrafficPolicy Local has one.
    if (same(old, obj, "healthCheckNodePort")) spec.erase("healthCheckNodePort");
    if (same(old, obj, "allocateLoadBalancerNodePorts"))
      spec.erase("allocateLoadBalancerNodePorts");
    if (same(old, obj, "loadBalancerClass")) spec.erase("loadBalancerClass");
  }
  if (externallyAccessible(old) && !externallyAccessible(obj) &&
      same(old, obj, "externalTrafficPolicy"))
    spec.erase("externalTrafficPolicy");
}

Result<void> ServiceStrategy::admitUpdate(const ResourceInfo& r, json& obj, const json& old) {
  std::lock_guard lock(mu_);
  SKIFF_TRY(repairLocked());
  json& spec = obj["spec"];
  std::string name = str(obj, {"metadata", "name"});
  std::string owner = ownerOf(obj);
  FieldErrors errs;
  if (spec.value("type", "ClusterIP") != "ExternalName") {
    SKIFF_TRY(assignClusterIp(spec, old, owner, errs));
  }
  SKIFF_TRY(assignNodePorts(spec, old, owner, errs));
  if (!errs.empty()) {
    // Nothing is stored: what this call reserved goes back (only what `owner` holds, so a
    // requested address another Service holds stays with it).
    json tried = obj;
    if (old.is_object()) {
      if (str(old, {"spec", "clusterIP"}) == str(obj, {"spec", "clusterIP"}))
        tried["spec"].erase("clusterIP");
      tried["spec"].erase("ports");
    }
    releaseLocked(tried);
    return invalidError(r, name, errs);
  }
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
  releaseLocked(obj);
}

void ServiceStrategy::releaseLocked(const json& obj) {
  // A failed release leaves the key to the repair pass (the Service no longer holds it).
  std::uint32_t ip;
  if (parseIpv4(str(obj, {"spec", "clusterIP"}), &ip)) {
    ips_.release(ip);
    (void)ip_keys_.release(ipToString(ip), ownerOf(obj));
  }
  const json& ports = at(obj, {"spec", "ports"});
  if (ports.is_array()) {
    for (const auto& p : ports) {
      if (p.contains("nodePort") && p["nodePort"].is_number_integer()) {
        ports_.release(p["nodePort"].get<int>());
        (void)port_keys_.release(std::to_string(p["nodePort"].get<int>()), ownerOf(obj));
      }
    }
  }
}

}  // namespace skiff::master::api
