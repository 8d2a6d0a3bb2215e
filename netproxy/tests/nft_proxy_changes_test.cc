// The nftables proxier driven by named changes (ServiceTracker's path): it must leave the same
// tables as a sync handed everything, while visiting only the changed Services.

#include <gtest/gtest.h>

#include <random>
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

std::string dumpAll(const FakeNftables& nft) {
  std::string out;
  for (const std::string& t : nft.tableNames(nft::Family::Ip)) out += nft.dump(nft::Family::Ip, t);
  return out;
}

class NftProxyChangesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cfg_.hostname = "node-a";
    cfg_.cluster_cidr = *Cidr::parse("10.244.0.0/16");
    NftProxyOptions o;
    o.now = [this] { return now_; };
    o.shard_size = 3;
    by_changes_ = makeNftablesProxy(cfg_, a_, nullptr, o);
    by_walk_ = makeNftablesProxy(cfg_, b_, nullptr, o);
  }
  // Syncs both proxies: one with the named changes, one with everything.
  SyncResult syncBoth(const std::set<std::string>& changed, bool all = false) {
    ServiceChanges c;
    c.all = all;
    c.services = changed;
    auto r = by_changes_->syncChanges(view_, c);
    EXPECT_TRUE(r) << (r ? "" : r.error().message());
    auto w = by_walk_->sync(view_.allPorts(), view_.endpoints);
    EXPECT_TRUE(w) << (w ? "" : w.error().message());
    EXPECT_EQ(dumpAll(a_), dumpAll(b_));
    return r ? *r : SyncResult{};
  }
  ServicePort port(int svc, int port_no) {
    std::string cip = "10.96.0." + std::to_string(svc + 1);
    return clusterIpPort("ns", "svc" + std::to_string(svc), "p" + std::to_string(port_no),
                         cip.c_str(), static_cast<uint16_t>(80 + port_no));
  }
  std::vector<Endpoint> endpoints(int n, int seed) {
    std::vector<Endpoint> out;
    for (int i = 0; i < n; ++i) {
      std::string ip = "10.244." + std::to_string(seed % 200) + "." + std::to_string(i + 1);
      out.push_back(endpoint(ip.c_str(), 8080, i % 2 ? "node-a" : "node-b"));
    }
    return out;
  }

  ProxyConfig cfg_;
  FakeNftables a_, b_;
  std::chrono::steady_clock::time_point now_{std::chrono::hours(1)};
  std::unique_ptr<ServiceProxy> by_changes_, by_walk_;
  ServiceView view_;
};

TEST_F(NftProxyChangesTest, NamedChangesLeaveTheSameTablesAsWholeSyncs) {
  for (int s = 0; s < 12; ++s) {
    ServicePort p = port(s, 0);
    view_.ports["ns/svc" + std::to_string(s)].push_back(p);
    view_.endpoints[p.key()] = endpoints(3, s);
  }
  EXPECT_TRUE(syncBoth({}, true).full);

  std::mt19937 rng(7);
  int next_svc = 12;
  for (int step = 0; step < 200; ++step) {
    std::vector<std::string> names;
    for (const auto& [n, _] : view_.ports) names.push_back(n);
    std::sort(names.begin(), names.end());
    std::set<std::string> changed;
    int what = static_cast<int>(rng() % 6);
    std::string victim = names.empty() ? "" : names[rng() % names.size()];
    if (names.empty()) what = 0;
    std::vector<ServicePort> none;
    auto& ports = names.empty() ? none : view_.ports[victim];
    if (what == 0) {  // a new Service, maybe with endpoints
      ServicePort p = port(next_svc, 0);
      std::string name = "ns/svc" + std::to_string(next_svc++);
      view_.ports[name].push_back(p);
      if (rng() % 2) view_.endpoints[p.key()] = endpoints(1 + static_cast<int>(rng() % 4), step);
      changed.insert(name);
    } else if (what == 1) {  // deleted, with its endpoints
      for (const ServicePort& p : ports) view_.endpoints.erase(p.key());
      view_.ports.erase(victim);
      changed.insert(victim);
    } else if (what == 2) {  // endpoints replaced or scaled to zero
      const ServicePort& p = ports[rng() % ports.size()];
      int n = static_cast<int>(rng() % 4);
      if (n == 0) {
        view_.endpoints.erase(p.key());
      } else {
        view_.endpoints[p.key()] = endpoints(n, step);
      }
      changed.insert(victim);
    } else if (what == 3) {  // a second port appears
      int svc = std::stoi(victim.substr(victim.find("svc") + 3));
      ServicePort p = port(svc, static_cast<int>(ports.size()));
      ports.push_back(p);
      view_.endpoints[p.key()] = endpoints(2, step);
      changed.insert(victim);
    } else if (what == 4 && ports.size() > 1) {  // a port goes
      view_.endpoints.erase(ports.back().key());
      ports.pop_back();
      changed.insert(victim);
    } else {  // affinity on: the same Service, other rules
      for (ServicePort& p : ports) p.affinity_client_ip = !p.affinity_client_ip;
      changed.insert(victim);
    }
    SyncResult r = syncBoth(changed);
    ASSERT_FALSE(r.full) << "step " << step;
    ASSERT_EQ(dumpAll(a_), dumpAll(b_)) << "step " << step << " kind " << what;
  }
  // And both equal what a fresh proxy writes for the final Services (modulo shard packing,
  // which a fresh start redoes in name order: compare what packets get instead).
  FakeNftables c;
  NftProxyOptions o;
  o.shard_size = 3;
  auto fresh = makeNftablesProxy(cfg_, c, nullptr, o);
  ASSERT_TRUE(fresh->sync(view_.allPorts(), view_.endpoints));
  for (const auto& [name, ports] : view_.ports) {
    for (const ServicePort& p : ports) {
      FakeNftables::Packet pkt;
      pkt.saddr = *Ipv4::parse("10.244.250.9");
      pkt.daddr = p.cluster_ip;
      pkt.dport = p.port;
      auto x = a_.traceAll(nft::Family::Ip, "nat", "prerouting", pkt);
      auto y = c.traceAll(nft::Family::Ip, "nat", "prerouting", pkt);
      EXPECT_EQ(x.dnat.has_value(), y.dnat.has_value()) << p.key();
      if (x.dnat && y.dnat) {
        EXPECT_EQ(x.dnat->first, y.dnat->first) << p.key();
      }
    }
  }
}

