#include "skiff/netproxy/pod_network.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "skiff/common/testing/temp_dir.h"
#include "skiff/netproxy/testing/fake_iptables.h"
#include "skiff/netproxy/testing/fake_netlink.h"
#include "skiff/netproxy/testing/fake_nftables.h"
#include "skiff/netproxy/testing/sample_services.h"

namespace skiff::netproxy {
namespace {

using testing::FakeIptables;
using testing::FakeNetlink;
using testing::FakeNetworkWorld;
using testing::ip;

class PodNetworkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PodNetworkConfig cfg;
    cfg.pod_cidr = *Cidr::parse("10.244.1.0/24");
    cfg.ipam_dir = dir_;
    net_ = makePodNetwork(
        cfg, node_,
        [this](const std::string& p) -> Result<std::unique_ptr<sys::Netlink>> {
          if (!world_.ns(p))
            return Error(ErrorCode::NotFound, ENOENT, "open netns: No such file or directory");
          return std::unique_ptr<sys::Netlink>(new FakeNetlink(world_, p));
        },
        ipt_);
  }
  Sandbox pod(const std::string& id, std::vector<HostPort> ports = {}) {
    world_.addNamespace("/run/netns/" + id);
    return Sandbox{id, "/run/netns/" + id, "default/" + id, std::move(ports)};
  }
  std::size_t nodeLinks() { return world_.ns("")->links.size(); }

  skiff::testing::TempDir tmp_{"podnet-test"};
  std::filesystem::path dir_ = std::filesystem::path(tmp_.path()) / "ipam";  // not there yet
  FakeNetworkWorld world_;
  FakeNetlink node_{world_, ""};
  FakeIptables ipt_;
  std::unique_ptr<PodNetwork> net_;
};

TEST_F(PodNetworkTest, SetupWiresVethBridgeAddressAndRoute) {
  auto a = net_->setup(pod("p1"));
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_EQ(a->ip.str(), "10.244.1.2");
  EXPECT_EQ(a->gateway.str(), "10.244.1.1");
  auto* n = world_.ns("");
  const auto& br = n->links.at("skiff0");
  EXPECT_TRUE(br.info.up);
  EXPECT_EQ(br.addresses, (std::vector<Cidr>{*Cidr::parse("10.244.1.1/24")}));
  const auto& host = n->links.at(hostVethName("p1"));
  EXPECT_EQ(host.info.master, br.info.index);
  EXPECT_TRUE(host.hairpin);
  EXPECT_TRUE(host.info.up);
  EXPECT_EQ(n->sysctls["net/ipv4/ip_forward"], "1");
  EXPECT_EQ(n->sysctls["net/ipv4/conf/all/route_localnet"], "1");
  auto* p = world_.ns("/run/netns/p1");
  const auto& eth0 = p->links.at("eth0");
  EXPECT_TRUE(eth0.info.up);
  EXPECT_TRUE(p->links.at("lo").info.up);
  EXPECT_EQ(eth0.addresses, (std::vector<Cidr>{*Cidr::parse("10.244.1.2/24")}));
  ASSERT_EQ(p->routes.size(), 1u);
  EXPECT_EQ(p->routes[0].dst.prefix, 0);
  EXPECT_EQ(p->routes[0].gateway->str(), "10.244.1.1");
  EXPECT_EQ(net_->setup(pod("p2"))->ip.str(), "10.244.1.3");
}

TEST_F(PodNetworkTest, FailedSetupLeavesNothingBehind) {
  ASSERT_TRUE(net_->ensureNode());
  std::size_t links = nodeLinks();
  for (const char* step : {"createVeth", "setHairpin", "addAddress", "setUp", "replaceRoute"}) {
    world_.failNextForTest(
        step, Error(ErrorCode::Internal, EIO, std::string(step) + ": Input/output error"));
    auto r = net_->setup(pod(std::string("f-") + step));
    ASSERT_FALSE(r) << step;
    EXPECT_NE(r.error().message().find(step), std::string::npos) << r.error().message();
    EXPECT_EQ(nodeLinks(), links) << "veth left behind after failing " << step;
    EXPECT_TRUE(world_.ns(std::string("/run/netns/f-") + step)->links.count("eth0") == 0);
  }
  // Every reserved IP was released: the next pod still gets a low address.
  auto ok = net_->setup(pod("after"));
  ASSERT_TRUE(ok);
  std::size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    if (Ipv4::parse(e.path().filename().string())) ++files;
  }
  EXPECT_EQ(files, 1u);
}

