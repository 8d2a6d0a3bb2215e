#pragma once

#include <string>
#include <vector>

#include "skiff/netproxy/proxy_rules.h"
#include "skiff/netproxy/service.h"

namespace skiff::netproxy::testing {

// Small builders for tests that need typed services and endpoints.
ServicePort clusterIpPort(std::string ns, std::string name, std::string port_name,
                          const char* cluster_ip, uint16_t port, Protocol proto = Protocol::Tcp);
Endpoint endpoint(const char* ip, uint16_t port, std::string node = "", bool ready = true);

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
