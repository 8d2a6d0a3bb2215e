// The IPVS mode's dummy interface around the proxier: addresses bound while their Services
// exist, removed after, and an earlier run's found again after a restart.
#include <gtest/gtest.h>

#include "skiff/netproxy/ipvs/ipvs_service_proxy.h"
#include "skiff/netproxy/testing/fake_ipvs_peer.h"
#include "skiff/netproxy/testing/fake_netlink.h"
#include "skiff/netproxy/testing/sample_services.h"

namespace skiff::netproxy::ipvs {
namespace {

using testing::FakeIpvsPeer;
using testing::ip;
using testing::webPort;

TEST(IpvsServiceProxyTest, ClusterIpsLiveOnTheDummyInterfaceWhileTheirServicesDo) {
  testing::FakeNetworkWorld world;
  testing::FakeNetlink nl(world, "");
  FakeIpvsPeer peer;
  auto k = openIpvs(peer);
  ASSERT_TRUE(k);
  IpvsOptions opts;
  opts.node_ips = {ip("192.168.1.10")};
  auto proxy = IpvsServiceProxy::create(**k, nl, opts);
  ASSERT_TRUE(proxy) << proxy.error().message();
  auto a = webPort(30080);
  auto b = webPort();
  b.id.name = "api";
  b.cluster_ip = ip("10.96.0.30");
  b.external_ips = {ip("203.0.113.7")};
  ASSERT_TRUE((*proxy)->sync({a, b}, {}));
  auto link = nl.getLink(kDummyInterface);
  ASSERT_TRUE(link && *link);
  EXPECT_EQ((*link)->kind, "dummy");
  auto addrs = nl.listAddresses(kDummyInterface);
  ASSERT_TRUE(addrs);
  std::set<Ipv4> got;
  for (const Cidr& c : *addrs) {
    EXPECT_EQ(c.prefix, 32);
    got.insert(c.addr);
  }
  EXPECT_EQ(got, (std::set<Ipv4>{ip("10.96.0.20"), ip("10.96.0.30"), ip("203.0.113.7")}));
  // Service b goes: its addresses and virtual servers go; a's stay.
  ASSERT_TRUE((*proxy)->sync({a}, {}));
  addrs = nl.listAddresses(kDummyInterface);
  ASSERT_TRUE(addrs);
  ASSERT_EQ(addrs->size(), 1u);
  EXPECT_EQ((*addrs)[0].addr, ip("10.96.0.20"));
  EXPECT_FALSE(peer.services.count("10.96.0.30:80/TCP"));
  EXPECT_FALSE(peer.services.count("203.0.113.7:80/TCP"));

  // A restarted agent finds its old address on the interface and removes the stale service.
  auto again = IpvsServiceProxy::create(**k, nl, opts);
  ASSERT_TRUE(again);
  auto st = (*again)->sync({}, {});
  ASSERT_TRUE(st);
  EXPECT_EQ(st->services_deleted, 2);  // the ClusterIP and the NodePort
  EXPECT_TRUE(peer.services.empty());
  addrs = nl.listAddresses(kDummyInterface);
  ASSERT_TRUE(addrs);
  EXPECT_TRUE(addrs->empty());
}

}  // namespace
}  // namespace skiff::netproxy::ipvs
