// IPVS against the real kernel, in a network namespace the test creates. Where the kernel has no
// IPVS (this CI machine), the mode must be detected as unavailable with one clear error, which
// is what the agent logs before falling back; where it has IPVS, a virtual server and a real
// server make the round trip through the kernel and are read back as written.
#include <gtest/gtest.h>

#include "netns_fixture.h"
#include "skiff/netproxy/ipvs/ipvs.h"
#include "skiff/netproxy/ipvs/ipvs_service_proxy.h"
#include "skiff/netproxy/sys/netlink.h"

namespace skiff::netproxy {
namespace {

TEST(IpvsIntegration, ROOT_DetectsTheKernelsIpvsOrItsAbsence) {
  if (!itest::isRoot()) GTEST_SKIP() << "needs CAP_NET_ADMIN (run as root)";
  itest::TestNetns ns("skiff-ipvs-it");
  itest::EnterNetns in(ns.path());
  ASSERT_TRUE(in.ok());
  auto sock = ipvs::openGenlSocket();
  ASSERT_TRUE(sock) << sock.error().message();
  auto k = ipvs::openIpvs(**sock);
  if (!k) {
    EXPECT_TRUE(k.error().is(ErrorCode::NotFound)) << k.error().message();
    EXPECT_NE(k.error().message().find("IPVS is not available"), std::string::npos);
    return;
  }
  ipvs::VirtualServer vs;
  vs.addr = *Ipv4::parse("10.96.0.1");
  vs.port = 443;
  ASSERT_TRUE((*k)->addService(vs));
  ipvs::RealServer rs;
  rs.addr = *Ipv4::parse("10.244.0.5");
  rs.port = 6443;
  ASSERT_TRUE((*k)->addDestination(vs, rs));
  auto list = (*k)->listServices();
  ASSERT_TRUE(list) << list.error().message();
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0], vs);
  auto dests = (*k)->listDestinations(vs);
  ASSERT_TRUE(dests);
  ASSERT_EQ(dests->size(), 1u);
  EXPECT_EQ((*dests)[0].key(), "10.244.0.5:6443");
  EXPECT_TRUE((*k)->deleteService(vs));
}

// The dummy interface the IPVS mode keeps ClusterIPs on, through the real rtnetlink seam: the
// addresses are local (the kernel answers them) while the link stays down, and go again.
TEST(IpvsIntegration, ROOT_DummyInterfaceHoldsServiceAddresses) {
  if (!itest::isRoot()) GTEST_SKIP() << "needs CAP_NET_ADMIN (run as root)";
  itest::TestNetns ns("skiff-ipvs-dummy");
  auto nl = sys::makeLibnlNetlink(ns.path());
  ASSERT_TRUE(nl) << nl.error().message();
  auto created = (*nl)->createDummy(ipvs::kDummyInterface);
  if (!created) {
    // Kernels built without CONFIG_DUMMY (this CI machine's) cannot run the IPVS mode at all;
    // the error must name the link so the agent's log says why.
    EXPECT_NE(created.error().message().find("create dummy 'skiff-ipvs0'"), std::string::npos)
        << created.error().message();
    GTEST_SKIP() << "the kernel has no dummy links: " << created.error().message();
  }
  ASSERT_TRUE(*created);
  auto again = (*nl)->createDummy(ipvs::kDummyInterface);
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again);
  Cidr vip{*Ipv4::parse("10.96.0.42"), 32};
  auto added = (*nl)->addAddress(ipvs::kDummyInterface, vip);
  ASSERT_TRUE(added && *added);
  EXPECT_NE(ns.exec("ip -d -o link show skiff-ipvs0").out.find("dummy"), std::string::npos);
  EXPECT_NE(ns.exec("ip route show table local").out.find("local 10.96.0.42"), std::string::npos);
  auto removed = (*nl)->deleteAddress(ipvs::kDummyInterface, vip);
  ASSERT_TRUE(removed && *removed) << (removed ? "" : removed.error().message());
  auto gone = (*nl)->deleteAddress(ipvs::kDummyInterface, vip);
  ASSERT_TRUE(gone) << gone.error().message();
  EXPECT_FALSE(*gone);
  auto addrs = (*nl)->listAddresses(ipvs::kDummyInterface);
  ASSERT_TRUE(addrs);
  EXPECT_TRUE(addrs->empty());
}

}  // namespace
}  // namespace skiff::netproxy
