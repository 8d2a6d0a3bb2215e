// The IPVS proxier against the fake generic-netlink peer: what it creates, what a second sync
// leaves alone, graceful removal, and that it never touches virtual servers that are not its own.
#include <gtest/gtest.h>

#include "skiff/netproxy/ipvs/ipvs_proxier.h"
#include "skiff/netproxy/testing/fake_ipvs_peer.h"
#include "skiff/netproxy/testing/sample_services.h"

namespace skiff::netproxy::ipvs {
namespace {

using testing::FakeIpvsPeer;
using testing::ip;
using testing::webPort;

Endpoint ep(const char* addr, const char* node = "n1", bool ready = true) {
  return testing::endpoint(addr, 8080, node, ready);
}

class IpvsProxierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto k = openIpvs(peer_);
    ASSERT_TRUE(k) << k.error().message();
    kernel_ = std::move(*k);
    opts_.node_name = "n1";
    opts_.node_ips = {ip("192.168.1.10"), ip("192.168.1.11")};
  }
  IpvsSyncStats sync(IpvsProxier& p, const std::vector<ServicePort>& s, const EndpointMap& e) {
    auto st = p.sync(s, e);
    EXPECT_TRUE(st) << st.error().message();
    return st ? *st : IpvsSyncStats{};
  }

  FakeIpvsPeer peer_;
  std::unique_ptr<IpvsKernel> kernel_;
  IpvsOptions opts_;
};

TEST_F(IpvsProxierTest, ClusterIpAndNodePortsGetOneVirtualServerEachWithReadyEndpoints) {
  IpvsProxier p(*kernel_, opts_);
  auto sp = webPort(30080);
  EndpointMap eps{
      {sp.key(), {ep("10.244.1.5"), ep("10.244.2.6", "n2"), ep("10.244.1.7", "n1", false)}}};
  auto st = sync(p, {sp}, eps);
  EXPECT_EQ(st.services_added, 3);
  EXPECT_EQ(st.dests_added, 6);
  ASSERT_EQ(peer_.services.size(), 3u);
  for (const char* key :
       {"10.96.0.20:80/TCP", "192.168.1.10:30080/TCP", "192.168.1.11:30080/TCP"}) {
    ASSERT_TRUE(peer_.services.count(key)) << key;
    const auto& s = peer_.services.at(key);
    EXPECT_EQ(s.scheduler, "rr");
    EXPECT_EQ(s.dests.size(), 2u) << key;  // the not-ready endpoint is left out
    EXPECT_EQ(s.dests.at("10.244.1.5:8080").weight, 1u);
  }
  // The ClusterIP goes on the dummy interface; node addresses are already the node's.
  EXPECT_EQ(p.boundAddresses(), std::set<Ipv4>{ip("10.96.0.20")});
}

TEST_F(IpvsProxierTest, ASecondSyncOfTheSameStateOnlyReads) {
  IpvsProxier p(*kernel_, opts_);
  auto sp = webPort();
  EndpointMap eps{{sp.key(), {ep("10.244.1.5")}}};
  sync(p, {sp}, eps);
  peer_.log.clear();
  auto st = sync(p, {sp}, eps);
  EXPECT_EQ(st.services_added + st.services_updated + st.dests_added + st.dests_updated, 0);
  for (const auto& line : peer_.log) EXPECT_EQ(line.rfind("GET_", 0), 0u) << line;
}

TEST_F(IpvsProxierTest, AffinityAndSchedulerChangesUpdateTheVirtualServerInPlace) {
  IpvsProxier p(*kernel_, opts_);
  auto sp = webPort();
  sync(p, {sp}, {});
  sp.affinity_client_ip = true;
  sp.affinity_seconds = 600;
  auto st = sync(p, {sp}, {});
  EXPECT_EQ(st.services_updated, 1);
  const auto& s = peer_.services.at("10.96.0.20:80/TCP");
  EXPECT_EQ(s.flags, kFlagPersistent);
  EXPECT_EQ(s.timeout, 600u);
}

