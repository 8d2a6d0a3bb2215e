#include "skiff/netproxy/service.h"

#include <gtest/gtest.h>

namespace skiff::netproxy {
namespace {

using nlohmann::json;

json svc(const char* text) { return json::parse(text); }

TEST(ServiceTest, ConvertsNodePortServiceWithAffinity) {
  auto out = servicesFromJson({svc(R"({"metadata":{"namespace":"ns1","name":"svc1"},
    "spec":{"type":"NodePort","clusterIP":"10.96.0.10","sessionAffinity":"ClientIP",
      "sessionAffinityConfig":{"clientIP":{"timeoutSeconds":60}},
      "externalTrafficPolicy":"Local","externalIPs":["192.0.2.1"],
      "ports":[{"name":"p80","port":80,"nodePort":30080,"targetPort":8080},
               {"name":"dns","port":53,"protocol":"UDP","nodePort":30053}]}})")});
  ASSERT_TRUE(out.skipped.empty()) << out.skipped[0].reason;
  ASSERT_EQ(out.ports.size(), 2u);
  const ServicePort& p = out.ports[0];
  EXPECT_EQ(p.id.str(), "ns1/svc1:p80");
  EXPECT_EQ(p.key(), "ns1/svc1:p80/tcp");
  EXPECT_EQ(p.cluster_ip.str(), "10.96.0.10");
  EXPECT_EQ(p.node_port, 30080);
  EXPECT_TRUE(p.affinity_client_ip);
  EXPECT_EQ(p.affinity_seconds, 60u);
  EXPECT_TRUE(p.external_policy_local);
  ASSERT_EQ(p.external_ips.size(), 1u);
  EXPECT_EQ(out.ports[1].protocol, Protocol::Udp);
}

TEST(ServiceTest, SkipsHeadlessAndExternalNameSilently) {
  auto out = servicesFromJson(
      {svc(R"({"metadata":{"namespace":"a","name":"h"},"spec":{"clusterIP":"None","ports":[{"port":80}]}})"),
       svc(R"({"metadata":{"namespace":"a","name":"e"},"spec":{"type":"ExternalName","externalName":"x.example"}})")});
  EXPECT_TRUE(out.ports.empty());
  EXPECT_TRUE(out.skipped.empty());
}

TEST(ServiceTest, LeavesServicesOfAnotherProxyOut) {
  const char* mine =
      R"({"metadata":{"namespace":"a","name":"s"},"spec":{"clusterIP":"10.96.0.5","ports":[{"port":80}]}})";
  json other = svc(mine);
  other["metadata"]["labels"] = {{"service.kubernetes.io/service-proxy-name", "foo-bar"}};
  EXPECT_EQ(servicesFromJson({svc(mine)}).ports.size(), 1u);
  auto out = servicesFromJson({other});
  EXPECT_TRUE(out.ports.empty());
  EXPECT_TRUE(out.skipped.empty());
}

TEST(ServiceTest, BadObjectsAreSkippedWithReasons) {
  auto out = servicesFromJson({
      json("not an object"),
      svc(R"({"metadata":{"name":"x"},"spec":{}})"),
      svc(R"({"metadata":{"namespace":"a","name":"ip"},"spec":{"clusterIP":"10.96.0.300","ports":[{"port":80}]}})"),
      svc(R"({"metadata":{"namespace":"a","name":"port"},"spec":{"clusterIP":"10.96.0.3","ports":[{"port":70000}]}})"),
      svc(R"({"metadata":{"namespace":"a","name":"sctp"},"spec":{"clusterIP":"10.96.0.4","ports":[{"port":80,"protocol":"SCTP"},{"name":"ok","port":81}]}})"),
      svc(R"({"metadata":{"namespace":"a","name":"v6"},"spec":{"clusterIP":"fd00::1","ports":[{"port":80}]}})"),
  });
  ASSERT_EQ(out.ports.size(), 1u);  // only a/sctp:ok survives
  EXPECT_EQ(out.ports[0].id.str(), "a/sctp:ok");
  ASSERT_EQ(out.skipped.size(), 6u);
  EXPECT_EQ(out.skipped[2].object, "a/ip");
  EXPECT_NE(out.skipped[2].reason.find("10.96.0.300"), std::string::npos);
  EXPECT_NE(out.skipped[3].reason.find("1-65535"), std::string::npos);
  EXPECT_NE(out.skipped[4].reason.find("SCTP"), std::string::npos);
}

TEST(ServiceTest, EndpointSlicesJoinByServiceLabelAndPortName) {
  auto out = endpointsFromJson(
      {json::parse(R"({
    "metadata":{"namespace":"ns1","name":"svc1-abc","labels":{"kubernetes.io/service-name":"svc1"}},
    "addressType":"IPv4",
    "ports":[{"name":"p80","port":8080,"protocol":"TCP"}],
    "endpoints":[
      {"addresses":["10.244.1.2"],"conditions":{"ready":true},"nodeName":"n1"},
      {"addresses":["10.244.2.2"],"conditions":{"ready":false,"serving":true,"terminating":true}},
      {"addresses":["10.244.3.2"]},
      {"addresses":["bogus"]},
      {"conditions":{"ready":true}}
    ]})"),
       json::parse(
           R"({"metadata":{"namespace":"ns1","name":"v6","labels":{"kubernetes.io/service-name":"svc1"}},
       "addressType":"IPv6","endpoints":[]})")});
  const auto& eps = out.endpoints.at("ns1/svc1:p80/tcp");
  ASSERT_EQ(eps.size(), 3u);
  EXPECT_EQ(eps[0].str(), "10.244.1.2:8080");
  EXPECT_EQ(eps[0].node_name, "n1");
  EXPECT_FALSE(eps[1].ready);
  EXPECT_TRUE(eps[1].terminating);
  EXPECT_TRUE(eps[2].ready);  // no conditions: ready
  EXPECT_EQ(out.skipped.size(), 3u);
}

}  // namespace
}  // namespace skiff::netproxy
