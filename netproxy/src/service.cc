#include "skiff/netproxy/service.h"

#include <optional>

#include <fmt/format.h>

namespace skiff::netproxy {

using nlohmann::json;

std::string ServicePortName::str() const {
  return port.empty() ? fmt::format("{}/{}", ns, name) : fmt::format("{}/{}:{}", ns, name, port);
}

std::string ServicePort::key() const {
  std::string k;
  keyInto(k);
  return k;
}

void ServicePort::keyInto(std::string& k) const {
  // Built for every port on every proxy sync: plain appends, not fmt (a third of the cost of an
  // incremental sync at 10,000 Services went into formatting keys).
  std::string_view proto = protocolName(protocol);
  k.clear();
  k.reserve(id.ns.size() + id.name.size() + id.port.size() + proto.size() + 3);
  k.append(id.ns).append(1, '/').append(id.name);
  if (!id.port.empty()) k.append(1, ':').append(id.port);
  k.append(1, '/').append(proto);
}

std::string serviceOf(const ServicePort& sp) { return sp.id.ns + "/" + sp.id.name; }

std::string_view serviceOfKey(std::string_view key) {
  // Namespace, name and port name are DNS labels: no ':' or '/' in them.
  std::size_t end = key.find(':');
  if (end == std::string_view::npos) end = key.rfind('/');
  return key.substr(0, end);
}

std::string Endpoint::str() const { return fmt::format("{}:{}", ip.str(), port); }

namespace {

const json* field(const json& j, const char* k) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(k);
  return it == j.end() || it->is_null() ? nullptr : &*it;
}

std::string str(const json& j, const char* k) {
  const json* f = field(j, k);
  return f && f->is_string() ? f->get<std::string>() : std::string();
}

Result<Protocol> protocolOf(const json& port) {
  std::string p = str(port, "protocol");
  if (p.empty() || p == "TCP") return Protocol::Tcp;
  if (p == "UDP") return Protocol::Udp;
  return Error(ErrorCode::Unsupported, fmt::format("protocol '{}' is not supported", p));
}

Result<uint16_t> portOf(const json& port, const char* key, bool required) {
  const json* f = field(port, key);
  if (!f) {
    if (required) return Error(ErrorCode::Invalid, fmt::format("{} is required", key));
    return uint16_t{0};
  }
  if (!f->is_number_integer() || f->get<int64_t>() < 1 || f->get<int64_t>() > 65535) {
    return Error(ErrorCode::Invalid, fmt::format("{} must be 1-65535", key));
  }
  return static_cast<uint16_t>(f->get<int64_t>());
}

}  // namespace

std::string objectKeyOf(const json& object) {
  const json* meta = field(object, "metadata");
  return meta ? str(*meta, "namespace") + "/" + str(*meta, "name") : "/";
}

std::string sliceServiceOf(const json& slice) {
  const json* meta = field(slice, "metadata");
  const json* labels = meta ? field(*meta, "labels") : nullptr;
  std::string svc = labels ? str(*labels, "kubernetes.io/service-name") : "";
  return svc.empty() ? "" : str(*meta, "namespace") + "/" + svc;
}