TEST_F(IpvsProxierTest, ARemovedEndpointDrainsWithWeightZeroThenGoes) {
  IpvsProxier p(*kernel_, opts_);
  auto sp = webPort();
  sync(p, {sp}, {{sp.key(), {ep("10.244.1.5"), ep("10.244.1.6")}}});
  peer_.setConnections("10.96.0.20:80/TCP", "10.244.1.6:8080", 3, 1);
  auto st = sync(p, {sp}, {{sp.key(), {ep("10.244.1.5")}}});
  EXPECT_EQ(st.dests_draining, 1);
  EXPECT_EQ(peer_.services.at("10.96.0.20:80/TCP").dests.at("10.244.1.6:8080").weight, 0u);
  // Still connections: nothing more happens.
  st = sync(p, {sp}, {{sp.key(), {ep("10.244.1.5")}}});
  EXPECT_EQ(st.dests_draining + st.dests_deleted, 0);
  peer_.setConnections("10.96.0.20:80/TCP", "10.244.1.6:8080", 0, 0);
  st = sync(p, {sp}, {{sp.key(), {ep("10.244.1.5")}}});
  EXPECT_EQ(st.dests_deleted, 1);
  EXPECT_EQ(peer_.services.at("10.96.0.20:80/TCP").dests.size(), 1u);
}

TEST_F(IpvsProxierTest, AnEndpointBackWhileDrainingGetsItsWeightBack) {
  IpvsProxier p(*kernel_, opts_);
  auto sp = webPort();
  sync(p, {sp}, {{sp.key(), {ep("10.244.1.6")}}});
  peer_.setConnections("10.96.0.20:80/TCP", "10.244.1.6:8080", 1, 0);
  sync(p, {sp}, {});
  auto st = sync(p, {sp}, {{sp.key(), {ep("10.244.1.6")}}});
  EXPECT_EQ(st.dests_updated, 1);
  EXPECT_EQ(peer_.services.at("10.96.0.20:80/TCP").dests.at("10.244.1.6:8080").weight, 1u);
}

TEST_F(IpvsProxierTest, DeletedServicesGoButOthersVirtualServersStay) {
  // Someone else's virtual server on an address that is not ours.
  VirtualServer foreign;
  foreign.addr = ip("172.17.0.1");
  foreign.port = 443;
  ASSERT_TRUE(kernel_->addService(foreign));
  // One of ours from an earlier run (its address is on the dummy interface).
  VirtualServer stale;
  stale.addr = ip("10.96.0.99");
  stale.port = 53;
  ASSERT_TRUE(kernel_->addService(stale));
  opts_.previously_bound = {ip("10.96.0.99")};
  IpvsProxier p(*kernel_, opts_);
  auto sp = webPort(30080);
  sync(p, {sp}, {});
  auto st = sync(p, {}, {});
  EXPECT_EQ(st.services_deleted, 3);  // ClusterIP and both NodePorts
  EXPECT_EQ(peer_.services.size(), 1u);
  EXPECT_TRUE(peer_.services.count("172.17.0.1:443/TCP"));
  EXPECT_TRUE(p.boundAddresses().empty());
}

TEST_F(IpvsProxierTest, LocalTrafficPolicyKeepsOnlyThisNodesEndpoints) {
  IpvsProxier p(*kernel_, opts_);
  auto sp = webPort(30080);
  sp.external_policy_local = true;
  sync(p, {sp}, {{sp.key(), {ep("10.244.1.5", "n1"), ep("10.244.2.6", "n2")}}});
  EXPECT_EQ(peer_.services.at("10.96.0.20:80/TCP").dests.size(), 2u);
  EXPECT_EQ(peer_.services.at("192.168.1.10:30080/TCP").dests.size(), 1u);
  EXPECT_TRUE(peer_.services.at("192.168.1.10:30080/TCP").dests.count("10.244.1.5:8080"));
}

TEST(IpvsKernelTest, NoIpvsModuleIsAClearNotFound) {
  FakeIpvsPeer peer;
  peer.available = false;
  auto k = openIpvs(peer);
  ASSERT_FALSE(k);
  EXPECT_TRUE(k.error().is(ErrorCode::NotFound));
  EXPECT_NE(k.error().message().find("IPVS is not available"), std::string::npos);
}

TEST(IpvsKernelTest, KernelErrorsNameTheObject) {
  FakeIpvsPeer peer;
  auto k = openIpvs(peer);
  ASSERT_TRUE(k);
  VirtualServer vs;
  vs.addr = ip("10.96.0.1");
  vs.port = 443;
  ASSERT_TRUE((*k)->addService(vs));
  auto again = (*k)->addService(vs);
  ASSERT_FALSE(again);
  EXPECT_TRUE(again.error().is(ErrorCode::AlreadyExists));
  EXPECT_NE(again.error().message().find("add virtual server 10.96.0.1:443/TCP"),
            std::string::npos);
  vs.scheduler = "nosuch";
  auto bad = (*k)->updateService(vs);
  ASSERT_FALSE(bad);
  RealServer rs;
  rs.addr = ip("10.244.0.2");
  rs.port = 80;
  EXPECT_FALSE((*k)->deleteDestination(vs, rs));
}

}  // namespace
}  // namespace skiff::netproxy::ipvs
