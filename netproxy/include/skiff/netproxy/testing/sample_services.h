#pragma once

#include <string>
#include <vector>

#include "skiff/netproxy/proxy_rules.h"
#include "skiff/netproxy/service.h"

namespace skiff::netproxy::testing {

// Small builders for tests that need typed services and endpoints.
// `s`, an address literal the test knows is valid.
Ipv4 ip(const char* s);
ServicePort clusterIpPort(std::string ns, std::string name, std::string port_name,
                          const char* cluster_ip, uint16_t port, Protocol proto = Protocol::Tcp);
Endpoint endpoint(const char* ip, uint16_t port, std::string node = "", bool ready = true);
// default/web:http on ClusterIP 10.96.0.20:80, also on `node_port` unless that is 0.
ServicePort webPort(uint16_t node_port = 0);

// The fixed scenario behind the golden iptables-save files (netproxy/tests/golden/*.save):
// upstream's ns1/svc1:p80 with one endpoint, a 3-endpoint ClusterIP, a NodePort with ClientIP
// affinity, a UDP service with no endpoints, an externalTrafficPolicy: Local NodePort with one
// local and one remote endpoint, and an internalTrafficPolicy: Local service with no local
// endpoint. Node "node-a", cluster CIDR 10.244.0.0/16.
struct GoldenScenario {
  ProxyConfig config;
  std::vector<ServicePort> ports;
  EndpointMap endpoints;
};
GoldenScenario goldenScenario();

// The golden files' directory in the source tree.
std::string goldenDir();

}  // namespace skiff::netproxy::testing