namespace {

// spec.externalIPs into base; why the Service is skipped when one is not an IPv4 address.
std::optional<std::string> externalIpsOf(const json& spec, ServicePort& base) {
  if (const json* ext = field(spec, "externalIPs"); ext && ext->is_array()) {
    for (const json& e : *ext) {
      auto ip = e.is_string() ? Ipv4::parse(e.get<std::string>()) : Ipv4::parse("");
      if (!ip) return fmt::format("spec.externalIPs entry {} is not an IPv4 address", e.dump());
      base.external_ips.push_back(*ip);
    }
  }
  return std::nullopt;
}

// status.loadBalancer.ingress[].ip of a LoadBalancer Service into base, as a cloud (or MetalLB)
// writes it; hostname-only ingresses have nothing to program.
void loadBalancerIpsOf(const json& svc, const std::string& type, ServicePort& base) {
  if (const json* st = field(svc, "status"); st && type == "LoadBalancer") {
    const json* lb = field(*st, "loadBalancer");
    const json* ingress = lb ? field(*lb, "ingress") : nullptr;
    if (ingress && ingress->is_array()) {
      for (const json& in : *ingress) {
        std::string text = in.is_object() ? str(in, "ip") : "";
        if (text.empty()) continue;
        if (auto ip = Ipv4::parse(text)) base.load_balancer_ips.push_back(*ip);
      }
    }
  }
}

// spec.sessionAffinity ClientIP (and its timeout) into base; why the Service is skipped when the
// timeout is out of range.
std::optional<std::string> sessionAffinityOf(const json& spec, ServicePort& base) {
  if (str(spec, "sessionAffinity") == "ClientIP") {
    base.affinity_client_ip = true;
    if (const json* cfg = field(spec, "sessionAffinityConfig")) {
      if (const json* cip_cfg = field(*cfg, "clientIP")) {
        if (const json* t = field(*cip_cfg, "timeoutSeconds")) {
          if (!t->is_number_integer() || t->get<int64_t>() < 1 || t->get<int64_t>() > 86400) {
            return "sessionAffinityConfig.clientIP.timeoutSeconds must be 1-86400";
          }
          base.affinity_seconds = static_cast<uint32_t>(t->get<int64_t>());
        }
      }
    }
  }
  return std::nullopt;
}

// One ServicePort per spec.ports entry, each a copy of base; a port that does not convert is
// skipped (with its reason) and the others kept.
void appendPorts(const json& ports, const std::string& ref, const ServicePort& base,
                 const std::string& ns, const std::string& name, const std::string& type,
                 ConvertedServices& out) {
  auto skip = [&](std::string reason) { out.skipped.push_back({ref, std::move(reason)}); };
  for (const json& p : ports) {
    ServicePort sp = base;
    sp.id = {ns, name, str(p, "name")};
    auto proto = protocolOf(p);
    auto port = portOf(p, "port", true);
    auto node_port =
        type == "ClusterIP" ? Result<uint16_t>(uint16_t{0}) : portOf(p, "nodePort", false);
    if (!proto || !port || !node_port) {
      const Error& e = !proto ? proto.error() : !port ? port.error() : node_port.error();
      skip(fmt::format("port '{}': {}", sp.id.port, e.message()));
      continue;
    }
    sp.protocol = *proto;
    sp.port = *port;
    sp.node_port = *node_port;
    out.ports.push_back(std::move(sp));
  }
}

}  // namespace

void appendServicePortsFromJson(const json& svc, ConvertedServices& out) {
  const json* meta = field(svc, "metadata");
  const json* spec = field(svc, "spec");
  std::string ns = meta ? str(*meta, "namespace") : "";
  std::string name = meta ? str(*meta, "name") : "";
  std::string ref = fmt::format("{}/{}", ns, name);
  auto skip = [&](std::string reason) { out.skipped.push_back({ref, std::move(reason)}); };
  if (ns.empty() || name.empty()) {
    skip("metadata.namespace and metadata.name are required");
    return;
  }
  if (!spec) {
    skip("spec is required");
    return;
  }
  // A Service labelled service.kubernetes.io/service-proxy-name belongs to another proxy: kube-
  // proxy's informer leaves it out (label selector !service.kubernetes.io/service-proxy-name).
  if (const json* labels = field(*meta, "labels");
      labels && labels->is_object() &&
      labels->contains("service.kubernetes.io/service-proxy-name")) {
    return;
  }
  std::string type = str(*spec, "type");
  if (type.empty()) type = "ClusterIP";
  if (type == "ExternalName") return;
  if (type != "ClusterIP" && type != "NodePort" && type != "LoadBalancer") {
    skip(fmt::format("spec.type '{}' is not supported", type));
    return;
  }
  std::string cip = str(*spec, "clusterIP");
  if (cip == "None") return;  // headless: DNS only
  if (cip.empty()) {
    skip("spec.clusterIP is not allocated yet");
    return;
  }
  auto cluster_ip = Ipv4::parse(cip);
  if (!cluster_ip) {
    skip(fmt::format("spec.clusterIP '{}' is not an IPv4 address", cip));
    return;
  }
  ServicePort base;
  base.cluster_ip = *cluster_ip;
  if (auto why = externalIpsOf(*spec, base)) {
    skip(std::move(*why));
    return;
  }
  loadBalancerIpsOf(svc, type, base);
  if (auto why = sessionAffinityOf(*spec, base)) {
    skip(std::move(*why));
    return;
  }
  bool external = type != "ClusterIP" || !base.external_ips.empty();
  base.external_policy_local = external && str(*spec, "externalTrafficPolicy") == "Local";
  base.internal_policy_local = str(*spec, "internalTrafficPolicy") == "Local";
  if (base.external_policy_local && type == "LoadBalancer") {
    auto hc = portOf(*spec, "healthCheckNodePort", false);
    if (hc) base.health_check_node_port = *hc;
  }
  const json* ports = field(*spec, "ports");
  if (!ports || !ports->is_array() || ports->empty()) {
    skip("spec.ports must list at least one port");
    return;
  }
  appendPorts(*ports, ref, base, ns, name, type, out);
}

