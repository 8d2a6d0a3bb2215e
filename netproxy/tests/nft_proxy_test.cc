// The nftables proxier against the stateful fake: structure (kube-proxy's names), where packets
// go (the tracer), and what one sync sends (the recorded batches).

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "skiff/netproxy/nft_rules.h"
#include "skiff/netproxy/service_proxy.h"
#include "skiff/netproxy/testing/fake_nftables.h"
#include "skiff/netproxy/testing/sample_services.h"

namespace skiff::netproxy {
namespace {

using testing::clusterIpPort;
using testing::endpoint;
using testing::FakeNftables;
using testing::ip;
using Verdict = FakeNftables::Outcome::Verdict;

class NftProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cfg_.hostname = "node-a";
    cfg_.cluster_cidr = *Cidr::parse("10.244.0.0/16");
    makeProxy(kDefaultNftShardSize);
  }
  void makeProxy(std::size_t shard_size) {
    NftProxyOptions o;
    o.now = [this] { return now_; };
    o.shard_size = shard_size;
    proxy_ = makeNftablesProxy(cfg_, nft_, nullptr, o);
  }
  SyncResult sync(const std::vector<ServicePort>& ports, const EndpointMap& eps) {
    auto r = proxy_->sync(ports, eps);
    EXPECT_TRUE(r) << (r ? "" : r.error().message());
    return r ? *r : SyncResult{};
  }
  FakeNftables::Outcome nat(const char* src, const char* dst, uint16_t port, uint32_t rnd = 0,
                            const char* hook = "prerouting") {
    FakeNftables::Packet p;
    p.saddr = ip(src);
    p.daddr = ip(dst);
    p.dport = port;
    p.random = rnd;
    p.local_addresses = {ip("192.168.1.10"), ip("127.0.0.1")};
    return nft_.traceAll(nft::Family::Ip, "nat", hook, p);
  }
  FakeNftables::Outcome filter(const char* src, const char* dst, uint16_t port,
                               const char* hook = "forward") {
    FakeNftables::Packet p;
    p.saddr = ip(src);
    p.daddr = ip(dst);
    p.dport = port;
    p.local_addresses = {ip("192.168.1.10"), ip("127.0.0.1")};
    return nft_.traceAll(nft::Family::Ip, "filter", hook, p);
  }
  std::vector<Endpoint> three() {
    return {endpoint("10.244.1.2", 8080, "node-a"), endpoint("10.244.2.3", 8080, "node-b"),
            endpoint("10.244.3.4", 8080, "node-c")};
  }

  ProxyConfig cfg_;
  FakeNftables nft_;
  std::chrono::steady_clock::time_point now_{std::chrono::hours(1)};
  std::unique_ptr<ServiceProxy> proxy_;
};

TEST(NftRulesTest, ChainNamesAreKubeProxys) {
  // Upstream's test vectors (pkg/proxy/nftables, reference §4).
  EXPECT_EQ(nftrules::hashAndTruncate("ns1/svc1/tcp/p80"), "ULMVA6XW-ns1/svc1/tcp/p80");
  EXPECT_EQ(nftrules::hashAndTruncate("ns1/svc1/tcp/p80__10.180.0.1/80").substr(0, 8), "5OJB2KTY");
  auto sp = clusterIpPort("ns1", "svc1", "p80", "172.30.0.41", 80);
  EXPECT_EQ(nftrules::serviceChain(sp), "service-ULMVA6XW-ns1/svc1/tcp/p80");
  EXPECT_EQ(nftrules::endpointChain(sp, endpoint("10.180.0.1", 80)),
            "endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80");
}

TEST_F(NftProxyTest, ClusterIpSpreadsOverEveryEndpointAndMasqueradesOutsiders) {
  auto web = clusterIpPort("default", "web", "http", "10.96.0.20", 80);
  sync({web}, {{web.key(), three()}});
  std::set<std::string> seen;
  for (uint32_t r = 0; r < 3; ++r) {
    auto o = nat("10.244.1.9", "10.96.0.20", 80, r);
    ASSERT_TRUE(o.dnat) << r;
    seen.insert(o.dnat->first.str());
    EXPECT_EQ(o.mark & 0x4000, 0u) << "pod-to-service traffic keeps its source";
  }
  EXPECT_EQ(seen, (std::set<std::string>{"10.244.1.2", "10.244.2.3", "10.244.3.4"}));
  // From the node (outside the cluster CIDR): marked for masquerade.
  EXPECT_EQ(nat("192.168.1.10", "10.96.0.20", 80, 0, "output").mark & 0x4000, 0x4000u);
  // Hairpin: an endpoint reaching itself through the service is masqueraded.
  EXPECT_EQ(nat("10.244.1.2", "10.96.0.20", 80, 0).mark & 0x4000, 0x4000u);
  // Other ports and addresses are not ours.
  EXPECT_FALSE(nat("10.244.1.9", "10.96.0.20", 81).dnat);
}

