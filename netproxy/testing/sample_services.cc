#include "skiff/netproxy/testing/sample_services.h"

namespace skiff::netproxy::testing {

Ipv4 ip(const char* s) { return *Ipv4::parse(s); }

ServicePort clusterIpPort(std::string ns, std::string name, std::string port_name,
                          const char* cluster_ip, uint16_t port, Protocol proto) {
  ServicePort sp;
  sp.id = {std::move(ns), std::move(name), std::move(port_name)};
  sp.cluster_ip = *Ipv4::parse(cluster_ip);
  sp.port = port;
  sp.protocol = proto;
  return sp;
}

Endpoint endpoint(const char* ip, uint16_t port, std::string node, bool ready) {
  Endpoint e;
  e.ip = *Ipv4::parse(ip);
  e.port = port;
  e.node_name = std::move(node);
  e.ready = ready;
  e.serving = ready;
  return e;
}

ServicePort webPort(uint16_t node_port) {
  ServicePort sp = clusterIpPort("default", "web", "http", "10.96.0.20", 80);
  sp.node_port = node_port;
  return sp;
}

GoldenScenario goldenScenario() {
  GoldenScenario g;
  g.config.hostname = "node-a";
  g.config.cluster_cidr = *Cidr::parse("10.244.0.0/16");

  auto svc1 = clusterIpPort("ns1", "svc1", "p80", "172.30.0.41", 80);
  g.endpoints[svc1.key()] = {endpoint("10.180.0.1", 80)};
  g.ports.push_back(svc1);

  auto web = clusterIpPort("default", "web", "http", "10.96.0.20", 80);
  g.endpoints[web.key()] = {endpoint("10.244.1.2", 8080, "node-a"),
                            endpoint("10.244.1.3", 8080, "node-a"),
                            endpoint("10.244.2.2", 8080, "node-b")};
  g.ports.push_back(web);

  auto sticky = clusterIpPort("default", "sticky", "", "10.96.0.30", 8080);
  sticky.node_port = 30080;
  sticky.affinity_client_ip = true;
  g.endpoints[sticky.key()] = {endpoint("10.244.1.4", 8080, "node-a"),
                               endpoint("10.244.2.4", 8080, "node-b")};
  g.ports.push_back(sticky);

  auto dns = clusterIpPort("kube-system", "dns", "dns", "10.96.0.10", 53, Protocol::Udp);
  dns.node_port = 30053;
  g.ports.push_back(dns);  // no endpoints: REJECT

  auto local = clusterIpPort("default", "local", "http", "10.96.0.40", 80);
  local.node_port = 30090;
  local.external_policy_local = true;
  local.external_ips = {*Ipv4::parse("192.0.2.10")};
  g.endpoints[local.key()] = {endpoint("10.244.1.5", 80, "node-a"),
                              endpoint("10.244.2.5", 80, "node-b")};
  g.ports.push_back(local);

  auto itp = clusterIpPort("default", "itp", "http", "10.96.0.50", 80);
  itp.internal_policy_local = true;
  g.endpoints[itp.key()] = {endpoint("10.244.2.6", 80, "node-b")};
  g.ports.push_back(itp);
  return g;
}

std::string goldenDir() { return std::string(SKIFF_NETPROXY_SOURCE_DIR) + "/tests/golden"; }

}  // namespace skiff::netproxy::testing