void appendEndpointsFromJson(const json& slice, ConvertedEndpoints& out) {
  const json* meta = field(slice, "metadata");
  std::string ns = meta ? str(*meta, "namespace") : "";
  std::string name = meta ? str(*meta, "name") : "";
  std::string ref = fmt::format("{}/{}", ns, name);
  auto skip = [&](std::string reason) { out.skipped.push_back({ref, std::move(reason)}); };
  std::string svc;
  if (meta) {
    if (const json* labels = field(*meta, "labels"))
      svc = str(*labels, "kubernetes.io/service-name");
  }
  if (ns.empty() || name.empty() || svc.empty()) {
    skip("metadata.namespace, metadata.name and label kubernetes.io/service-name are required");
    return;
  }
  std::string family = str(slice, "addressType");
  if (family != "IPv4") {
    skip(fmt::format("addressType '{}' is not supported", family));
    return;
  }
  struct SlicePort {
    std::string name;
    Protocol proto;
    uint16_t port;
  };
  std::vector<SlicePort> ports;
  bool bad = false;
  if (const json* ps = field(slice, "ports"); ps && ps->is_array()) {
    for (const json& p : *ps) {
      auto proto = protocolOf(p);
      auto port = portOf(p, "port", true);
      if (!proto || !port) {
        skip(fmt::format("port '{}': {}", str(p, "name"),
                         (!proto ? proto.error() : port.error()).message()));
        bad = !port;  // an unsupported protocol only drops that port
        continue;
      }
      ports.push_back({str(p, "name"), *proto, *port});
    }
  }
  if (bad) return;
  std::vector<Endpoint> eps;
  if (const json* es = field(slice, "endpoints"); es && es->is_array()) {
    for (const json& e : *es) {
      const json* addrs = field(e, "addresses");
      if (!addrs || !addrs->is_array() || addrs->empty() || !(*addrs)[0].is_string()) {
        skip("an endpoint has no addresses");
        continue;
      }
      auto ip = Ipv4::parse((*addrs)[0].get<std::string>());
      if (!ip) {
        skip(fmt::format("endpoint address {} is not IPv4", (*addrs)[0].dump()));
        continue;
      }
      Endpoint ep;
      ep.ip = *ip;
      if (const json* c = field(e, "conditions")) {
        auto flag = [&](const char* k, bool dflt) {
          const json* f = field(*c, k);
          return f && f->is_boolean() ? f->get<bool>() : dflt;
        };
        ep.ready = flag("ready", true);
        ep.terminating = flag("terminating", false);
        ep.serving = flag("serving", ep.ready);
      }
      ep.node_name = str(e, "nodeName");
      eps.push_back(std::move(ep));
    }
  }
  for (const SlicePort& p : ports) {
    std::string key =
        fmt::format("{}/{}", ServicePortName{ns, svc, p.name}.str(), protocolName(p.proto));
    auto& list = out.endpoints[key];
    for (Endpoint ep : eps) {
      ep.port = p.port;
      list.push_back(ep);
    }
  }
}

ConvertedServices servicesFromJson(const std::vector<json>& services) {
  ConvertedServices out;
  for (const json& svc : services) appendServicePortsFromJson(svc, out);
  return out;
}

ConvertedEndpoints endpointsFromJson(const std::vector<json>& slices) {
  ConvertedEndpoints out;
  for (const json& slice : slices) appendEndpointsFromJson(slice, out);
  return out;
}

}  // namespace skiff::netproxy
