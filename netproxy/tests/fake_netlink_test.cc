#include "skiff/netproxy/testing/fake_netlink.h"

#include <gtest/gtest.h>

namespace skiff::netproxy::testing {
namespace {

TEST(FakeNetlinkTest, VethPairSpansNamespacesAndDiesTogether) {
  FakeNetworkWorld world;
  world.addNamespace("/run/netns/pod");
  FakeNetlink node(world, ""), pod(world, "/run/netns/pod");
  ASSERT_TRUE(*node.createBridge("br"));
  ASSERT_TRUE(node.createVeth({"a", "eth0", "/run/netns/pod", "br", 1500, true}));
  EXPECT_FALSE(node.createVeth({"a", "c", "", "", 1500, false}));  // name taken here
  EXPECT_FALSE(node.createVeth({"b", "eth0", "/run/netns/pod", "", 1500, false}));  // and there
  auto a = *node.getLink("a");
  ASSERT_TRUE(a.has_value());
  EXPECT_TRUE(a->up);
  EXPECT_EQ(a->master, (*node.getLink("br"))->index);
  EXPECT_FALSE(node.getLink("eth0")->has_value());
  auto eth0 = *pod.getLink("eth0");
  ASSERT_TRUE(eth0.has_value());
  EXPECT_FALSE(eth0->up);
  EXPECT_TRUE(*node.deleteLink("a"));
  EXPECT_FALSE(pod.getLink("eth0")->has_value());  // the peer went with it
  EXPECT_FALSE(*node.deleteLink("a"));             // already gone: false, not an error
}

TEST(FakeNetlinkTest, EnforcesKernelRules) {
  FakeNetworkWorld world;
  FakeNetlink node(world, "");
  ASSERT_TRUE(node.createVeth({"a", "b", "", "", 1500, false}));
  ASSERT_TRUE(node.setUp("a"));
  EXPECT_FALSE(node.setHairpin("a", true));  // not a bridge port
  EXPECT_FALSE(node.createVeth({"c", "d", "/run/netns/missing", "", 1500, false}));
  EXPECT_FALSE(node.createVeth({"c", "d", "", "no-bridge", 1500, false}));
  EXPECT_FALSE(node.getLink("c")->has_value());  // a failed create leaves nothing
  EXPECT_FALSE(node.createVeth({"a-name-that-is-too-long", "x", "", "", 1500, false}));
  EXPECT_FALSE(node.replaceRoute(sys::Route{*Cidr::parse("10.0.0.0/8"), {}, "nope", 0}));
}

TEST(FakeNetlinkTest, KeepsAddressesRoutesAndSysctls) {
  FakeNetworkWorld world;
  FakeNetlink node(world, "");
  ASSERT_TRUE(*node.createBridge("br"));
  EXPECT_FALSE(*node.createBridge("br"));
  EXPECT_TRUE(*node.addAddress("br", *Cidr::parse("10.244.1.1/24")));
  EXPECT_FALSE(*node.addAddress("br", *Cidr::parse("10.244.1.1/24")));
  ASSERT_TRUE(
      node.replaceRoute({*Cidr::parse("10.244.2.0/24"), *Ipv4::parse("192.168.0.2"), "", 7}));
  ASSERT_TRUE(
      node.replaceRoute({*Cidr::parse("10.244.2.0/24"), *Ipv4::parse("192.168.0.3"), "", 7}));
  auto routes = *node.listRoutes(7);
  ASSERT_EQ(routes.size(), 1u);
  EXPECT_EQ(routes[0].gateway->str(), "192.168.0.3");
  EXPECT_TRUE(node.listRoutes(8)->empty());
  ASSERT_TRUE(node.writeSysctl("net/ipv4/ip_forward", "1"));
  EXPECT_EQ(world.ns("")->sysctls["net/ipv4/ip_forward"], "1");
}

TEST(FakeNetlinkTest, InjectedFailureHitsOnce) {
  FakeNetworkWorld world;
  FakeNetlink node(world, "");
  world.failNextForTest("createBridge",
                        Error(ErrorCode::Forbidden, EPERM, "Operation not permitted"));
  EXPECT_FALSE(node.createBridge("br"));
  EXPECT_TRUE(node.createBridge("br"));
}

}  // namespace
}  // namespace skiff::netproxy::testing
