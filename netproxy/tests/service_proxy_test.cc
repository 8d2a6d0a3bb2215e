#include "skiff/netproxy/service_proxy.h"
#include "skiff/netproxy/chain_names.h"

#include <gtest/gtest.h>

#include "skiff/netproxy/testing/fake_iptables.h"
#include "skiff/netproxy/testing/sample_services.h"

namespace skiff::netproxy {
namespace {

using testing::clusterIpPort;
using testing::endpoint;

class RecordingConntrack : public sys::Conntrack {
 public:
  Result<std::size_t> deleteEntries(const sys::ConntrackFilter& f) override {
    calls.push_back(f);
    return std::size_t{1};
  }
  std::vector<sys::ConntrackFilter> calls;
};

struct Cluster {
  std::vector<ServicePort> ports;
  EndpointMap eps;
};

Cluster manyServices(int n) {
  Cluster c;
  for (int i = 0; i < n; ++i) {
    std::string ip = "10.96." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
    auto sp = clusterIpPort("ns", "svc" + std::to_string(i), "http", ip.c_str(), 80);
    std::string ep = "10.244." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
    c.eps[sp.key()] = {endpoint(ep.c_str(), 8080)};
    c.ports.push_back(sp);
  }
  return c;
}

TEST(ServiceProxyTest, OneChangedServiceRewritesOnlyItsChains) {
  testing::FakeIptables ipt;
  auto proxy = makeIptablesProxy(ProxyConfig{}, ipt, nullptr);
  Cluster c = manyServices(50);
  auto first = proxy->sync(c.ports, c.eps);
  ASSERT_TRUE(first) << first.error().message();
  EXPECT_TRUE(first->full);
  ipt.clearAppliedForTest();

  auto again = proxy->sync(c.ports, c.eps);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->chains_written, 0u);

  // Scale svc7 from 1 to 2 endpoints.
  c.eps[c.ports[7].key()].push_back(endpoint("10.244.9.9", 8080));
  ipt.clearAppliedForTest();
  auto one = proxy->sync(c.ports, c.eps);
  ASSERT_TRUE(one);
  EXPECT_FALSE(one->full);
  // Its KUBE-SVC chain and the new KUBE-SEP chain; KUBE-SERVICES is unchanged.
  EXPECT_EQ(one->chains_written, 2u);
  std::set<std::string> written;
  for (const auto& t : ipt.appliedForTest()) {
    for (const auto& ch : t.write) written.insert(ch.name);
  }
  EXPECT_TRUE(written.count(serviceChainName("ns/svc7:http", "tcp")));
  EXPECT_TRUE(written.count(endpointChainName("ns/svc7:http", "tcp", "10.244.9.9:8080")));
  auto r = testing::tracePacket(
      ipt, {*Ipv4::parse("10.0.0.1"), c.ports[7].cluster_ip, Protocol::Tcp, 80}, {});
  EXPECT_EQ(r.destinations.size(), 2u);
}

TEST(ServiceProxyTest, RemovedServiceChainsAreDeletedAfterTheirReferences) {
  testing::FakeIptables ipt;
  auto proxy = makeIptablesProxy(ProxyConfig{}, ipt, nullptr);
  Cluster c = manyServices(3);
  ASSERT_TRUE(proxy->sync(c.ports, c.eps));
  std::string gone = serviceChainName("ns/svc1:http", "tcp");
  ASSERT_TRUE(ipt.table("nat")->hasChain(gone));
  c.ports.erase(c.ports.begin() + 1);
  auto r = proxy->sync(c.ports, c.eps);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->chains_removed, 2u);  // SVC + SEP
  EXPECT_FALSE(ipt.table("nat")->hasChain(gone));
}

TEST(ServiceProxyTest, FailedCommitForcesFullResync) {
  testing::FakeIptables ipt;
  auto proxy = makeIptablesProxy(ProxyConfig{}, ipt, nullptr);
  Cluster c = manyServices(3);
  ASSERT_TRUE(proxy->sync(c.ports, c.eps));
  ipt.failNextApplyForTest(
      Error(ErrorCode::Unavailable, "commit: Resource temporarily unavailable"));
  c.eps[c.ports[0].key()].push_back(endpoint("10.244.9.9", 8080));
  auto failed = proxy->sync(c.ports, c.eps);
  ASSERT_FALSE(failed);
  EXPECT_NE(failed.error().message().find("sync table"), std::string::npos);
  auto next = proxy->sync(c.ports, c.eps);
  ASSERT_TRUE(next);
  EXPECT_TRUE(next->full);
}

