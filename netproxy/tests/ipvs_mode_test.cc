// The IPVS mode as a ServiceProxy: virtual servers through the fake IPVS peer, the dummy
// interface, and masquerading through the nftables table `ip skiff-ipvs`.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "skiff/netproxy/ipvs/ipvs_mode.h"
#include "skiff/netproxy/ipvs/ipvs_service_proxy.h"
#include "skiff/netproxy/testing/fake_ipvs_peer.h"
#include "skiff/netproxy/testing/fake_netlink.h"
#include "skiff/netproxy/testing/fake_nftables.h"
#include "skiff/netproxy/testing/sample_services.h"

namespace skiff::netproxy::ipvs {
namespace {

using testing::ip;

struct Fixture {
  testing::FakeNetworkWorld world;
  testing::FakeNetlink nl{world, ""};
  testing::FakeIpvsPeer peer;
  testing::FakeNftables nft;
  ProxyConfig cfg;
  Fixture() {
    cfg.hostname = "node-a";
    cfg.cluster_cidr = *Cidr::parse("10.244.0.0/16");
  }
};

std::vector<ServicePort> services() {
  ServicePort web;
  web.id = {"default", "web", "http"};
  web.cluster_ip = ip("10.96.0.20");
  web.port = 80;
  web.node_port = 30080;
  ServicePort local = web;
  local.id.name = "local";
  local.cluster_ip = ip("10.96.0.30");
  local.node_port = 30090;
  local.external_ips = {ip("203.0.113.7")};
  local.external_policy_local = true;
  return {web, local};
}

EndpointMap endpoints(const std::vector<ServicePort>& ports) {
  EndpointMap eps;
  Endpoint a, b;
  a.ip = ip("10.244.1.5");
  b.ip = ip("10.244.2.6");
  a.port = b.port = 8080;
  a.node_name = "node-a";
  b.node_name = "node-b";
  eps[ports[0].key()] = {a, b};
  eps[ports[1].key()] = {a};
  return eps;
}

TEST(IpvsModeTest, ProgramsVirtualServersAndMasqueradesThroughNftablesMaps) {
  Fixture f;
  IpvsModeOptions o;
  o.node_ips = {ip("192.168.1.10")};
  auto proxy = makeIpvsProxy(f.cfg, f.peer, f.nl, f.nft, o);
  ASSERT_TRUE(proxy) << proxy.error().message();
  auto ports = services();
  auto eps = endpoints(ports);
  auto r = (*proxy)->sync(ports, eps);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r->full);
  // Virtual servers: both ClusterIPs, the external IP, both NodePorts on the node address.
  EXPECT_EQ(f.peer.services.size(), 5u);
  ASSERT_TRUE(f.peer.services.count("10.96.0.20:80/TCP"));
  EXPECT_EQ(f.peer.services["10.96.0.20:80/TCP"].dests.size(), 2u);
  EXPECT_EQ(f.peer.services["192.168.1.10:30090/TCP"].dests.size(), 1u);  // Local: this node's
  EXPECT_EQ(f.world.ns("")->sysctls["net/ipv4/vs/conntrack"], "1");

  const auto* t = f.nft.table(nft::Family::Ip, kMasqueradeTable);
  ASSERT_NE(t, nullptr);
  auto elems = [&](const char* set) {
    std::set<std::string> out;
    for (const auto& [e, v] : t->sets.at(set).elements) {
      out.insert(fmt::format("{} {} {} {}", e.ip.str(), protocolName(e.protocol), e.port,
                             v ? v->chain : "-"));
    }
    return out;
  };
  EXPECT_EQ(elems("cluster-ips"), (std::set<std::string>{"10.96.0.20 tcp 80 mark-for-masquerade",
                                                         "10.96.0.30 tcp 80 mark-for-masquerade"}));
  // externalTrafficPolicy Local keeps the client address: no mark for its external IP/NodePort.
  EXPECT_TRUE(elems("external-ips").empty());
  EXPECT_EQ(elems("nodeports"), (std::set<std::string>{"0.0.0.0 tcp 30080 mark-for-masquerade"}));
  EXPECT_EQ(t->chains.at("hairpin").rules.size(), 2u);  // one per endpoint address

  // Nothing changed: no nftables batch; the table gone (nft flush ruleset): written again.
  f.nft.clearBatches();
  r = (*proxy)->sync(ports, eps);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->full);
  EXPECT_TRUE(f.nft.batches().empty());
  f.nft.flushRuleset();
  ASSERT_TRUE((*proxy)->sync(ports, eps));
  EXPECT_NE(f.nft.table(nft::Family::Ip, kMasqueradeTable), nullptr);

  ASSERT_TRUE((*proxy)->cleanup());
  EXPECT_TRUE(f.peer.services.empty());
  EXPECT_EQ(f.nft.table(nft::Family::Ip, kMasqueradeTable), nullptr);
  auto link = f.nl.getLink(kDummyInterface);
  ASSERT_TRUE(link);
  EXPECT_FALSE(*link);
}

TEST(IpvsModeTest, AKernelWithoutIpvsIsNotFound) {
  Fixture f;
  f.peer.available = false;
  auto proxy = makeIpvsProxy(f.cfg, f.peer, f.nl, f.nft);
  ASSERT_FALSE(proxy);
  EXPECT_EQ(proxy.error().code(), ErrorCode::NotFound);
  EXPECT_TRUE(f.nft.batches().empty());
}

}  // namespace
}  // namespace skiff::netproxy::ipvs
