// CNI mode against the real reference plugins (Debian containernetworking-plugins) inside
// throwaway namespaces.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "netns_fixture.h"
#include "skiff/netproxy/pod_network.h"
#include "skiff/netproxy/sys/netlink.h"

namespace skiff::netproxy {
namespace {

using itest::EnterNetns;
using itest::TestNetns;
namespace fs = std::filesystem;

class CniNetworkIntegration : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!itest::isRoot()) {
      GTEST_SKIP() << "needs CAP_NET_ADMIN and CAP_SYS_ADMIN (run as root)";
    }
    if (::access("/usr/lib/cni/bridge", X_OK) != 0) {
      GTEST_SKIP() << "containernetworking-plugins not installed (/usr/lib/cni/bridge)";
    }
    host_before_ = itest::hostFingerprint();
    dir_ = "/tmp/skiff-np-cni-" + std::to_string(::getpid());
    fs::remove_all(dir_);
    fs::create_directories(dir_ + "/net.d");
  }
  void TearDown() override {
    if (!itest::isRoot() || dir_.empty()) return;
    fs::remove_all(dir_);
    EXPECT_EQ(itest::hostFingerprint(), host_before_) << "host network changed";
  }
  void writeConf(const std::string& extra_plugin) {
    std::ofstream(dir_ + "/net.d/10-skiff-test.conflist") << R"({
      "cniVersion": "1.0.0", "name": "skiff-test",
      "plugins": [
        {"type": "bridge", "bridge": "cni-sk0", "isGateway": true, "ipMasq": false,
         "hairpinMode": true,
         "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.250.1.0/24"}]],
                  "dataDir": ")" + dir_ + R"(/ipam"}})" + extra_plugin +
                                                                 R"(
      ]})";
  }
  std::size_t leases() {
    std::size_t n = 0;
    std::error_code ec;
    for (const auto& e : fs::recursive_directory_iterator(dir_ + "/ipam", ec)) {
      if (Ipv4::parse(e.path().filename().string())) ++n;
    }
    return n;
  }
  CniConfig config() {
    CniConfig c;
    c.conf_dir = dir_ + "/net.d";
    c.cache_dir = dir_ + "/cache";
    c.pod_cidr = *Cidr::parse("10.250.1.0/24");
    return c;
  }
  std::string host_before_;
  std::string dir_;
};

TEST_F(CniNetworkIntegration, ROOT_CniNetworkPluginChainWiresAndUnwiresPods) {
  writeConf("");
  TestNetns node("snp-cni");
  TestNetns p1("snp-cni-p1"), p2("snp-cni-p2");
  auto nl = sys::makeLibnlNetlink(node.path());
  ASSERT_TRUE(nl);
  auto net = makeCniPodNetwork(config(), **nl);
  ASSERT_TRUE(net) << net.error().message();
  Sandbox s1{"cni-p1", p1.path(), "default/p1", {}}, s2{"cni-p2", p2.path(), "default/p2", {}};
  std::string ip1, ip2;
  {
    EnterNetns in(node.path());
    ASSERT_TRUE((*net)->ensureNode());
    auto a = (*net)->setup(s1);
    ASSERT_TRUE(a) << a.error().message();
    auto b = (*net)->setup(s2);
    ASSERT_TRUE(b) << b.error().message();
    ip1 = a->ip.str();
    ip2 = b->ip.str();
    EXPECT_EQ(a->gateway.str(), "10.250.1.1");
  }
  EXPECT_NE(p1.exec("ip -o addr show dev eth0").out.find(ip1 + "/24"), std::string::npos);
  auto server = itest::startReplyServer(p2, 8080, "$SOCAT_PEERADDR");
  std::string err;
  EXPECT_EQ(itest::tcpGet(p1, ip2, 8080, &err), ip1) << err;
  EXPECT_EQ(leases(), 2u);
  {
    EnterNetns in(node.path());
    EXPECT_TRUE(*(*net)->teardown(s1));
    EXPECT_TRUE(*(*net)->teardown(s2));
    EXPECT_FALSE(*(*net)->teardown(s2));  // idempotent
  }
  EXPECT_EQ(leases(), 0u);
  EXPECT_NE(p1.exec("ip link show eth0").code, 0);
  EXPECT_EQ(node.exec("ip -o link show type veth").out, "");
}

TEST_F(CniNetworkIntegration, ROOT_CniNetworkFailedChainIsRolledBack) {
  writeConf(R"(, {"type": "skiff-no-such-plugin"})");
  TestNetns node("snp-cni2");
  TestNetns p1("snp-cni2-p1");
  auto nl = sys::makeLibnlNetlink(node.path());
  ASSERT_TRUE(nl);
  auto net = makeCniPodNetwork(config(), **nl);
  ASSERT_TRUE(net) << net.error().message();
  EnterNetns in(node.path());
  auto r = (*net)->setup(Sandbox{"cni-bad", p1.path(), "default/bad", {}});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("skiff-no-such-plugin"), std::string::npos)
      << r.error().message();
  EXPECT_EQ(leases(), 0u);
  EXPECT_EQ(node.exec("ip -o link show type veth").out, "");
  EXPECT_NE(p1.exec("ip link show eth0").code, 0);
}

}  // namespace
}  // namespace skiff::netproxy
