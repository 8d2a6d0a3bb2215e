#include "skiff/hostinfo/meminfo.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace skiff::hostinfo {
namespace {

TEST(MemInfoTest, ParsesTotalAndHugePagesFromRhel) {
  auto r = parseMemInfo(test::fixtureFile("rhel9-x86_64", "/proc/meminfo"), "/proc/meminfo");
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->mem_total_bytes, 65401256ull * 1024);
  EXPECT_EQ(r->hugepages_total, 1024u);
  EXPECT_EQ(r->hugepage_size_bytes, 2048u * 1024);
  EXPECT_TRUE(r->mem_available_bytes.has_value());
}

TEST(MemInfoTest, KernelWithoutHugetlbfsHasNoPageSize) {
  auto r = parseMemInfo(test::fixtureFile("raspios-bookworm-arm64", "/proc/meminfo"), "m");
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_FALSE(r->hugepage_size_bytes.has_value());
  EXPECT_EQ(r->hugepages_total, 0u);
}

TEST(MemInfoTest, RejectsMissingTotalGarbageAndOverflow) {
  auto none = parseMemInfo("MemFree: 12 kB\n", "/proc/meminfo");
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().message(), "parse '/proc/meminfo': no MemTotal (empty or truncated file)");
  EXPECT_FALSE(parseMemInfo("", "/proc/meminfo").has_value());
  EXPECT_FALSE(parseMemInfo("MemTotal: 0 kB\n", "/proc/meminfo").has_value());
  auto garbage = parseMemInfo("MemTotal: 12x kB\n", "/proc/meminfo");
  ASSERT_FALSE(garbage.has_value());
  EXPECT_EQ(garbage.error().message(), "parse '/proc/meminfo' line 1: bad number '12x'");
  EXPECT_FALSE(parseMemInfo("MemTotal: 99999999999999999999 kB\n", "m").has_value());
  EXPECT_FALSE(parseMemInfo("MemTotal: 18014398509481984 kB\n", "m").has_value());
  EXPECT_FALSE(parseMemInfo("MemTotal: 12 MB\n", "m").has_value());
  EXPECT_FALSE(parseMemInfo("MemTotal\n", "m").has_value());
}

}  // namespace
}  // namespace skiff::hostinfo
