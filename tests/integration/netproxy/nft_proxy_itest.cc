// Services end to end in nftables mode on the real kernel: a simulated node (its own namespace)
// whose pod network and proxy rules are nf_tables only, real TCP connections from a client pod,
// the node itself and an outside machine. Every test checks that nothing went to iptables-legacy.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "proxy_testbed.h"
#include "skiff/netproxy/nft_rules.h"
#include "skiff/netproxy/service_proxy.h"
#include "skiff/netproxy/testing/sample_services.h"

namespace skiff::netproxy {
namespace {

using itest::EnterNetns;
using itest::SimNode;
using itest::TestNetns;
using testing::clusterIpPort;
using testing::endpoint;

// A Docker-like iptables-nft ruleset and a firewalld table, loaded before the proxy runs.
const std::string kForeignRuleset =
    std::string(SKIFF_SOURCE_DIR) + "/tests/data/netproxy/docker-firewalld.nft";

class NftProxyIntegration : public itest::ProxyTestBed {
 protected:
  NftProxyIntegration() : ProxyTestBed(/*nft=*/true) {}
  void TearDown() override {
    if (!itest::isRoot()) return;
    EXPECT_EQ(node_->ns().exec("cat /proc/net/ip_tables_names").out, "")
        << "nftables mode must not create iptables-legacy tables";
    tearDownNode([&](bool cleaned) {
      EXPECT_TRUE(cleaned);
      EXPECT_NE(node_->ns().exec("nft list table ip skiff").code, 0) << "cleanup leaves no table";
      EXPECT_EQ(node_->ns().exec("nft list tables").out.find("skiff-svc-"), std::string::npos)
          << "cleanup leaves no shard table";
    });
  }
};

TEST_F(NftProxyIntegration, ROOT_NftGoldenTableEqualsNftsOwnParseOfTheSameRuleset) {
  auto g = testing::goldenScenario();
  proxy_ = makeNftablesProxy(g.config, node_->nftables(), nullptr);
  sync(g.ports, g.endpoints);
  // A few Services: the main table and one shard.
  const char* list = "sh -c 'nft list table ip skiff && nft list table ip skiff-svc-0'";
  std::string ours = node_->ns().exec(list).out;
  EXPECT_NE(node_->ns().exec("nft list table ip skiff-svc-1").code, 0) << "one shard";
  // The same rule set as text through `nft -f` in a fresh namespace: the kernel holds the same
  // tables whichever way they were written (our netlink encoding == nft's).
  TestNetns ref("snp-nft-ref");
  std::string path = "/tmp/skiff-nft-golden-" + std::to_string(::getpid()) + ".nft";
  {
    std::ofstream out(path);
    for (const nft::Batch& b :
         nftrules::fullBatches(g.config, g.ports, g.endpoints, kDefaultNftShardSize)) {
      out << nft::nftText(b);
    }
  }
  auto load = ref.exec("nft -f " + path);
  std::filesystem::remove(path);
  ASSERT_EQ(load.code, 0) << load.out;
  EXPECT_EQ(ref.exec(list).out, ours);

  std::string golden = testing::goldenDir() + "/nft_skiff.nft";
  if (std::getenv("SKIFF_UPDATE_GOLDEN")) std::ofstream(golden) << ours;
  std::ifstream in(golden);
  std::string want((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(ours, want) << "regenerate with SKIFF_UPDATE_GOLDEN=1 after reviewing the change";
}

TEST_F(NftProxyIntegration, ROOT_NftClusterIpSpreadsConnectionsOverThreeBackends) {
  auto web = clusterIpPort("default", "web", "http", "10.96.0.20", 80);
  sync({web}, {{web.key(), backends()}});
  auto seen = spread(*client_, "10.96.0.20", 80, 30);
  // Uniform 1/3 each: missing one backend in 30 tries has probability ~1.5e-5.
  EXPECT_EQ(seen.size(), 3u);
  // From the node itself too (nat-output), and a pod reaching itself (hairpin).
  EXPECT_FALSE(spread(node_->ns(), "10.96.0.20", 80, 3).empty());
}

TEST_F(NftProxyIntegration, ROOT_NftNodePortServiceAnswersOnEveryNodeAddress) {
  auto np = clusterIpPort("default", "np", "", "10.96.0.30", 80);
  np.node_port = 30080;
  sync({np}, {{np.key(), backends()}});
  std::string err;
  for (auto [from, ip] :
       {std::pair{outside_.get(), "192.168.100.1"}, std::pair{client_, "10.244.1.1"},
        std::pair{&node_->ns(), "192.168.100.1"}, std::pair{&node_->ns(), "10.96.0.30"}}) {
    uint16_t port = std::string(ip) == "10.96.0.30" ? 80 : 30080;
    EXPECT_NE(itest::tcpGet(*from, ip, port, &err).find("backend-"), std::string::npos)
        << from->name() << " -> " << ip << ": " << err;
  }
  // As kube-proxy's nftables mode: no NodePorts on 127.0.0.1.
  EXPECT_TRUE(itest::tcpGet(node_->ns(), "127.0.0.1", 30080, &err, 1).empty());
}

TEST_F(NftProxyIntegration, ROOT_NftServiceSessionAffinityClientIpSticks) {
  auto sticky = clusterIpPort("default", "sticky", "", "10.96.0.40", 80);
  sticky.affinity_client_ip = true;
  sync({sticky}, {{sticky.key(), backends()}});
  EXPECT_EQ(spread(*client_, "10.96.0.40", 80, 12).size(), 1u) << "affinity broke";
  std::string sets = node_->ns().exec("nft list sets ip").out;
  EXPECT_NE(sets.find("timeout 3h"), std::string::npos) << sets;
}

TEST_F(NftProxyIntegration, ROOT_NftServiceScaledToZeroRefusesConnectionsImmediately) {
  expectScaledToZeroRefusesImmediately();
}

TEST_F(NftProxyIntegration, ROOT_NftExternalTrafficPolicyLocalReachesOnlyLocalEndpoints) {
  auto np = clusterIpPort("default", "local", "", "10.96.0.50", 80);
  np.node_port = 30090;
  np.external_policy_local = true;
  auto eps = backends();
  eps[1].node_name = "node-b";  // not ours: outside clients must never be sent there
  eps[2].node_name = "node-b";
  sync({np}, {{np.key(), eps}});
  auto seen = spread(*outside_, "192.168.100.1", 30090, 10);
  EXPECT_EQ(seen, (std::map<std::string, int>{{"backend-0", 10}}));
}

TEST_F(NftProxyIntegration, ROOT_NftServicesInSeparateShardTablesAllAnswer) {
  // One Service per shard table: three tables with dstnat chains at the same priority; each
  // connection is translated by its Service's shard only, and masquerade (main table) still
  // applies to what the shards marked.
  NftProxyOptions o;
  o.shard_size = 1;
  proxy_ = makeNftablesProxy(cfg_, node_->nftables(), nullptr, o);
  auto a = clusterIpPort("default", "a", "http", "10.96.0.21", 80);
  auto b = clusterIpPort("default", "b", "http", "10.96.0.22", 80);
  b.node_port = 30083;
  auto c = clusterIpPort("default", "c", "http", "10.96.0.23", 80);
  auto eps = backends();
  EndpointMap map = {{a.key(), {eps[0]}}, {b.key(), {eps[1]}}, {c.key(), {eps[2]}}};
  sync({a, b, c}, map);
  std::string tables = node_->ns().exec("nft list tables").out;
  for (const char* t : {"skiff-svc-0", "skiff-svc-1", "skiff-svc-2"}) {
    EXPECT_NE(tables.find(t), std::string::npos) << tables;
  }
  std::string err;
  EXPECT_EQ(itest::tcpGet(*client_, "10.96.0.21", 80, &err), "backend-0") << err;
  EXPECT_EQ(itest::tcpGet(*client_, "10.96.0.22", 80, &err), "backend-1") << err;
  EXPECT_EQ(itest::tcpGet(*client_, "10.96.0.23", 80, &err), "backend-2") << err;
  EXPECT_EQ(itest::tcpGet(*outside_, "192.168.100.1", 30083, &err), "backend-1") << err;
  EXPECT_EQ(itest::tcpGet(node_->ns(), "10.96.0.22", 80, &err), "backend-1") << err;
  // Deleting the middle Service deletes its shard table; the others keep answering.
  sync({a, c}, map);
  tables = node_->ns().exec("nft list tables").out;
  EXPECT_EQ(tables.find("skiff-svc-1"), std::string::npos) << tables;
  EXPECT_EQ(itest::tcpGet(*client_, "10.96.0.23", 80, &err), "backend-2") << err;
  EXPECT_TRUE(itest::tcpGet(*client_, "10.96.0.22", 80, &err, 1).empty());
}

TEST_F(NftProxyIntegration, ROOT_NftCoexistsWithDockerAndFirewalldTables) {
  auto load = node_->ns().exec("nft -f " + kForeignRuleset);
  ASSERT_EQ(load.code, 0) << load.out;
  auto foreign = [&] {
    return node_->ns().exec("nft list table ip filter").out +
           node_->ns().exec("nft list table ip nat").out +
           node_->ns().exec("nft list table inet firewalld").out;
  };
  std::string before = foreign();
  auto web = clusterIpPort("default", "web", "http", "10.96.0.20", 80);
  web.node_port = 30082;
  sync({web}, {{web.key(), backends()}});
  // 30 tries: with 12, missing one of three backends happened 2.3% of runs.
  EXPECT_EQ(spread(*client_, "10.96.0.20", 80, 30).size(), 3u);
  std::string err;
  EXPECT_NE(itest::tcpGet(*outside_, "192.168.100.1", 30082, &err).find("backend-"),
            std::string::npos)
      << err;
  sync({web}, {});
  {
    EnterNetns in(node_->ns().path());
    ASSERT_TRUE(proxy_->cleanup());
  }
  EXPECT_EQ(foreign(), before) << "other owners' tables must be untouched";
}

TEST_F(NftProxyIntegration, ROOT_NftFullResyncRepairsFlushRuleset) {
  NftProxyOptions o;
  o.full_sync_period = std::chrono::milliseconds(0);  // every sync is a full one
  proxy_ = makeNftablesProxy(cfg_, node_->nftables(), nullptr, o);
  auto web = clusterIpPort("default", "web", "http", "10.96.0.20", 80);
  sync({web}, {{web.key(), backends()}});
  ASSERT_EQ(node_->ns().exec("nft flush ruleset").code, 0);
  std::string err;
  EXPECT_TRUE(itest::tcpGet(*client_, "10.96.0.20", 80, &err, 1).empty());
  sync({web}, {{web.key(), backends()}});
  EXPECT_FALSE(itest::tcpGet(*client_, "10.96.0.20", 80, &err).empty()) << err;
  // The pod network's table is the agent's to repair (ensureNode); put it back for teardown.
  EnterNetns in(node_->ns().path());
  ASSERT_TRUE(node_->podNetwork().ensureNode());
}

TEST(NftPodNetworkIntegration, ROOT_NftPodsOnTwoNodesReachEachOtherAndAServiceAcrossNodes) {
  if (!itest::isRoot()) GTEST_SKIP() << "needs root";
  SimNode a("snp-nfa", "10.244.1.0/24", true);
  SimNode b("snp-nfb", "10.244.2.0/24", true);
  itest::connectNodes(a.ns(), b.ns(), "192.168.100.1", "192.168.100.2");
  std::string ip_a, ip_b;
  TestNetns& pa = a.addPod("p1", &ip_a);
  TestNetns& pb = b.addPod("p1", &ip_b);
  std::vector<NodeRoute> routes = {
      {"node-a", *Cidr::parse("10.244.1.0/24"), *Ipv4::parse("192.168.100.1")},
      {"node-b", *Cidr::parse("10.244.2.0/24"), *Ipv4::parse("192.168.100.2")}};
  for (SimNode* n : {&a, &b}) {
    EnterNetns in(n->ns().path());
    ASSERT_TRUE(n->podNetwork().syncNodeRoutes(routes));
  }
  auto server = itest::startReplyServer(pb, 8080, "$SOCAT_PEERADDR");
  std::string err;
  // Pod to pod across nodes: routed, not masqueraded.
  EXPECT_EQ(itest::tcpGet(pa, ip_b, 8080, &err), ip_a) << err;
  // Through a Service on node a whose only endpoint is on node b.
  ProxyConfig cfg;
  cfg.hostname = "node-a";
  cfg.cluster_cidr = *Cidr::parse("10.244.0.0/16");
  auto proxy = makeNftablesProxy(cfg, a.nftables(), nullptr);
  auto svc = clusterIpPort("default", "remote", "", "10.96.0.60", 80);
  {
    EnterNetns in(a.ns().path());
    ASSERT_TRUE(proxy->sync({svc}, {{svc.key(), {endpoint(ip_b.c_str(), 8080, "node-b")}}}));
  }
  EXPECT_EQ(itest::tcpGet(pa, "10.96.0.60", 80, &err), ip_a) << err;
  EXPECT_EQ(a.ns().exec("cat /proc/net/ip_tables_names").out, "");
  {
    EnterNetns in(a.ns().path());
    ASSERT_TRUE(proxy->cleanup());
  }
}

}  // namespace
}  // namespace skiff::netproxy
