#include "skiff/netproxy/ipam.h"
#include "skiff/common/testing/temp_dir.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace skiff::netproxy {
namespace {

class IpamTest : public ::testing::Test {
 protected:
  skiff::testing::TempDir tmp_{"ipam-test"};
  std::filesystem::path dir_ = std::filesystem::path(tmp_.path()) / "ipam";  // not there yet
};

TEST_F(IpamTest, AllocatesAfterTheGatewayAndIsIdempotentPerOwner) {
  Ipam ipam(*Cidr::parse("10.244.1.0/24"), dir_);
  EXPECT_EQ(ipam.gateway().str(), "10.244.1.1");
  EXPECT_EQ(ipam.allocate("a")->str(), "10.244.1.2");
  EXPECT_EQ(ipam.allocate("b")->str(), "10.244.1.3");
  EXPECT_EQ(ipam.allocate("a")->str(), "10.244.1.2");
  EXPECT_TRUE(std::filesystem::exists(dir_ / "10.244.1.2"));
  // State survives a restart (a new Ipam over the same directory).
  Ipam again(*Cidr::parse("10.244.1.0/24"), dir_);
  EXPECT_EQ(again.lookup("b")->value().str(), "10.244.1.3");
  EXPECT_TRUE(*again.release("a"));
  EXPECT_FALSE(*again.release("a"));
  EXPECT_FALSE(again.lookup("a")->has_value());
  // Round-robin: the next allocation does not immediately reuse the freed address.
  EXPECT_EQ(again.allocate("c")->str(), "10.244.1.4");
}

TEST_F(IpamTest, TheRoundRobinHintWrapsAndIsRewrittenInPlace) {
  Ipam ipam(*Cidr::parse("10.244.9.0/28"), dir_);  // usable .2 .. .14
  for (int i = 2; i <= 14; ++i)
    ASSERT_EQ(ipam.allocate("p" + std::to_string(i))->str(), "10.244.9." + std::to_string(i));
  auto hint = dir_ / "last_reserved_ip";
  struct stat before {};
  ASSERT_EQ(::stat(hint.c_str(), &before), 0);
  ASSERT_TRUE(*ipam.release("p3"));
  // After .14 the search wraps to the bottom of the range; the shorter address replaces the
  // longer one whole, in the same file.
  EXPECT_EQ(ipam.allocate("again")->str(), "10.244.9.3");
  struct stat after {};
  ASSERT_EQ(::stat(hint.c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino);
  std::ifstream in(hint);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "10.244.9.3");
}

TEST_F(IpamTest, ALookupSeesAReleaseByAnotherIpamOverTheDirectory) {
  Ipam allocator(*Cidr::parse("10.244.1.0/24"), dir_);
  Ipam reader(*Cidr::parse("10.244.1.0/24"), dir_);
  ASSERT_EQ(allocator.allocate("a")->str(), "10.244.1.2");
  ASSERT_EQ(reader.lookup("a")->value().str(), "10.244.1.2");
  ASSERT_EQ(reader.lookup("a")->value().str(), "10.244.1.2");  // the remembered address
  ASSERT_TRUE(*allocator.release("a"));
  EXPECT_FALSE(reader.lookup("a")->has_value());
  // The address went to another owner, and the first got a new one.
  ASSERT_EQ(allocator.allocate("b")->str(), "10.244.1.3");
  ASSERT_EQ(allocator.allocate("a")->str(), "10.244.1.4");
  EXPECT_EQ(reader.lookup("a")->value().str(), "10.244.1.4");
  EXPECT_EQ(reader.lookup("b")->value().str(), "10.244.1.3");
}

TEST_F(IpamTest, ExhaustionIsAClearError) {
  Ipam ipam(*Cidr::parse("10.244.9.0/30"), dir_);  // .0 net, .1 gw, .2 usable, .3 broadcast
  ASSERT_EQ(ipam.allocate("a")->str(), "10.244.9.2");
  auto r = ipam.allocate("b");
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(ErrorCode::Unavailable));
  EXPECT_NE(r.error().message().find("no free address"), std::string::npos);
}

}  // namespace
}  // namespace skiff::netproxy
