#include "skiff/netproxy/proxy_rules.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "skiff/netproxy/chain_names.h"
#include "skiff/netproxy/service_proxy.h"
#include "skiff/netproxy/testing/fake_iptables.h"
#include "skiff/netproxy/testing/sample_services.h"

namespace skiff::netproxy {
namespace {

using testing::FakeIptables;
using testing::ip;
using testing::TracePacket;
using testing::tracePacket;

// Node node-a: eth0 192.168.100.1, bridge 10.244.1.1, loopback.
const std::set<Ipv4> kLocal = {ip("192.168.100.1"), ip("10.244.1.1"), ip("127.0.0.1")};

class ProxyRulesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    g_ = testing::goldenScenario();
    proxy_ = makeIptablesProxy(g_.config, ipt_, nullptr);
    auto r = proxy_->sync(g_.ports, g_.endpoints);
    ASSERT_TRUE(r) << r.error().message();
  }
  testing::TraceResult trace(const char* src, const char* dst, uint16_t port,
                             Protocol proto = Protocol::Tcp, bool local = false) {
    return tracePacket(ipt_, TracePacket{ip(src), ip(dst), proto, port, local}, kLocal);
  }
  testing::GoldenScenario g_;
  FakeIptables ipt_;
  std::unique_ptr<ServiceProxy> proxy_;
};

TEST_F(ProxyRulesTest, ClusterIpSpreadsOverAllReadyEndpoints) {
  auto r = trace("10.244.1.9", "10.96.0.20", 80);
  EXPECT_EQ(r.destinations,
            (std::set<std::string>{"10.244.1.2:8080", "10.244.1.3:8080", "10.244.2.2:8080"}));
  EXPECT_EQ(r.verdicts, (std::set<std::string>{"ACCEPT"}));
  EXPECT_FALSE(r.masqueraded);  // pod-to-service keeps the pod's source
  // From outside the cluster CIDR (a host process), the source is masqueraded.
  EXPECT_TRUE(trace("192.168.100.1", "10.96.0.20", 80, Protocol::Tcp, true).masqueraded);
  // Wrong port: not a service.
  EXPECT_TRUE(trace("10.244.1.9", "10.96.0.20", 81).destinations.empty());
}

TEST_F(ProxyRulesTest, ProbabilitiesAreOneOverRemaining) {
  auto rules = *ipt_.listRules("nat", serviceChainName("default/web:http", "tcp"));
  ASSERT_EQ(rules.size(), 4u);  // masquerade rule + 3 endpoints
  EXPECT_NE(render(rules[1]).find("--probability 0.33333333349"), std::string::npos);
  EXPECT_NE(render(rules[2]).find("--probability 0.50000000000"), std::string::npos);
  EXPECT_EQ(render(rules[3]).find("statistic"), std::string::npos);
}

TEST_F(ProxyRulesTest, NodePortAnswersOnEveryNodeAddressIncludingLocalhost) {
  for (const char* addr : {"192.168.100.1", "10.244.1.1"}) {
    auto r = trace("192.168.100.7", addr, 30080);
    EXPECT_EQ(r.destinations, (std::set<std::string>{"10.244.1.4:8080", "10.244.2.4:8080"}))
        << addr;
    EXPECT_TRUE(r.masqueraded) << addr;
  }
  auto lo = trace("127.0.0.1", "127.0.0.1", 30080, Protocol::Tcp, true);
  EXPECT_EQ(lo.destinations.size(), 2u);
  EXPECT_TRUE(lo.masqueraded);
  EXPECT_TRUE(trace("192.168.100.7", "192.168.100.99", 30080).destinations.empty());
}

TEST_F(ProxyRulesTest, LocalhostFromOutsideIsDropped) {
  // route_localnet lets 127/8 in from the wire; KUBE-FIREWALL drops it unless DNATed.
  auto r = trace("192.168.100.7", "127.0.0.1", 22);
  EXPECT_EQ(r.verdicts, (std::set<std::string>{"DROP"}));
}

TEST_F(ProxyRulesTest, ClientIpAffinityChecksRecentBeforeRandom) {
  auto rules = *ipt_.listRules("nat", serviceChainName("default/sticky", "tcp"));
  ASSERT_EQ(rules.size(), 5u);
  std::string sep0 = endpointChainName("default/sticky", "tcp", "10.244.1.4:8080");
  EXPECT_EQ(render(rules[1]),
            "-m comment --comment \"default/sticky\" -m recent --rcheck --seconds 10800 --reap "
            "--name " +
                sep0 + " --mask 255.255.255.255 --rsource -j " + sep0);
  auto sep = *ipt_.listRules("nat", sep0);
  EXPECT_NE(render(sep[1]).find("-m recent --set --name " + sep0), std::string::npos);
}