TEST_F(NftProxyTest, ServiceWithoutEndpointsIsRejectedNotDnated) {
  auto web = clusterIpPort("default", "web", "http", "10.96.0.20", 80);
  web.node_port = 30080;
  sync({web}, {});
  EXPECT_EQ(filter("10.244.1.9", "10.96.0.20", 80).verdict, Verdict::Reject);
  EXPECT_EQ(filter("192.168.1.99", "192.168.1.10", 30080, "input").verdict, Verdict::Reject);
  EXPECT_FALSE(nat("10.244.1.9", "10.96.0.20", 80).dnat);
  EXPECT_EQ(filter("10.244.1.9", "10.96.0.21", 80).verdict, Verdict::Accept);
}

TEST_F(NftProxyTest, NodePortOnLocalAddressesButNotLoopback) {
  auto np = clusterIpPort("default", "np", "", "10.96.0.30", 80);
  np.node_port = 30080;
  sync({np}, {{np.key(), three()}});
  auto o = nat("192.168.1.99", "192.168.1.10", 30080);
  ASSERT_TRUE(o.dnat);
  EXPECT_EQ(o.mark & 0x4000, 0x4000u);  // externalTrafficPolicy Cluster: SNAT
  EXPECT_FALSE(nat("192.168.1.99", "192.168.1.11", 30080).dnat) << "not a local address";
  EXPECT_FALSE(nat("127.0.0.1", "127.0.0.1", 30080, 0, "output").dnat)
      << "no localhost NodePorts in nftables mode (as kube-proxy)";
}

TEST_F(NftProxyTest, ExternalTrafficPolicyLocalKeepsSourceAndUsesLocalEndpointsOnly) {
  auto np = clusterIpPort("default", "np", "", "10.96.0.30", 80);
  np.node_port = 30080;
  np.external_policy_local = true;
  sync({np}, {{np.key(), three()}});
  for (uint32_t r = 0; r < 3; ++r) {
    auto o = nat("192.168.1.99", "192.168.1.10", 30080, r);
    ASSERT_TRUE(o.dnat);
    EXPECT_EQ(o.dnat->first.str(), "10.244.1.2");  // node-a's endpoint only
    EXPECT_EQ(o.mark & 0x4000, 0u);                // client source kept
  }
  // A policy-Local NodePort with no local endpoint drops (the service exists elsewhere).
  sync({np}, {{np.key(), {endpoint("10.244.2.3", 8080, "node-b")}}});
  EXPECT_EQ(filter("192.168.1.99", "192.168.1.10", 30080, "input").verdict, Verdict::Drop);
}

TEST_F(NftProxyTest, ClientIpAffinityChecksSetsBeforeThePick) {
  auto s = clusterIpPort("default", "sticky", "", "10.96.0.40", 80);
  s.affinity_client_ip = true;
  s.affinity_seconds = 600;
  sync({s}, {{s.key(), three()}});
  auto o = nat("10.244.1.9", "10.96.0.40", 80, 1);
  ASSERT_TRUE(o.dnat);
  ASSERT_EQ(o.affinity_updates.size(), 1u);
  const auto* t = nft_.table(nft::Family::Ip, "skiff-svc-0");
  ASSERT_NE(t, nullptr);
  auto set = t->sets.find(o.affinity_updates[0]);
  ASSERT_NE(set, t->sets.end());
  EXPECT_EQ(set->second.spec.kind, nft::SetKind::AffinitySet);
  EXPECT_EQ(set->second.spec.timeout_s, 600u);
}

