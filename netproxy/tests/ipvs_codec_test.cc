// IPVS message encoding against golden messages (annotated hex in tests/golden/ipvs_*.hex, laid
// out field by field from linux/ip_vs.h) and decoding of the kernel's replies, bad ones included.
#include <linux/ip_vs.h>

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "skiff/netproxy/ipvs/ipvs_codec.h"
#include "skiff/netproxy/testing/fake_ipvs_peer.h"

namespace skiff::netproxy::ipvs {
namespace {

using testing::FakeIpvsPeer;

// The golden file's hex digits, without its comments (#...) and white space.
std::string golden(const std::string& name) {
  std::ifstream f(std::string(SKIFF_NETPROXY_TEST_DIR) + "/golden/" + name);
  EXPECT_TRUE(f.good()) << name;
  std::string line, hex;
  while (std::getline(f, line)) {
    line = line.substr(0, line.find('#'));
    for (char c : line)
      if (!std::isspace(static_cast<unsigned char>(c))) hex += c;
  }
  return hex;
}

VirtualServer clusterIp() {
  VirtualServer vs;
  vs.addr = *Ipv4::parse("10.96.0.1");
  vs.port = 80;
  return vs;
}

RealServer pod() {
  RealServer rs;
  rs.addr = *Ipv4::parse("10.244.1.5");
  rs.port = 8080;
  return rs;
}

TEST(IpvsCodecTest, NewServiceMatchesGolden) {
  auto vs = clusterIp();
  EXPECT_EQ(toHex(encodeRequest(FakeIpvsPeer::kFamily, IPVS_CMD_NEW_SERVICE, 1, &vs, nullptr)),
            golden("ipvs_new_service.hex"));
}

TEST(IpvsCodecTest, PersistentUdpServiceMatchesGolden) {
  auto vs = clusterIp();
  vs.protocol = Protocol::Udp;
  vs.port = 53;
  vs.flags = kFlagPersistent;
  vs.timeout = 10800;
  vs.scheduler = "sh";
  EXPECT_EQ(toHex(encodeRequest(FakeIpvsPeer::kFamily, IPVS_CMD_SET_SERVICE, 7, &vs, nullptr)),
            golden("ipvs_set_service_persistent_udp.hex"));
}

TEST(IpvsCodecTest, NewDestinationMatchesGolden) {
  auto vs = clusterIp();
  auto rs = pod();
  EXPECT_EQ(toHex(encodeRequest(FakeIpvsPeer::kFamily, IPVS_CMD_NEW_DEST, 2, &vs, &rs)),
            golden("ipvs_new_dest.hex"));
}

TEST(IpvsCodecTest, DeleteServiceCarriesOnlyTheKey) {
  auto vs = clusterIp();
  EXPECT_EQ(toHex(encodeRequest(FakeIpvsPeer::kFamily, IPVS_CMD_DEL_SERVICE, 3, &vs, nullptr)),
            golden("ipvs_del_service.hex"));
}

TEST(IpvsCodecTest, ServiceDumpIsADumpRequest) {
  EXPECT_EQ(toHex(encodeRequest(FakeIpvsPeer::kFamily, IPVS_CMD_GET_SERVICE, 4, nullptr, nullptr)),
            golden("ipvs_get_service_dump.hex"));
}

TEST(IpvsCodecTest, DecodesTheKernelsServiceAndDestinationReplies) {
  FakeIpvsPeer peer;
  auto vs = clusterIp();
  vs.flags = kFlagPersistent;
  vs.timeout = 600;
  auto rs = pod();
  rs.weight = 3;
  ASSERT_TRUE(
      peer.roundTrip(encodeRequest(FakeIpvsPeer::kFamily, IPVS_CMD_NEW_SERVICE, 1, &vs, nullptr)));
  ASSERT_TRUE(peer.roundTrip(encodeRequest(FakeIpvsPeer::kFamily, IPVS_CMD_NEW_DEST, 2, &vs, &rs)));
  peer.setConnections(vs.key(), rs.key(), 4, 2);
  auto svcs = peer.roundTrip(
      encodeRequest(FakeIpvsPeer::kFamily, IPVS_CMD_GET_SERVICE, 3, nullptr, nullptr));
  ASSERT_TRUE(svcs);
  ASSERT_EQ(svcs->size(), 2u);  // one service, NLMSG_DONE
  auto got = decodeService((*svcs)[0]);
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ(*got, vs);
  auto dests =
      peer.roundTrip(encodeRequest(FakeIpvsPeer::kFamily, IPVS_CMD_GET_DEST, 4, &vs, nullptr));
  ASSERT_TRUE(dests);
  auto d = decodeDestination((*dests)[0]);
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(d->key(), "10.244.1.5:8080");
  EXPECT_EQ(d->weight, 3u);
  EXPECT_EQ(d->active_conns, 4u);
  EXPECT_EQ(d->inactive_conns, 2u);
}

TEST(IpvsCodecTest, MalformedRepliesAreErrorsNotCrashes) {
  FakeIpvsPeer peer;
  auto vs = clusterIp();
  ASSERT_TRUE(
      peer.roundTrip(encodeRequest(FakeIpvsPeer::kFamily, IPVS_CMD_NEW_SERVICE, 1, &vs, nullptr)));
  auto svcs = peer.roundTrip(
      encodeRequest(FakeIpvsPeer::kFamily, IPVS_CMD_GET_SERVICE, 2, nullptr, nullptr));
  ASSERT_TRUE(svcs);
  const std::string good = (*svcs)[0];
  // Every truncation, and a length field that points past the end.
  for (std::size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(decodeService(good.substr(0, n))) << n;
  }
  std::string lying = good;
  lying[0] = static_cast<char>(0xff);
  EXPECT_FALSE(decodeService(lying));
  // A destination reply is not a service.
  EXPECT_FALSE(decodeDestination(good));
  EXPECT_FALSE(decodeAck(good));
}

}  // namespace
}  // namespace skiff::netproxy::ipvs
