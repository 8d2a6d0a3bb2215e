#include "skiff/hostinfo/cgroups.h"

#include <gtest/gtest.h>

#include "skiff/hostinfo/cpu_list.h"
#include "test_util.h"

namespace skiff::hostinfo {
namespace {

HostPaths fixture(const std::string& name) {
  HostPaths p;
  p.root = test::fixtureDir(name);
  return p;
}

TEST(CgroupsTest, DetectsHybridOnThisMachine) {
  auto info = detectCgroups(fixture("debian12-x86_64-hybrid"));
  ASSERT_TRUE(info.has_value()) << info.error().message();
  EXPECT_EQ(info->mode, CgroupMode::Hybrid);
  EXPECT_EQ(cgroupModeName(info->mode), "hybrid");
  for (const char* c : {"cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids"}) {
    ASSERT_EQ(info->controllers.count(c), 1u) << c;
    EXPECT_EQ(info->controllers.at(c).version, 1) << c;
    EXPECT_EQ(info->controllers.at(c).mount_point, std::string("/sys/fs/cgroup/") + c);
  }
  EXPECT_EQ(info->controllers.count("name=systemd"), 0u);
  EXPECT_EQ(info->controllers.at("hugetlb").version, 2);
  EXPECT_EQ(info->self_path_v2, "/");
  auto limit = cgroupMemoryLimit(fixture("debian12-x86_64-hybrid"), *info);
  ASSERT_TRUE(limit.has_value()) << limit.error().message();
  EXPECT_FALSE(limit->has_value());  // 9223372036854771712 everywhere: unlimited
  auto cpus = cgroupCpuset(fixture("debian12-x86_64-hybrid"), *info);
  ASSERT_TRUE(cpus.has_value());
  EXPECT_EQ(**cpus, (std::vector<int>{0, 1}));
}

TEST(CgroupsTest, DetectsUnifiedAndContainerLimits) {
  auto info = detectCgroups(fixture("container-cpuset-memcg"));
  ASSERT_TRUE(info.has_value()) << info.error().message();
  EXPECT_EQ(info->mode, CgroupMode::V2);
  EXPECT_EQ(info->controllers.at("memory").self_dir, "/sys/fs/cgroup");
  auto limit = cgroupMemoryLimit(fixture("container-cpuset-memcg"), *info);
  ASSERT_TRUE(limit.has_value());
  EXPECT_EQ(*limit, 2147483648u);
  auto cpus = cgroupCpuset(fixture("container-cpuset-memcg"), *info);
  ASSERT_TRUE(cpus.has_value());
  EXPECT_EQ(**cpus, (std::vector<int>{2, 3}));
}

TEST(CgroupsTest, ParsesLegacyV1WithNamedHierarchyAndEscapes) {
  auto mounts = parseMountInfo(
      "25 20 0:22 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
      "26 20 0:23 / /sys/fs/cgroup/systemd rw shared:9 - cgroup cgroup rw,xattr,name=systemd\n"
      "27 20 0:24 /a\\040b /mnt/with\\040space rw - ext4 /dev/sda1 rw\n",
      "/proc/self/mountinfo");
  ASSERT_TRUE(mounts.has_value()) << mounts.error().message();
  ASSERT_EQ(mounts->size(), 3u);
  EXPECT_EQ((*mounts)[2].mount_point, "/mnt/with space");
  EXPECT_EQ((*mounts)[2].root, "/a b");
  EXPECT_EQ((*mounts)[0].super_options, "rw,cpu,cpuacct");
  auto self = parseProcSelfCgroup("3:cpu,cpuacct:/kubepods/pod1\n1:name=systemd:/a:b\n", "c");
  ASSERT_TRUE(self.has_value()) << self.error().message();
  EXPECT_EQ((*self)[0].controllers, (std::vector<std::string>{"cpu", "cpuacct"}));
  EXPECT_EQ((*self)[1].path, "/a:b");  // a path may contain ':'
}

TEST(CgroupsTest, RejectsMalformedFilesNamingThem) {
  auto m = parseMountInfo("36 35 98:0 /mnt1 /mnt2 rw\n", "/proc/self/mountinfo");
  ASSERT_FALSE(m.has_value());
  EXPECT_NE(m.error().message().find("'/proc/self/mountinfo' line 1"), std::string::npos);
  EXPECT_FALSE(parseMountInfo("", "m").has_value());
  EXPECT_FALSE(parseProcCgroups("cpuset\t3\t1\n", "/proc/cgroups").has_value());
  EXPECT_FALSE(parseProcCgroups("cpuset\tx\t1\t1\n", "/proc/cgroups").has_value());
  EXPECT_FALSE(parseProcSelfCgroup("0::\n", "c").has_value());
  EXPECT_FALSE(parseProcSelfCgroup("garbage\n", "c").has_value());
  EXPECT_FALSE(parseProcSelfCgroup("", "c").has_value());
  HostPaths missing;
  missing.root = test::fixtureDir("does-not-exist");
  auto r = detectCgroups(missing);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("/proc/self/mountinfo"), std::string::npos);
}

TEST(CpuListTest, ParsesAndFormatsKernelCpuLists) {
  auto r = parseCpuList("0-3,8,10-11\n", "online");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, (std::vector<int>{0, 1, 2, 3, 8, 10, 11}));
  EXPECT_EQ(formatCpuList(*r), "0-3,8,10-11");
  EXPECT_TRUE(parseCpuList("\n", "e")->empty());
  EXPECT_EQ(*parseCpuList("3,1-2,2", "d"), (std::vector<int>{1, 2, 3}));
  for (const char* bad : {"0-", "-1", "3-1", "a", "1,,2", "0-99999999", "1 2"}) {
    auto b = parseCpuList(bad, "/sys/devices/system/cpu/online");
    ASSERT_FALSE(b.has_value()) << bad;
    EXPECT_NE(b.error().message().find("/sys/devices/system/cpu/online"), std::string::npos);
  }
}

}  // namespace
}  // namespace skiff::hostinfo
