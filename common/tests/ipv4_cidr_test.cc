#include "skiff/common/ipv4_cidr.h"

#include <gtest/gtest.h>

namespace skiff {
namespace {

TEST(Ipv4CidrTest, AddressAtOffsetFromTheNetworkAddress) {
  EXPECT_EQ(ipv4CidrAddress("10.96.0.0/12", 10, 28), "10.96.0.10");
  EXPECT_EQ(ipv4CidrAddress("10.244.1.77/24", 1, 30), "10.244.1.1");  // host bits dropped
}

TEST(Ipv4CidrTest, RejectsWhatIsNotAnIpv4PrefixInRange) {
  for (const char* cidr : {"10.96.0.0", "10.96.0.0/0", "10.96.0.0/29", "fd00::/64", "x/8"}) {
    EXPECT_EQ(ipv4CidrAddress(cidr, 10, 28), std::nullopt) << cidr;
  }
}

}  // namespace
}  // namespace skiff