TEST_F(PodNetworkTest, TeardownIsIdempotentAndAcceptsUnknownIds) {
  Sandbox sb = pod("p1");
  ASSERT_TRUE(net_->setup(sb));
  EXPECT_TRUE(*net_->teardown(sb));
  EXPECT_FALSE(world_.ns("")->links.count(hostVethName("p1")));
  EXPECT_FALSE(world_.ns("/run/netns/p1")->links.count("eth0"));
  EXPECT_FALSE(*net_->teardown(sb));
  EXPECT_FALSE(*net_->teardown(Sandbox{"never-seen", "", "default/x", {}}));
  EXPECT_FALSE(net_->teardown(Sandbox{"../etc", "", "default/x", {}}));  // bad id
}

TEST_F(PodNetworkTest, PodTrafficLeavingTheClusterIsMasqueradedPodToPodIsNot) {
  ASSERT_TRUE(net_->ensureNode());
  auto out = testing::tracePacket(ipt_, {ip("10.244.1.2"), ip("1.1.1.1"), Protocol::Tcp, 443}, {});
  EXPECT_TRUE(out.masqueraded);
  auto in = testing::tracePacket(ipt_, {ip("10.244.1.2"), ip("10.244.2.7"), Protocol::Tcp, 80}, {});
  EXPECT_FALSE(in.masqueraded);
  EXPECT_EQ(in.verdicts, (std::set<std::string>{"ACCEPT"}));
}

TEST_F(PodNetworkTest, HostPortDnatsToThePodUntilTeardown) {
  Sandbox sb = pod("web", {{Protocol::Tcp, 8088, 80, {}}});
  auto a = net_->setup(sb);
  ASSERT_TRUE(a) << a.error().message();
  std::set<Ipv4> local{ip("192.168.0.10"), ip("10.244.1.1")};
  auto r = testing::tracePacket(ipt_, {ip("192.168.0.99"), ip("192.168.0.10"), Protocol::Tcp, 8088},
                                local);
  EXPECT_EQ(r.destinations, (std::set<std::string>{a->ip.str() + ":80"}));
  ASSERT_TRUE(net_->teardown(sb));
  r = testing::tracePacket(ipt_, {ip("192.168.0.99"), ip("192.168.0.10"), Protocol::Tcp, 8088},
                           local);
  EXPECT_TRUE(r.destinations.empty());
}

// The scheduler's "no conflict between pods with same hostPort but different hostIP and
// protocol": 127.0.0.1/TCP, the node IP/TCP and the node IP/UDP go to three different pods.
TEST_F(PodNetworkTest, HostPortWithAHostIpOnlyTakesThatAddress) {
  auto a = net_->setup(pod("lo", {{Protocol::Tcp, 54321, 80, ip("127.0.0.1")}}));
  auto b = net_->setup(pod("node", {{Protocol::Tcp, 54321, 80, ip("192.168.0.10")}}));
  auto c = net_->setup(pod("udp", {{Protocol::Udp, 54321, 80, ip("192.168.0.10")}}));
  ASSERT_TRUE(a && b && c);
  std::set<Ipv4> local{ip("127.0.0.1"), ip("192.168.0.10"), ip("10.244.1.1")};
  auto to = [&](const char* dst, Protocol proto) {
    return testing::tracePacket(ipt_, {ip("192.168.0.10"), ip(dst), proto, 54321}, local)
        .destinations;
  };
  EXPECT_EQ(to("127.0.0.1", Protocol::Tcp), (std::set<std::string>{a->ip.str() + ":80"}));
  EXPECT_EQ(to("192.168.0.10", Protocol::Tcp), (std::set<std::string>{b->ip.str() + ":80"}));
  EXPECT_EQ(to("192.168.0.10", Protocol::Udp), (std::set<std::string>{c->ip.str() + ":80"}));
  EXPECT_TRUE(to("10.244.1.1", Protocol::Tcp).empty());
}