TEST_F(NftProxyTest, OneChangedServiceSendsOnlyItsOwnObjects) {
  std::vector<ServicePort> ports;
  EndpointMap eps;
  for (int i = 0; i < 100; ++i) {
    std::string cip = "10.96.1." + std::to_string(i + 1);
    auto sp = clusterIpPort("ns", "svc" + std::to_string(i), "http", cip.c_str(), 80);
    eps[sp.key()] = three();
    ports.push_back(sp);
  }
  EXPECT_TRUE(sync(ports, eps).full);
  nft_.clearBatches();
  EXPECT_EQ(sync(ports, eps).chains_written, 0u);
  ASSERT_EQ(nft_.batches().size(), 0u) << "nothing changed, nothing sent";

  eps[ports[50].key()][0] = endpoint("10.244.9.9", 8080, "node-a");
  auto r = sync(ports, eps);
  EXPECT_FALSE(r.full);
  ASSERT_EQ(nft_.batches().size(), 1u);
  EXPECT_EQ(nft_.batches()[0].table, "skiff-svc-0");
  const std::string mine = "ns/svc50/tcp/http";
  for (const nft::Op& op : nft_.batches()[0].ops) {
    std::string text = nft::nftText(nft::Batch{nft::Family::Ip, "skiff", {op}});
    EXPECT_NE(text.find(mine), std::string::npos) << "touches another service: " << text;
  }
  // The old endpoint's chain is gone, the new one is there; svc50's map element is unchanged.
  EXPECT_EQ(r.chains_removed, 1u);
  EXPECT_EQ(r.elements_added + r.elements_removed, 0u);
  const auto* t = nft_.table(nft::Family::Ip, "skiff-svc-0");
  EXPECT_TRUE(t->chains.count(nftrules::endpointChain(ports[50], eps[ports[50].key()][0])));
  EXPECT_FALSE(t->chains.count(nftrules::endpointChain(ports[50], three()[0])));
  EXPECT_EQ(nat("10.244.1.9", "10.96.1.51", 80, 0).dnat->first.str(), "10.244.9.9");

  // Removing a Service removes its element and chains, nothing else.
  ports.erase(ports.begin() + 10);
  std::size_t chains_before = t->chains.size();
  r = sync(ports, eps);
  EXPECT_EQ(r.elements_removed, 1u);
  EXPECT_EQ(nft_.table(nft::Family::Ip, "skiff-svc-0")->chains.size(), chains_before - 4);
  EXPECT_FALSE(nat("10.244.1.9", "10.96.1.11", 80).dnat);
}

TEST_F(NftProxyTest, PeriodicFullSyncRepairsDriftAndKeepsOtherTables) {
  auto web = clusterIpPort("default", "web", "http", "10.96.0.20", 80);
  nft::Batch other{nft::Family::Ip, "filter", {nft::op::AddTable{}}};
  ASSERT_TRUE(nft_.apply(other));
  sync({web}, {{web.key(), three()}});
  ASSERT_NE(nft_.table(nft::Family::Ip, "filter"), nullptr);
  nft_.flushRuleset();  // someone ran `nft flush ruleset`
  EXPECT_FALSE(nat("10.244.1.9", "10.96.0.20", 80).dnat);
  EXPECT_FALSE(sync({web}, {{web.key(), three()}}).full) << "before the sync period";
  now_ += std::chrono::seconds(30);
  EXPECT_TRUE(sync({web}, {{web.key(), three()}}).full);
  EXPECT_TRUE(nat("10.244.1.9", "10.96.0.20", 80).dnat);
}

TEST_F(NftProxyTest, FailedBatchChangesNothingAndNextSyncReplacesTheTable) {
  auto web = clusterIpPort("default", "web", "http", "10.96.0.20", 80);
  sync({web}, {{web.key(), three()}});
  nft_.failNextApply(Error(ErrorCode::Internal, "injected"));
  auto api = clusterIpPort("default", "api", "http", "10.96.0.21", 80);
  EXPECT_FALSE(proxy_->sync({web, api}, {{web.key(), three()}, {api.key(), three()}}));
  EXPECT_FALSE(nat("10.244.1.9", "10.96.0.21", 80).dnat);
  auto r = sync({web, api}, {{web.key(), three()}, {api.key(), three()}});
  EXPECT_TRUE(r.full);
  EXPECT_TRUE(nat("10.244.1.9", "10.96.0.21", 80).dnat);
}

TEST_F(NftProxyTest, CleanupDeletesOnlyOurTable) {
  ASSERT_TRUE(nft_.apply(nft::Batch{nft::Family::Ip, "nat", {nft::op::AddTable{}}}));
  auto web = clusterIpPort("default", "web", "http", "10.96.0.20", 80);
  sync({web}, {{web.key(), three()}});
  ASSERT_TRUE(proxy_->cleanup());
  EXPECT_EQ(nft_.table(nft::Family::Ip, "skiff"), nullptr);
  EXPECT_EQ(nft_.table(nft::Family::Ip, "skiff-svc-0"), nullptr);
  EXPECT_NE(nft_.table(nft::Family::Ip, "nat"), nullptr);
  ASSERT_TRUE(proxy_->cleanup()) << "idempotent";
}