TEST_F(ProxyRulesTest, ServiceWithoutEndpointsIsRejectedNotBlackholed) {
  auto r = trace("10.244.1.9", "10.96.0.10", 53, Protocol::Udp);
  EXPECT_TRUE(r.destinations.empty());
  EXPECT_EQ(r.verdicts, (std::set<std::string>{"REJECT"}));
  auto np = trace("192.168.100.7", "192.168.100.1", 30053, Protocol::Udp);
  EXPECT_EQ(np.verdicts, (std::set<std::string>{"REJECT"}));
}

TEST_F(ProxyRulesTest, ExternalTrafficPolicyLocalUsesOnlyLocalEndpointsFromOutside) {
  auto ext = trace("192.168.100.7", "192.168.100.1", 30090);
  EXPECT_EQ(ext.destinations, (std::set<std::string>{"10.244.1.5:80"}));
  EXPECT_FALSE(ext.masqueraded);  // client source preserved
  auto ext_ip = trace("192.168.100.7", "192.0.2.10", 80);
  EXPECT_EQ(ext_ip.destinations, (std::set<std::string>{"10.244.1.5:80"}));
  // Pods short-circuit to all endpoints.
  auto pod = trace("10.244.1.9", "192.168.100.1", 30090);
  EXPECT_EQ(pod.destinations.size(), 2u);
  // ClusterIP is unaffected by the external policy.
  EXPECT_EQ(trace("10.244.1.9", "10.96.0.40", 80).destinations.size(), 2u);
}

TEST_F(ProxyRulesTest, InternalTrafficPolicyLocalWithoutLocalEndpointDrops) {
  auto r = trace("10.244.1.9", "10.96.0.50", 80);
  EXPECT_TRUE(r.destinations.empty());
  EXPECT_EQ(r.verdicts, (std::set<std::string>{"DROP"}));
}

TEST_F(ProxyRulesTest, HairpinToOwnServiceIsMasqueraded) {
  auto r = trace("10.244.1.2", "10.96.0.20", 80);
  EXPECT_TRUE(r.masqueraded);  // on the path where it picks itself
}

std::string readGolden(const std::string& name) {
  std::ifstream f(testing::goldenDir() + "/" + name);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TEST_F(ProxyRulesTest, MatchesGoldenIptablesSave) {
  // The same files are compared with the kernel's iptables-legacy-save output in the
  // integration suite, so they pin both the layout and our libiptc encoding.
  Ruleset rs = buildRuleset(g_.config, g_.ports, g_.endpoints);
  if (std::getenv("SKIFF_UPDATE_GOLDEN")) {  // regenerate after a deliberate layout change
    std::ofstream(testing::goldenDir() + "/nat.save") << renderSave(rs.nat);
    std::ofstream(testing::goldenDir() + "/filter.save") << renderSave(rs.filter);
  }
  EXPECT_EQ(renderSave(rs.nat), readGolden("nat.save"));
  EXPECT_EQ(renderSave(rs.filter), readGolden("filter.save"));
  EXPECT_EQ(ipt_.save("nat"), readGolden("nat.save"));
  EXPECT_EQ(ipt_.save("filter"), readGolden("filter.save"));
}

TEST(ProxyRulesLargeClusterTest, DropsPerEndpointCommentsAboveThreshold) {
  ProxyConfig cfg;
  cfg.large_cluster_endpoints = 2;
  auto sp = testing::clusterIpPort("a", "b", "", "10.96.0.1", 80);
  EndpointMap eps{{sp.key(),
                   {testing::endpoint("10.244.0.2", 80), testing::endpoint("10.244.0.3", 80),
                    testing::endpoint("10.244.0.4", 80)}}};
  Ruleset rs = buildRuleset(cfg, {sp}, eps);
  for (const Chain& c : rs.nat.chains) {
    if (c.name.rfind("KUBE-SEP-", 0) == 0 || c.name.rfind("KUBE-SVC-", 0) == 0) {
      for (const Rule& r : c.rules) EXPECT_EQ(render(r).find("comment"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace skiff::netproxy
