#include "skiff/agent/dns/resolv_conf.h"
#include "skiff/common/testing/temp_dir.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace skiff::agent::dns {
namespace {

TEST(ResolvConfTest, ParsesNameserversSearchAndOptions) {
  auto rc = parseResolvConf(
      "# comment\nnameserver 192.0.2.1\nnameserver 192.0.2.2 # x\ndomain old.example\n"
      "search corp.example. lab.example .\noptions ndots:2 timeout:1\noptions rotate\n");
  EXPECT_EQ(rc.nameservers, (std::vector<std::string>{"192.0.2.1", "192.0.2.2"}));
  EXPECT_EQ(rc.searches, (std::vector<std::string>{"corp.example", "lab.example"}));
  EXPECT_EQ(rc.options, (std::vector<std::string>{"ndots:2", "timeout:1", "rotate"}));
}

class HostResolvConfTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(root_ / "etc");
    std::filesystem::create_directories(root_ / "run/systemd/resolve");
  }
  void write(const std::string& rel, const std::string& text) {
    std::ofstream(root_ / rel) << text;
  }
  skiff::testing::TempDir tmp_{"resolv"};
  std::filesystem::path root_ = tmp_.path();
};

TEST_F(HostResolvConfTest, SystemdStubIsReplacedByTheRealUpstreams) {
  write("etc/resolv.conf", "nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch home\n");
  write("run/systemd/resolve/resolv.conf", "nameserver 198.51.100.1\nsearch home\n");
  auto rc = loadHostResolvConf("/etc/resolv.conf", root_.string());
  ASSERT_TRUE(rc) << rc.error().message();
  EXPECT_EQ(rc->nameservers, std::vector<std::string>{"198.51.100.1"});
}

TEST_F(HostResolvConfTest, PlainFileIsUsedAsIs) {
  write("etc/resolv.conf", "nameserver 198.51.100.7\n");
  auto rc = loadHostResolvConf("/etc/resolv.conf", root_.string());
  ASSERT_TRUE(rc);
  EXPECT_EQ(rc->nameservers, std::vector<std::string>{"198.51.100.7"});
  EXPECT_FALSE(loadHostResolvConf("/etc/missing.conf", root_.string()));
}

TEST(UpstreamsTest, TheClusterDnsItselfIsDroppedAsALoop) {
  ResolvConf rc;
  rc.nameservers = {"10.96.0.10", "192.0.2.1", "192.0.2.1", "10.244.0.1"};
  std::vector<std::string> dropped;
  auto ups = upstreamsFrom(rc, {"10.96.0.10", "10.244.0.1"}, &dropped);
  EXPECT_EQ(ups, std::vector<std::string>{"192.0.2.1"});
  EXPECT_EQ(dropped, (std::vector<std::string>{"10.96.0.10", "10.244.0.1"}));
}

}  // namespace
}  // namespace skiff::agent::dns