// Services named svc0..svc<n-1> in namespace ns, ClusterIP 10.96.<i/250>.<i%250+1>, three
// endpoints each.
std::vector<ServicePort> manyPorts(int n, EndpointMap& eps, const std::vector<Endpoint>& list) {
  std::vector<ServicePort> ports;
  for (int i = 0; i < n; ++i) {
    std::string cip = "10.96." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
    auto sp = clusterIpPort("ns", "svc" + std::to_string(i), "http", cip.c_str(), 80);
    eps[sp.key()] = list;
    ports.push_back(sp);
  }
  return ports;
}

TEST_F(NftProxyTest, ServicesAreShardedAndAOneServiceChangeTouchesOnlyItsShard) {
  makeProxy(4);
  EndpointMap eps;
  auto ports = manyPorts(10, eps, three());
  EXPECT_TRUE(sync(ports, eps).full);
  // 10 Services by 4: shards 0..2, plus the main table; the pod network is not ours.
  EXPECT_EQ(nft_.tableNames(nft::Family::Ip),
            (std::vector<std::string>{"skiff", "skiff-svc-0", "skiff-svc-1", "skiff-svc-2"}));
  ASSERT_EQ(nft_.transactions().size(), 1u) << "one transaction for every table";
  const auto* main = nft_.table(nft::Family::Ip, "skiff");
  EXPECT_FALSE(main->sets.count("service-ips")) << "translation lives in the shards";
  EXPECT_TRUE(main->sets.count("no-endpoint-services"));
  // Every Service answers through its shard's own dstnat chains.
  for (int i = 0; i < 10; ++i) {
    std::string cip = "10.96.0." + std::to_string(i + 1);
    auto o = nat("10.244.1.9", cip.c_str(), 80, 1);
    ASSERT_TRUE(o.dnat) << cip;
    EXPECT_EQ(o.dnat->first.str(), "10.244.2.3");
  }
  // Hairpin: marked in the shard, masqueraded by the main table's postrouting.
  EXPECT_EQ(nat("10.244.1.2", "10.96.0.9", 80, 0).mark & 0x4000, 0x4000u);

  // One endpoint of svc9 (sorted 'svc9' is last: shard 2) changes: one table in the batch.
  nft_.clearBatches();
  eps[ports[9].key()][0] = endpoint("10.244.9.9", 8080, "node-a");
  auto r = sync(ports, eps);
  EXPECT_FALSE(r.full);
  EXPECT_EQ(r.nft_tables, 1u);
  ASSERT_EQ(nft_.transactions().size(), 1u);
  ASSERT_EQ(nft_.transactions()[0].size(), 1u);
  EXPECT_EQ(nft_.transactions()[0][0].table, "skiff-svc-2");

  // Scaling svc9 to zero: its shard loses the service-ips element, the main table gains the
  // no-endpoint element, in the same transaction.
  nft_.clearBatches();
  eps.erase(ports[9].key());
  r = sync(ports, eps);
  ASSERT_EQ(nft_.transactions().size(), 1u);
  std::set<std::string> touched;
  for (const auto& b : nft_.transactions()[0]) touched.insert(b.table);
  EXPECT_EQ(touched, (std::set<std::string>{"skiff", "skiff-svc-2"}));
  EXPECT_EQ(filter("10.244.1.9", "10.96.0.10", 80).verdict, Verdict::Reject);
}

