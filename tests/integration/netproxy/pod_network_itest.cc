// The pod network against the real kernel: simulated nodes and pods are network namespaces.

#include <gtest/gtest.h>

#include <filesystem>

#include "netns_fixture.h"
#include "sim_node.h"
#include "skiff/netproxy/pod_network.h"

namespace skiff::netproxy {
namespace {

using itest::EnterNetns;
using itest::SimNode;
using itest::TestNetns;

class PodNetworkIntegration : public itest::HostUnchangedTest {
 protected:
  PodNetworkIntegration() : HostUnchangedTest("CAP_NET_ADMIN and CAP_SYS_ADMIN") {}
};

std::size_t ipamFiles(const std::string& dir) {
  std::size_t n = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (Ipv4::parse(e.path().filename().string())) ++n;
  }
  return n;
}

TEST_F(PodNetworkIntegration, ROOT_PodsOnTwoNodesReachEachOtherAcrossNodes) {
  SimNode a("snp-na", "10.244.1.0/24");
  SimNode b("snp-nb", "10.244.2.0/24");
  itest::connectNodes(a.ns(), b.ns(), "192.168.100.1", "192.168.100.2");
  std::string ip_a, ip_b;
  TestNetns& pa = a.addPod("p1", &ip_a);
  TestNetns& pb = b.addPod("p1", &ip_b);
  ASSERT_EQ(ip_a, "10.244.1.2");
  ASSERT_EQ(ip_b, "10.244.2.2");
  // Inside the pod: eth0 with the address, default route via the bridge.
  EXPECT_NE(pa.exec("ip -o addr show dev eth0").out.find("10.244.1.2/24"), std::string::npos);
  EXPECT_NE(pa.exec("ip route show default").out.find("via 10.244.1.1 dev eth0"),
            std::string::npos);
  std::string host_end = a.ns().exec("ip -d link show " + hostVethName("snp-na-p1")).out;
  EXPECT_NE(host_end.find("hairpin on"), std::string::npos) << host_end;
  EXPECT_NE(host_end.find("master skiff0"), std::string::npos) << host_end;
  EXPECT_NE(host_end.find("state UP"), std::string::npos) << host_end;
  // One queue each way, asked for at creation (veth would trim its per-CPU default later).
  EXPECT_NE(host_end.find("numtxqueues 1 numrxqueues 1"), std::string::npos) << host_end;
  EXPECT_NE(pa.exec("ip -d link show eth0").out.find("numtxqueues 1 numrxqueues 1"),
            std::string::npos);
  EXPECT_EQ(a.ns().exec("cat /proc/sys/net/ipv4/ip_forward").out, "1\n");

  {
    EnterNetns in(a.ns().path());
    ASSERT_TRUE(a.podNetwork().syncNodeRoutes(
        {{"node-a", *Cidr::parse("10.244.1.0/24"), *Ipv4::parse("192.168.100.1")},
         {"node-b", *Cidr::parse("10.244.2.0/24"), *Ipv4::parse("192.168.100.2")}}));
  }
  {
    EnterNetns in(b.ns().path());
    ASSERT_TRUE(b.podNetwork().syncNodeRoutes(
        {{"node-a", *Cidr::parse("10.244.1.0/24"), *Ipv4::parse("192.168.100.1")}}));
  }
  EXPECT_NE(a.ns().exec("ip route show 10.244.2.0/24").out.find("via 192.168.100.2"),
            std::string::npos);

  // The server sees the client's pod IP: pod-to-pod traffic is routed, not masqueraded.
  auto server = itest::startReplyServer(pb, 8080, "$SOCAT_PEERADDR");
  std::string err;
  EXPECT_EQ(itest::tcpGet(pa, ip_b, 8080, &err), ip_a) << err;
  auto back = itest::startReplyServer(pa, 8081, "from-a");
  EXPECT_EQ(itest::tcpGet(pb, ip_a, 8081, &err), "from-a") << err;

  // Node b is removed: its route goes, and so does reachability.
  {
    EnterNetns in(a.ns().path());
    ASSERT_TRUE(a.podNetwork().syncNodeRoutes({}));
  }
  EXPECT_EQ(a.ns().exec("ip route show 10.244.2.0/24").out, "");
}

TEST_F(PodNetworkIntegration, ROOT_PodNetworkTeardownAndFailedSetupLeaveNothingBehind) {
  SimNode n("snp-nc", "10.244.3.0/24");
  auto links_before = n.ns().exec("ip -o link | cut -d: -f2").out;
  // A sandbox whose netns does not exist: the veth and the IP must be rolled back.
  {
    EnterNetns in(n.ns().path());
    auto r = n.podNetwork().setup(
        Sandbox{"bad-sandbox", "/run/netns/snp-does-not-exist", "default/bad", {}});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("default/bad"), std::string::npos) << r.error().message();
  }
  EXPECT_EQ(n.ns().exec("ip -o link | cut -d: -f2").out, links_before);
  EXPECT_EQ(ipamFiles(n.ipamDir()), 0u);

  // A pod with a hostPort: DNAT rule present while it runs, gone after teardown.
  TestNetns pod("snp-nc-hp");
  Sandbox sb{"snp-nc-hp", pod.path(), "default/hp", {{Protocol::Tcp, 8088, 80, {}}}};
  std::string pod_ip;
  {
    EnterNetns in(n.ns().path());
    auto addr = n.podNetwork().setup(sb);
    ASSERT_TRUE(addr) << addr.error().message();
    pod_ip = addr->ip.str();
  }
  EXPECT_NE(n.ns()
                .exec("iptables-legacy-save -t nat")
                .out.find("--dport 8088 -j DNAT --to-destination " + pod_ip + ":80"),
            std::string::npos);
  EXPECT_EQ(ipamFiles(n.ipamDir()), 1u);
  {
    EnterNetns in(n.ns().path());
    auto r = n.podNetwork().teardown(sb);
    ASSERT_TRUE(r);
    EXPECT_TRUE(*r);
    auto again = n.podNetwork().teardown(sb);
    ASSERT_TRUE(again);
    EXPECT_FALSE(*again);  // idempotent
  }
  EXPECT_EQ(n.ns().exec("ip -o link | cut -d: -f2").out, links_before);
  EXPECT_EQ(ipamFiles(n.ipamDir()), 0u);
  EXPECT_EQ(n.ns().exec("iptables-legacy-save -t nat").out.find("8088"), std::string::npos);
  EXPECT_EQ(pod.exec("ip -o link show eth0").code, 1);
}

}  // namespace
}  // namespace skiff::netproxy
