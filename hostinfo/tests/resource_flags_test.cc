#include "skiff/hostinfo/resource_flags.h"

#include <gtest/gtest.h>

namespace skiff::hostinfo {
namespace {

TEST(ResourceFlagsTest, ParsesReservedLikeKubelet) {
  auto r = parseReservedFlag(" cpu = 100m , memory=256Mi,ephemeral-storage=1Gi,pid=1000,", "--kube-reserved");
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->at("cpu").toString(), "100m");
  EXPECT_EQ(r->at("memory").toString(), "256Mi");
  EXPECT_EQ(r->at("ephemeral-storage").toString(), "1Gi");
  EXPECT_EQ(r->at("pid").toString(), "1k");  // canonical form of 1000
  EXPECT_TRUE(parseReservedFlag("", "--kube-reserved")->empty());
  EXPECT_EQ(parseReservedFlag("cpu=1,cpu=2", "--kube-reserved")->at("cpu").toString(), "2");
}

TEST(ResourceFlagsTest, RejectsReservedWithKubeletMessages) {
  auto gpu = parseReservedFlag("nvidia.com/gpu=1", "--kube-reserved");
  ASSERT_FALSE(gpu.has_value());
  EXPECT_EQ(gpu.error().message(),
            "invalid --kube-reserved 'nvidia.com/gpu=1': cannot reserve \"nvidia.com/gpu\" resource");
  auto neg = parseReservedFlag("memory=-1Gi", "--system-reserved");
  ASSERT_FALSE(neg.has_value());
  EXPECT_EQ(neg.error().message(), "invalid --system-reserved 'memory=-1Gi': resource quantity for "
                                   "\"memory\" cannot be negative: -1Gi");
  auto bad = parseReservedFlag("cpu=lots", "--kube-reserved");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find("failed to parse quantity \"lots\" for \"cpu\" resource"),
            std::string::npos);
  EXPECT_FALSE(parseReservedFlag("cpu", "--kube-reserved").has_value());
}

TEST(ResourceFlagsTest, ParsesEvictionThresholds) {
  auto r = parseEvictionThresholds("memory.available<100Mi, nodefs.available < 10%,imagefs.available<15%");
  ASSERT_TRUE(r.has_value()) << r.error().message();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].signal, "memory.available");
  EXPECT_EQ((*r)[0].quantity->toString(), "100Mi");
  EXPECT_EQ((*r)[1].signal, "nodefs.available");
  EXPECT_FALSE((*r)[1].quantity.has_value());
  EXPECT_EQ((*r)[1].percentage, 10.0f / 100.0f);
  // 0% and 100% mean "no threshold" and are dropped, as kubelet does.
  EXPECT_TRUE(parseEvictionThresholds("memory.available<0%,nodefs.available<100%")->empty());
  const auto defaults = defaultEvictionHard();
  ASSERT_EQ(defaults.size(), 4u);
  EXPECT_EQ(defaults[3].signal, "nodefs.inodesFree");
  EXPECT_EQ(defaults[3].percentage, 0.05f);
}

TEST(ResourceFlagsTest, RejectsEvictionWithKubeletMessages) {
  auto unknown = parseEvictionThresholds("memory.free<1Gi");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().message(),
            "invalid --eviction-hard 'memory.free<1Gi': unsupported eviction signal memory.free");
  auto dup = parseEvictionThresholds("memory.available<1Gi,memory.available<2Gi");
  ASSERT_FALSE(dup.has_value());
  EXPECT_NE(dup.error().message().find("found duplicate eviction threshold for signal memory.available"),
            std::string::npos);
  auto zero = parseEvictionThresholds("memory.available<0");
  ASSERT_FALSE(zero.has_value());
  EXPECT_NE(zero.error().message().find("eviction threshold memory.available must be positive: 0"),
            std::string::npos);
  EXPECT_FALSE(parseEvictionThresholds("nodefs.available<101%").has_value());
  EXPECT_FALSE(parseEvictionThresholds("nodefs.available<-1%").has_value());
  EXPECT_FALSE(parseEvictionThresholds("nodefs.available<ten%").has_value());
  EXPECT_FALSE(parseEvictionThresholds("memory.available=100Mi").has_value());
}

}  // namespace
}  // namespace skiff::hostinfo
