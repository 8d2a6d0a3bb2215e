#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "skiff/common/result.h"
#include "skiff/netproxy/ipv4.h"
#include "skiff/netproxy/rule.h"

namespace skiff::netproxy {

// The typed view of Services and EndpointSlices the proxy works from, as kube-proxy's
// ServicePort/Endpoint (pkg/proxy/servicechangetracker.go, endpointschangetracker.go).

// "ns/name:port" (":port" only for named ports), kube-proxy's ServicePortName.String().
struct ServicePortName {
  std::string ns;
  std::string name;
  std::string port;
  std::string str() const;
  friend auto operator<=>(const ServicePortName&, const ServicePortName&) = default;
};

inline constexpr uint32_t kDefaultAffinitySeconds = 10800;  // sessionAffinityConfig default

struct ServicePort {
  ServicePortName id;
  Protocol protocol = Protocol::Tcp;
  Ipv4 cluster_ip;
  uint16_t port = 0;
  uint16_t node_port = 0;  // 0: not a NodePort
  std::vector<Ipv4> external_ips;
  std::vector<Ipv4> load_balancer_ips;  // status.loadBalancer.ingress[].ip (type LoadBalancer)
  bool affinity_client_ip = false;
  uint32_t affinity_seconds = kDefaultAffinitySeconds;
  bool external_policy_local = false;  // externalTrafficPolicy: Local (only for NodePort/LB)
  bool internal_policy_local = false;  // internalTrafficPolicy: Local
  uint16_t health_check_node_port = 0;

  // Key into an EndpointMap: "<svcPortName>/<protocol>".
  std::string key() const;
  // The same into `out` (cleared first), reusing its buffer.
  void keyInto(std::string& out) const;
  bool externallyAccessible() const {
    return node_port != 0 || !external_ips.empty() || !load_balancer_ips.empty();
  }
  friend bool operator==(const ServicePort&, const ServicePort&) = default;
};

// "ns/name", the Service a port belongs to (the unit of change tracking and of nft sharding).
std::string serviceOf(const ServicePort& sp);
// The same from a ServicePort::key() ("ns/name:port/tcp" or "ns/name/tcp").
std::string_view serviceOfKey(std::string_view key);

struct Endpoint {
  Ipv4 ip;
  uint16_t port = 0;
  bool ready = true;
  bool serving = true;
  bool terminating = false;
  std::string node_name;
  std::string str() const;  // "ip:port"
  friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

// Endpoints per ServicePort::key(), in the order the slices list them. Hashed: every sync looks
// up every port's endpoints, and an ordered map's string compares over keys sharing long
// prefixes cost milliseconds at 10,000 Services. Nothing depends on its iteration order.
using EndpointMap = std::unordered_map<std::string, std::vector<Endpoint>>;

// Something in an API object the proxy could not use; the object (or the part named) is skipped
// and the reason logged, never a crash.
struct Skipped {
  std::string object;  // "ns/name"
  std::string reason;
};

struct ConvertedServices {
  std::vector<ServicePort> ports;
  std::vector<Skipped> skipped;
};

// Service objects (v1) -> service ports. Headless (clusterIP None) and ExternalName services,
// and those labelled service.kubernetes.io/service-proxy-name (another proxy's), have no proxy
// rules and are left out silently, as kube-proxy does. Invalid objects and ports
// (bad IPs, ports out of range, SCTP) are reported in `skipped`.
ConvertedServices servicesFromJson(const std::vector<nlohmann::json>& services);
// The same for one Service, appended to `out` (the change tracker converts each as it arrives).
void appendServicePortsFromJson(const nlohmann::json& service, ConvertedServices& out);

struct ConvertedEndpoints {
  EndpointMap endpoints;
  std::vector<Skipped> skipped;
};

// discovery.k8s.io/v1 EndpointSlices -> endpoints per service port, joined to services by the
// kubernetes.io/service-name label and the port name. Only IPv4 slices are used (a v6 slice is
// skipped with its reason); a missing `ready` condition means ready, as the API documents.
ConvertedEndpoints endpointsFromJson(const std::vector<nlohmann::json>& slices);
void appendEndpointsFromJson(const nlohmann::json& slice, ConvertedEndpoints& out);

// "ns/name" of an API object (a part missing is empty), the key the change tracker files it by.
std::string objectKeyOf(const nlohmann::json& object);
// The Service an EndpointSlice belongs to, "ns/<label kubernetes.io/service-name>", or "" when
// the slice has no such label.
std::string sliceServiceOf(const nlohmann::json& slice);

}  // namespace skiff::netproxy