TEST(ServiceProxyTest, FirstSyncDeletesStaleChainsFromAnEarlierRun) {
  testing::FakeIptables ipt;
  ASSERT_TRUE(
      ipt.restore("*nat\n:KUBE-SVC-STALESTALESTALE - [0:0]\n:OTHER-CHAIN - [0:0]\nCOMMIT\n", true));
  auto proxy = makeIptablesProxy(ProxyConfig{}, ipt, nullptr);
  ASSERT_TRUE(proxy->sync({}, {}));
  EXPECT_FALSE(ipt.table("nat")->hasChain("KUBE-SVC-STALESTALESTALE"));
  EXPECT_TRUE(ipt.table("nat")->hasChain("OTHER-CHAIN"));  // not ours
}

TEST(ServiceProxyTest, RemovedUdpEndpointsHaveConntrackCleared) {
  testing::FakeIptables ipt;
  RecordingConntrack ct;
  auto proxy = makeIptablesProxy(ProxyConfig{}, ipt, &ct);
  auto dns = clusterIpPort("kube-system", "dns", "dns", "10.96.0.10", 53, Protocol::Udp);
  EndpointMap eps{{dns.key(), {endpoint("10.244.0.5", 53), endpoint("10.244.1.7", 53)}}};
  ASSERT_TRUE(proxy->sync({dns}, eps));
  EXPECT_TRUE(ct.calls.empty());
  eps[dns.key()].pop_back();
  auto r = proxy->sync({dns}, eps);
  ASSERT_TRUE(r);
  ASSERT_EQ(ct.calls.size(), 1u);
  EXPECT_EQ(ct.calls[0].orig_dst->str(), "10.96.0.10");
  EXPECT_EQ(ct.calls[0].reply_src->str(), "10.244.1.7");
  EXPECT_EQ(r->conntrack_deleted, 1u);
}

TEST(ServiceProxyTest, SyncObjectsSkipsBadObjectsAndProgramsTheRest) {
  testing::FakeIptables ipt;
  auto proxy = makeIptablesProxy(ProxyConfig{}, ipt, nullptr);
  using nlohmann::json;
  auto r = proxy->syncObjects(
      {json::parse(R"({"metadata":{"namespace":"ns1","name":"svc1"},
         "spec":{"clusterIP":"172.30.0.41","ports":[{"name":"p80","port":80}]}})"),
       json::parse(
           R"({"metadata":{"namespace":"ns1","name":"broken"},"spec":{"clusterIP":"nope"}})")},
      {json::parse(R"({"metadata":{"namespace":"ns1","name":"svc1-x",
         "labels":{"kubernetes.io/service-name":"svc1"}},"addressType":"IPv4",
         "ports":[{"name":"p80","port":80}],"endpoints":[{"addresses":["10.180.0.1"]}]})")});
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->skipped_objects, 1u);
  EXPECT_TRUE(ipt.table("nat")->hasChain("KUBE-SVC-XPGD46QRK7WJZT7O"));
  EXPECT_TRUE(ipt.table("nat")->hasChain("KUBE-SEP-SXIVWICOYRO3J4NJ"));
}

TEST(ServiceProxyTest, CleanupRemovesEverythingItOwns) {
  testing::FakeIptables ipt;
  auto proxy = makeIptablesProxy(testing::goldenScenario().config, ipt, nullptr);
  auto g = testing::goldenScenario();
  ASSERT_TRUE(proxy->sync(g.ports, g.endpoints));
  ASSERT_TRUE(proxy->cleanup());
  EXPECT_TRUE(ipt.listChains("nat")->empty());
  EXPECT_TRUE(ipt.listChains("filter")->empty());
  EXPECT_TRUE(ipt.listRules("nat", "PREROUTING")->empty());
  EXPECT_TRUE(ipt.listRules("filter", "INPUT")->empty());
}

}  // namespace
}  // namespace skiff::netproxy
