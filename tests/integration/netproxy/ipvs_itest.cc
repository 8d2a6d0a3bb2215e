// IPVS against the real kernel, in a network namespace the test creates. Where the kernel has no
// IPVS (this CI machine), the mode must be detected as unavailable with one clear error, which
// is what the agent logs before falling back; where it has IPVS, a virtual server and a real
// server make the round trip through the kernel and are read back as written.
#include <gtest/gtest.h>

#include "netns_fixture.h"
#include "skiff/netproxy/ipvs/ipvs.h"

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

}  // namespace
}  // namespace skiff::netproxy
