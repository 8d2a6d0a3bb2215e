#include "skiff/hostinfo/cpuinfo.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace skiff::hostinfo {
namespace {

CpuInfo parseFixture(const std::string& fixture, const std::string& file = "/proc/cpuinfo") {
  auto r = parseCpuInfo(test::fixtureFile(fixture, file), file);
  EXPECT_TRUE(r.has_value()) << fixture << ": " << (r ? "" : r.error().message());
  return r ? *r : CpuInfo{};
}

TEST(CpuInfoTest, ParsesX86FromThisMachineAndRhel) {
  CpuInfo deb = parseFixture("debian12-x86_64-hybrid");
  EXPECT_EQ(deb.layout, CpuInfo::Layout::X86);
  EXPECT_EQ(deb.processors, (std::vector<int>{0, 1}));
  EXPECT_FALSE(deb.model_name.empty());
  CpuInfo rhel = parseFixture("rhel9-x86_64");
  EXPECT_EQ(rhel.processors.size(), 16u);
  EXPECT_EQ(rhel.model_name, "Intel(R) Xeon(R) Gold 6326 CPU @ 2.90GHz");
  EXPECT_EQ(rhel.vendor, "GenuineIntel");
}

TEST(CpuInfoTest, ParsesAarch64RaspberryPiAndGraviton) {
  CpuInfo pi = parseFixture("raspios-bookworm-arm64");
  EXPECT_EQ(pi.layout, CpuInfo::Layout::Arm64);
  EXPECT_EQ(pi.processors, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(pi.model_name, "Raspberry Pi 4 Model B Rev 1.4");
  EXPECT_EQ(pi.vendor, "ARM");
  CpuInfo g = parseFixture("graviton3-al2023-arm64");
  EXPECT_EQ(g.processors.size(), 8u);
  EXPECT_EQ(g.model_name, "Neoverse-V1");
}

TEST(CpuInfoTest, ParsesPpc64leAndS390x) {
  CpuInfo ppc = parseFixture("cpuinfo", "/ppc64le");
  EXPECT_EQ(ppc.layout, CpuInfo::Layout::Ppc64);
  EXPECT_EQ(ppc.processors.size(), 8u);
  EXPECT_EQ(ppc.model_name, "POWER9 (architected), altivec supported");
  EXPECT_EQ(ppc.vendor, "pSeries");
  CpuInfo z = parseFixture("cpuinfo", "/s390x");
  EXPECT_EQ(z.layout, CpuInfo::Layout::S390x);
  EXPECT_EQ(z.processors, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(z.model_name, "IBM/S390 machine 8561");
}

TEST(CpuInfoTest, S390xHeaderCountIsEnoughWithoutProcessorLines) {
  auto r = parseCpuInfo("vendor_id       : IBM/S390\n# processors    : 2\n", "cpuinfo");
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->processors, (std::vector<int>{0, 1}));
}

TEST(CpuInfoTest, RejectsEmptyTruncatedAndBinaryInput) {
  auto empty = parseCpuInfo("", "/proc/cpuinfo");
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.error().message(),
            "parse '/proc/cpuinfo': no processor entries (empty or truncated file)");
  auto cut = parseCpuInfo("processor\t: 0\nvendor_id\t: Genu", "/proc/cpuinfo");
  EXPECT_TRUE(cut.has_value());  // a cut inside a value still names processor 0
  auto cut_key = parseCpuInfo("processor\t: 0\nvend", "/proc/cpuinfo");
  ASSERT_FALSE(cut_key.has_value());
  EXPECT_NE(cut_key.error().message().find("line 2"), std::string::npos);
  auto binary = parseCpuInfo(std::string("processor\t: 0\n\x01\x02", 16), "/proc/cpuinfo");
  ASSERT_FALSE(binary.has_value());
  EXPECT_NE(binary.error().message().find("binary data"), std::string::npos);
  auto dup = parseCpuInfo("processor : 0\n\nprocessor : 0\n", "/proc/cpuinfo");
  EXPECT_FALSE(dup.has_value());
  auto bad = parseCpuInfo("processor : x\n", "/proc/cpuinfo");
  EXPECT_FALSE(bad.has_value());
}

}  // namespace
}  // namespace skiff::hostinfo
