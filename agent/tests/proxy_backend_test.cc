// The agent's proxy mode choice and factory: --proxy-mode ipvs starts the IPVS proxy when the
// IPVS generic netlink family resolves, and falls back to nftables with the reason otherwise.
#include "../src/proxy_backend.h"

#include <gtest/gtest.h>

#include "skiff/netproxy/ipvs/ipvs_mode.h"
#include "skiff/netproxy/nft_rules.h"
#include "skiff/netproxy/testing/fake_ipvs_peer.h"
#include "skiff/netproxy/testing/fake_netlink.h"
#include "skiff/netproxy/testing/fake_nftables.h"

namespace skiff::agent {
namespace {

namespace np = skiff::netproxy;

class EmptyHost final : public np::BackendProbe {
 public:
  Result<std::string> nftSave() override { return std::string(); }
  Result<std::string> legacySave() override { return std::string(); }
};

struct World {
  np::testing::FakeNetworkWorld net;
  np::testing::FakeNetlink nl{net, ""};
  np::testing::FakeIpvsPeer peer;
  np::testing::FakeNftables nft;
  EmptyHost probe;
  AgentConfig cfg;
  World() {
    cfg.proxy_mode = "ipvs";
    cfg.node_ip = "192.168.1.10";
  }
  ProxySeams seams() { return {nullptr, &nft, nullptr, &nl, &peer}; }
};

np::ProxyConfig proxyConfig() {
  np::ProxyConfig c;
  c.hostname = "node-a";
  c.cluster_cidr = *np::Cidr::parse("10.244.0.0/16");
  return c;
}

std::vector<np::ServicePort> oneService() {
  np::ServicePort sp;
  sp.id = {"default", "web", "http"};
  sp.cluster_ip = *np::Ipv4::parse("10.96.0.20");
  sp.port = 80;
  sp.node_port = 30080;
  return {sp};
}

TEST(ProxyBackendTest, IpvsModeStartsTheIpvsProxyWhenTheFamilyResolves) {
  World w;
  auto b = chooseProxyBackend(w.cfg.proxy_mode, ok(), &w.peer, w.probe);
  ASSERT_TRUE(b) << b.error().message();
  EXPECT_EQ(b->mode, np::ProxyMode::Ipvs);
  EXPECT_NE(b->reason.find("IPVS generic netlink family resolved"), std::string::npos);
  w.cfg.ipvs_scheduler = "lc";
  auto proxy = makeModeProxy(*b, proxyConfig(), w.cfg, w.seams());
  ASSERT_TRUE(proxy) << proxy.error().message();
  ASSERT_TRUE((*proxy)->sync(oneService(), {}));
  // Virtual servers through the IPVS family (ClusterIP and the NodePort on the node address),
  // the masquerade table in nftables, no nftables-mode tables.
  ASSERT_EQ(w.peer.services.size(), 2u);
  EXPECT_EQ(w.peer.services["10.96.0.20:80/TCP"].scheduler, "lc");
  EXPECT_TRUE(w.peer.services.count("192.168.1.10:30080/TCP"));
  EXPECT_EQ(w.nft.tableNames(np::nft::Family::Ip),
            std::vector<std::string>{np::ipvs::kMasqueradeTable});
}

TEST(ProxyBackendTest, WithoutIpvsTheChoiceFallsBackToNftablesAndSaysWhy) {
  World w;
  w.peer.available = false;
  auto b = chooseProxyBackend(w.cfg.proxy_mode, ok(), &w.peer, w.probe);
  ASSERT_TRUE(b) << b.error().message();
  EXPECT_EQ(b->mode, np::ProxyMode::Nftables);
  EXPECT_NE(b->reason.find("--proxy-mode ipvs: the kernel has no IPVS ("), std::string::npos)
      << b->reason;
  EXPECT_NE(b->reason.find("falling back to nftables"), std::string::npos) << b->reason;
  auto proxy = makeModeProxy(*b, proxyConfig(), w.cfg, w.seams());
  ASSERT_TRUE(proxy) << proxy.error().message();
  ASSERT_TRUE((*proxy)->sync(oneService(), {}));
  EXPECT_TRUE(w.peer.log.empty()) << "no IPVS request";
  EXPECT_NE(w.nft.table(np::nft::Family::Ip, np::nftrules::kTable), nullptr);
  // No generic netlink socket at all reads the same way.
  b = chooseProxyBackend("ipvs", ok(), nullptr, w.probe);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->mode, np::ProxyMode::Nftables);
  // Without nf_tables either: iptables.
  Result<void> no_nft = Error(ErrorCode::Unavailable, "open nfnetlink socket: not supported");
  b = chooseProxyBackend("ipvs", no_nft, &w.peer, w.probe);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->mode, np::ProxyMode::Iptables);
}

TEST(ProxyBackendTest, OtherModesDoNotLookIpvsUp) {
  World w;
  auto b = chooseProxyBackend("nftables", ok(), &w.peer, w.probe);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->mode, np::ProxyMode::Nftables);
  EXPECT_EQ(chooseProxyBackend("auto", ok(), &w.peer, w.probe)->mode, np::ProxyMode::Nftables);
  EXPECT_FALSE(chooseProxyBackend("userspace", ok(), &w.peer, w.probe));
}

}  // namespace
}  // namespace skiff::agent