TEST_F(PodNetworkTest, NftHostPortWithAHostIpOnlyTakesThatAddress) {
  testing::FakeNftables nft;
  PodNetworkConfig cfg;
  cfg.pod_cidr = *Cidr::parse("10.244.1.0/24");
  cfg.ipam_dir = dir_ / "nft";
  auto net = makePodNetwork(
      cfg, node_,
      [this](const std::string& p) -> Result<std::unique_ptr<sys::Netlink>> {
        return std::unique_ptr<sys::Netlink>(new FakeNetlink(world_, p));
      },
      nft);
  auto a = net->setup(pod("lo", {{Protocol::Tcp, 54321, 80, ip("127.0.0.1")}}));
  auto b = net->setup(pod("node", {{Protocol::Tcp, 54321, 80, ip("192.168.0.10")}}));
  auto any = net->setup(pod("any", {{Protocol::Udp, 54322, 81, {}}}));
  ASSERT_TRUE(a && b && any);
  auto to = [&](const char* hook, const char* dst, Protocol proto, uint16_t port) {
    testing::FakeNftables::Packet p;
    p.saddr = ip("192.168.0.10");
    p.daddr = ip(dst);
    p.protocol = proto;
    p.dport = port;
    p.local_addresses = {ip("127.0.0.1"), ip("192.168.0.10"), ip("10.244.1.1")};
    auto out = nft.traceAll(nft::Family::Ip, "nat", hook, p);
    return out.dnat ? out.dnat->first.str() + ":" + std::to_string(out.dnat->second) : "";
  };
  EXPECT_EQ(to("output", "127.0.0.1", Protocol::Tcp, 54321), a->ip.str() + ":80");
  EXPECT_EQ(to("output", "192.168.0.10", Protocol::Tcp, 54321), b->ip.str() + ":80");
  EXPECT_EQ(to("prerouting", "192.168.0.10", Protocol::Tcp, 54321), b->ip.str() + ":80");
  EXPECT_EQ(to("output", "192.168.0.10", Protocol::Udp, 54321), "");
  // Without a hostIP every local address is taken.
  EXPECT_EQ(to("prerouting", "10.244.1.1", Protocol::Udp, 54322), any->ip.str() + ":81");
  EXPECT_EQ(to("output", "127.0.0.1", Protocol::Udp, 54322), any->ip.str() + ":81");
}

TEST_F(PodNetworkTest, SyncNodeRoutesAddsReplacesAndRemovesOnlyItsOwn) {
  ASSERT_TRUE(
      node_.replaceRoute({*Cidr::parse("0.0.0.0/0"), ip("192.168.0.1"), "", 3}));  // not ours
  ASSERT_TRUE(net_->syncNodeRoutes({{"self", *Cidr::parse("10.244.1.0/24"), ip("192.168.0.10")},
                                    {"b", *Cidr::parse("10.244.2.0/24"), ip("192.168.0.11")},
                                    {"c", *Cidr::parse("10.244.3.0/24"), ip("192.168.0.12")}}));
  auto ours = *node_.listRoutes(sys::kSkiffRouteProtocol);
  ASSERT_EQ(ours.size(), 2u);
  // c moved to a new address, b left the cluster.
  ASSERT_TRUE(net_->syncNodeRoutes({{"c", *Cidr::parse("10.244.3.0/24"), ip("192.168.0.13")}}));
  ours = *node_.listRoutes(sys::kSkiffRouteProtocol);
  ASSERT_EQ(ours.size(), 1u);
  EXPECT_EQ(ours[0].dst.str(), "10.244.3.0/24");
  EXPECT_EQ(ours[0].gateway->str(), "192.168.0.13");
  EXPECT_EQ(node_.listRoutes(3)->size(), 1u);  // the default route is untouched
}

}  // namespace
}  // namespace skiff::netproxy