TEST_F(NftProxyTest, ShardsAreStableAndEmptyShardTablesGo) {
  makeProxy(2);
  EndpointMap eps;
  auto ports = manyPorts(4, eps, three());  // svc0 svc1 | svc2 svc3
  sync(ports, eps);
  EXPECT_EQ(nft_.tableNames(nft::Family::Ip).size(), 3u);
  // svc0 goes: shard 0 keeps svc1; a new Service fills the hole in shard 0, not a new shard.
  ports.erase(ports.begin());
  auto fresh = clusterIpPort("ns", "new", "http", "10.96.3.1", 80);
  eps[fresh.key()] = three();
  ports.push_back(fresh);
  nft_.clearBatches();
  sync(ports, eps);
  ASSERT_EQ(nft_.transactions().size(), 1u);
  ASSERT_EQ(nft_.transactions()[0].size(), 1u);
  EXPECT_EQ(nft_.transactions()[0][0].table, "skiff-svc-0");
  EXPECT_TRUE(nat("10.244.1.9", "10.96.3.1", 80).dnat);
  EXPECT_FALSE(nat("10.244.1.9", "10.96.0.1", 80).dnat);
  // svc2 and svc3 go: shard 1's table is deleted.
  ports.erase(std::remove_if(
                  ports.begin(), ports.end(),
                  [](const ServicePort& p) { return p.id.name == "svc2" || p.id.name == "svc3"; }),
              ports.end());
  sync(ports, eps);
  EXPECT_EQ(nft_.tableNames(nft::Family::Ip), (std::vector<std::string>{"skiff", "skiff-svc-0"}));
  // A Service after that opens shard 1 again, with a fresh table.
  auto more = clusterIpPort("ns", "more", "http", "10.96.3.2", 80);
  eps[more.key()] = three();
  ports.push_back(more);
  sync(ports, eps);
  EXPECT_TRUE(nat("10.244.1.9", "10.96.3.2", 80).dnat);
  EXPECT_NE(nft_.table(nft::Family::Ip, "skiff-svc-1"), nullptr);
}

TEST_F(NftProxyTest, FullResyncRecreatesADeletedShardAndDropsStrayShards) {
  makeProxy(2);
  EndpointMap eps;
  auto ports = manyPorts(4, eps, three());
  sync(ports, eps);
  // Someone deletes shard 1; a stray shard table of an earlier run appears; `skiff-podnet`
  // and other tables are not ours to touch.
  ASSERT_TRUE(nft_.apply(nft::Batch{nft::Family::Ip, "skiff-svc-1", {nft::op::DeleteTable{}}}));
  for (const char* t : {"skiff-svc-7", "skiff-podnet", "skiff-svc-x"}) {
    ASSERT_TRUE(nft_.apply(nft::Batch{nft::Family::Ip, t, {nft::op::AddTable{}}}));
  }
  EXPECT_FALSE(nat("10.244.1.9", "10.96.0.3", 80).dnat);
  now_ += std::chrono::seconds(30);
  EXPECT_TRUE(sync(ports, eps).full);
  EXPECT_TRUE(nat("10.244.1.9", "10.96.0.3", 80).dnat);
  EXPECT_EQ(nft_.tableNames(nft::Family::Ip),
            (std::vector<std::string>{"skiff", "skiff-podnet", "skiff-svc-0", "skiff-svc-1",
                                      "skiff-svc-x"}));
  ASSERT_TRUE(proxy_->cleanup());
  EXPECT_EQ(nft_.tableNames(nft::Family::Ip),
            (std::vector<std::string>{"skiff-podnet", "skiff-svc-x"}));
}

TEST_F(NftProxyTest, LargeFullSyncGoesTableByTableIncrementalOnesStayOneTransaction) {
  NftProxyOptions o;
  o.now = [this] { return now_; };
  o.shard_size = 4;
  o.max_full_sync_transaction_ops = 100;
  proxy_ = makeNftablesProxy(cfg_, nft_, nullptr, o);
  EndpointMap eps;
  auto ports = manyPorts(10, eps, three());
  auto r = sync(ports, eps);
  EXPECT_EQ(r.nft_transactions, 4u);
  ASSERT_EQ(nft_.transactions().size(), 4u);
  EXPECT_EQ(nft_.transactions().back()[0].table, "skiff") << "the main table last";
  for (int i = 0; i < 10; ++i) {
    std::string cip = "10.96.0." + std::to_string(i + 1);
    EXPECT_TRUE(nat("10.244.1.9", cip.c_str(), 80).dnat) << cip;
  }
  // A change to two Services in two shards and a new one without endpoints: one transaction.
  nft_.clearBatches();
  eps[ports[0].key()][0] = endpoint("10.244.9.9", 8080, "node-a");
  eps[ports[9].key()][0] = endpoint("10.244.9.8", 8080, "node-a");
  ports.push_back(clusterIpPort("ns", "zero", "http", "10.96.5.1", 80));
  r = sync(ports, eps);
  EXPECT_FALSE(r.full);
  EXPECT_EQ(r.nft_transactions, 1u);
  ASSERT_EQ(nft_.transactions().size(), 1u);
  EXPECT_EQ(filter("10.244.1.9", "10.96.5.1", 80).verdict, Verdict::Reject);
  // The default keeps a small cluster's full sync in one transaction.
  makeProxy(4);
  nft_.clearBatches();
  EXPECT_EQ(sync(ports, eps).nft_transactions, 1u);
}