TEST_F(NftProxyChangesTest, AChangeVisitsOnlyTheNamedServices) {
  for (int s = 0; s < 9; ++s) {
    ServicePort p = port(s, 0);
    view_.ports["ns/svc" + std::to_string(s)].push_back(p);
    view_.endpoints[p.key()] = endpoints(3, s);
  }
  syncBoth({}, true);
  // Nothing named: nothing sent, even though svc4's endpoints differ (the tracker would have
  // named it; the proxy trusts the changes it is given).
  view_.endpoints[port(4, 0).key()] = endpoints(2, 99);
  a_.clearBatches();
  ServiceChanges none;
  none.all = false;
  auto r = by_changes_->syncChanges(view_, none);
  ASSERT_TRUE(r);
  EXPECT_TRUE(a_.batches().empty());
  EXPECT_EQ(r->service_ports, 9u);
  // Named: only svc4's objects, in its shard's table.
  a_.clearBatches();
  r = by_changes_->syncChanges(view_, ServiceChanges{false, {"ns/svc4"}});
  ASSERT_TRUE(r);
  ASSERT_EQ(a_.batches().size(), 1u);
  for (const nft::Op& op : a_.batches()[0].ops) {
    std::string text = nft::nftText(nft::Batch{nft::Family::Ip, "skiff", {op}});
    EXPECT_NE(text.find("ns/svc4/"), std::string::npos) << "touches another service: " << text;
  }
  // The period elapsed: the next sync is a full one whatever it is told.
  now_ += std::chrono::seconds(31);
  r = by_changes_->syncChanges(view_, ServiceChanges{false, {}});
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->full);
}

TEST_F(NftProxyChangesTest, AFailedSyncMakesTheNextOneFull) {
  ServicePort p = port(0, 0);
  view_.ports["ns/svc0"].push_back(p);
  view_.endpoints[p.key()] = endpoints(2, 1);
  syncBoth({}, true);
  a_.failNextApply(Error(ErrorCode::Internal, "netlink: no buffer space"));
  view_.endpoints[p.key()] = endpoints(1, 2);
  EXPECT_FALSE(by_changes_->syncChanges(view_, ServiceChanges{false, {"ns/svc0"}}));
  auto r = by_changes_->syncChanges(view_, ServiceChanges{false, {}});
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->full) << "the state is unknown after a failure: everything is rewritten";
  ASSERT_TRUE(by_walk_->sync(view_.allPorts(), view_.endpoints));
  EXPECT_EQ(dumpAll(a_), dumpAll(b_));
}

}  // namespace
}  // namespace skiff::netproxy