TEST(NftShardTest, NamesAndAssignment) {
  EXPECT_EQ(nftrules::shardTable("skiff", 3), "skiff-svc-3");
  EXPECT_EQ(nftrules::shardOf("skiff", "skiff-svc-12"), 12u);
  for (const char* other :
       {"skiff", "skiff-podnet", "skiff-svc-", "skiff-svc-01", "skiff-svc-1a", "other-svc-1"}) {
    EXPECT_FALSE(nftrules::shardOf("skiff", other)) << other;
  }
  nftrules::ShardAssignment a(2);
  EXPECT_EQ(a.assign("ns/a"), 0u);
  EXPECT_EQ(a.assign("ns/b"), 0u);
  EXPECT_EQ(a.assign("ns/c"), 1u);
  EXPECT_EQ(a.assign("ns/a"), 0u) << "stable";
  EXPECT_FALSE(a.release("ns/a"));
  EXPECT_EQ(a.assign("ns/d"), 0u) << "lowest shard with room";
  EXPECT_TRUE(a.release("ns/c"));
  EXPECT_EQ(a.shards(), (std::vector<std::size_t>{0}));
}

TEST(FakeNftablesTest, BatchIsAllOrNothingAndChecksReferences) {
  FakeNftables f;
  nft::Batch b{nft::Family::Ip, "t", {nft::op::AddTable{}, nft::op::AddChain{{"a", {}}}}};
  ASSERT_TRUE(f.apply(b));
  nft::Batch bad{
      nft::Family::Ip,
      "t",
      {nft::op::AddChain{{"b", {}}},
       nft::op::AddRule{"a", {nft::stmt::Verdict{nft::stmt::VerdictKind::Jump, "nope"}}}}};
  auto r = f.apply(bad);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(ErrorCode::NotFound)) << r.error().message();
  EXPECT_FALSE(f.table(nft::Family::Ip, "t")->chains.count("b")) << "nothing of a failed batch";
  nft::Batch jump{nft::Family::Ip,
                  "t",
                  {nft::op::AddChain{{"b", {}}},
                   nft::op::AddRule{"a", {nft::stmt::Verdict{nft::stmt::VerdictKind::Jump, "b"}}}}};
  ASSERT_TRUE(f.apply(jump));
  EXPECT_FALSE(f.apply(nft::Batch{nft::Family::Ip, "t", {nft::op::DeleteChain{"b"}}}))
      << "b is still jumped to";
  EXPECT_TRUE(f.apply(
      nft::Batch{nft::Family::Ip, "t", {nft::op::FlushChain{"a"}, nft::op::DeleteChain{"b"}}}));
  EXPECT_FALSE(f.apply(nft::Batch{nft::Family::Ip, "u", {nft::op::DeleteTable{}}}));
}

TEST(FakeNftablesTest, ElementsConflictAndDeleteLikeTheKernel) {
  FakeNftables f;
  auto spec = nftrules::mapSpec("service-ips");
  nft::Element e;
  e.ip = ip("10.96.0.1");
  e.port = 443;
  e.verdict = nft::stmt::Verdict{nft::stmt::VerdictKind::Drop, ""};
  ASSERT_TRUE(f.apply(
      nft::Batch{nft::Family::Ip,
                 "t",
                 {nft::op::AddTable{}, nft::op::AddSet{spec}, nft::op::AddElements{spec, {e}}}}));
  ASSERT_TRUE(f.apply(nft::Batch{nft::Family::Ip, "t", {nft::op::AddElements{spec, {e}}}}))
      << "the same element again is fine";
  auto other = e;
  other.verdict = nft::stmt::Verdict{nft::stmt::VerdictKind::Accept, ""};
  auto r = f.apply(nft::Batch{nft::Family::Ip, "t", {nft::op::AddElements{spec, {other}}}});
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(ErrorCode::AlreadyExists));
  ASSERT_TRUE(f.apply(nft::Batch{nft::Family::Ip, "t", {nft::op::DeleteElements{spec, {e}}}}));
  EXPECT_FALSE(f.apply(nft::Batch{nft::Family::Ip, "t", {nft::op::DeleteElements{spec, {e}}}}));
}

}  // namespace
}  // namespace skiff::netproxy
