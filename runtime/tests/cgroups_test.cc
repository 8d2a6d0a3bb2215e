// cgroup v1/v2 logic against fixture trees in a temp dir (this host is v1 hybrid; v2 is only
// reachable through fakes here).
#include "skiff/runtime/sys/cgroups.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>

#include "skiff/common/file.h"
#include "skiff/common/testing/temp_dir.h"

namespace skiff::runtime::sys {
namespace {

namespace fs = std::filesystem;

class CgroupFixture : public ::testing::Test {
 protected:
  skiff::testing::TempDir temp_dir_{"cgfake"};
  std::string read(const std::string& rel) {
    auto r = readFile(root_ + "/" + rel);
    return r ? *r : "<missing>";
  }
  const std::string root_ = temp_dir_.path();
};

TEST_F(CgroupFixture, HostWithoutCgroupsGetsNoManager) {
  // The mode comes from hostinfo::detectCgroups; None (nothing mounted) cannot run containers.
  auto cg = makeCgroupManager(root_, hostinfo::CgroupMode::None);
  ASSERT_FALSE(cg);
  EXPECT_TRUE(cg.error().is(ErrorCode::Unavailable));
  auto check = checkCgroupRoot(root_, hostinfo::CgroupMode::None);
  ASSERT_FALSE(check);
  EXPECT_NE(check.error().message().find("no cgroup filesystem"), std::string::npos);
}

TEST_F(CgroupFixture, HybridHostIsDrivenThroughTheV1Hierarchies) {
  // systemd's hybrid layout: v1 controllers plus the unified tree at <root>/unified.
  for (const char* c : {"cpu", "cpuacct", "memory", "pids"}) {
    fs::create_directories(root_ + "/" + c);
    ASSERT_TRUE(writeFileAtomic(root_ + "/" + c + "/tasks", ""));
  }
  fs::create_directories(root_ + "/unified");
  ASSERT_TRUE(writeFileAtomic(root_ + "/unified/cgroup.controllers", ""));
  EXPECT_TRUE(checkCgroupRoot(root_, hostinfo::CgroupMode::Hybrid));
  auto cg = makeCgroupManager(root_, hostinfo::CgroupMode::Hybrid);
  ASSERT_TRUE(cg);
  Resources r;
  r.memory_limit_bytes = 64 << 20;
  ASSERT_TRUE((*cg)->create("kubepods/podx", r));
  EXPECT_EQ(read("memory/kubepods/podx/memory.limit_in_bytes"), std::to_string(64 << 20));
  EXPECT_FALSE(fs::exists(root_ + "/unified/kubepods"));
  EXPECT_EQ((*cg)->joinFiles("kubepods/podx")[0], root_ + "/cpu/kubepods/podx/tasks");
}

TEST_F(CgroupFixture, RootWithoutTheNeededHierarchiesIsRefused) {
  // Nothing mounted (what `ip netns exec` leaves): every v1 hierarchy is named.
  auto bare = checkCgroupRoot(root_, hostinfo::CgroupMode::V1);
  ASSERT_FALSE(bare);
  EXPECT_NE(bare.error().message().find(
                "Following Cgroup subsystem not mounted: [cpu cpuacct memory pids]"),
            std::string::npos)
      << bare.error().message();
  for (const char* c : {"cpu", "cpuacct", "pids"}) {
    fs::create_directories(root_ + "/" + c);
    ASSERT_TRUE(writeFileAtomic(root_ + "/" + c + "/tasks", ""));
  }
  auto no_memory = checkCgroupRoot(root_, hostinfo::CgroupMode::V1);
  ASSERT_FALSE(no_memory);
  EXPECT_NE(no_memory.error().message().find("not mounted: [memory]"), std::string::npos);
  fs::create_directories(root_ + "/memory");
  ASSERT_TRUE(writeFileAtomic(root_ + "/memory/tasks", ""));
  EXPECT_TRUE(checkCgroupRoot(root_, hostinfo::CgroupMode::V1));

  // v2: the controllers the root offers.
  ASSERT_TRUE(writeFileAtomic(root_ + "/cgroup.controllers", "cpuset cpu io hugetlb pids\n"));
  auto v2 = checkCgroupRoot(root_, hostinfo::CgroupMode::V2);
  ASSERT_FALSE(v2);
  EXPECT_NE(v2.error().message().find("not mounted: [memory]"), std::string::npos);
  ASSERT_TRUE(
      writeFileAtomic(root_ + "/cgroup.controllers", "cpuset cpu io memory hugetlb pids\n"));
  EXPECT_TRUE(checkCgroupRoot(root_, hostinfo::CgroupMode::V2));
}

TEST_F(CgroupFixture, V2WritesLimitsAndEnablesControllersInAncestors) {
  ASSERT_TRUE(writeFileAtomic(root_ + "/cgroup.controllers", "cpuset cpu io memory pids\n"));
  auto cg = *makeCgroupManager(root_, hostinfo::CgroupMode::V2);
  // The kernel creates controller files in new cgroups; the fake tree does it by hand.
  fs::create_directories(root_ + "/kubepods/burstable");
  ASSERT_TRUE(writeFileAtomic(root_ + "/kubepods/cgroup.controllers", "cpu memory pids\n"));
  ASSERT_TRUE(
      writeFileAtomic(root_ + "/kubepods/burstable/cgroup.controllers", "cpu memory pids\n"));
  Resources r;
  r.cpu_shares = 512;
  r.cpu_quota_us = 50000;
  r.memory_limit_bytes = 64 << 20;
  r.pids_limit = 100;
  auto res = cg->create("kubepods/burstable/podabc/c1", r);
  ASSERT_TRUE(res) << res.error().message();
  EXPECT_EQ(read("cgroup.subtree_control"), "+cpu +memory +pids");
  EXPECT_EQ(read("kubepods/cgroup.subtree_control"), "+cpu +memory +pids");
  EXPECT_EQ(read("kubepods/burstable/podabc/c1/cpu.weight"), "20");
  EXPECT_EQ(read("kubepods/burstable/podabc/c1/cpu.max"), "50000 100000");
  EXPECT_EQ(read("kubepods/burstable/podabc/c1/memory.max"), std::to_string(64 << 20));
  EXPECT_EQ(read("kubepods/burstable/podabc/c1/pids.max"), "100");
  EXPECT_EQ(cg->oomFile("kubepods/burstable/podabc/c1"),
            root_ + "/kubepods/burstable/podabc/c1/memory.events");
}

TEST_F(CgroupFixture, V2UsageIsWorkingSetAndCpuNanoseconds) {
  auto cg = *makeCgroupManager(root_, hostinfo::CgroupMode::V2);
  fs::create_directories(root_ + "/c");
  ASSERT_TRUE(
      writeFileAtomic(root_ + "/c/cpu.stat", "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n"));
  ASSERT_TRUE(writeFileAtomic(root_ + "/c/memory.current", "10000\n"));
  ASSERT_TRUE(
      writeFileAtomic(root_ + "/c/memory.stat", "anon 6000\nfile 4000\ninactive_file 3000\n"));
  ASSERT_TRUE(
      writeFileAtomic(root_ + "/c/memory.events", "low 0\nhigh 0\nmax 2\noom 1\noom_kill 1\n"));
  auto u = cg->usage("c");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->cpu_usage_ns, 1500000u);
  EXPECT_EQ(u->memory_usage_bytes, 10000u);
  EXPECT_EQ(u->memory_working_set_bytes, 7000u);
  EXPECT_EQ(u->oom_kills, 1u);
}

TEST_F(CgroupFixture, V1WritesPerControllerFiles) {
  for (const char* c : {"cpu", "cpuacct", "memory", "pids"})
    fs::create_directories(root_ + "/" + c);
  auto cg = *makeCgroupManager(root_, hostinfo::CgroupMode::V1);
  Resources r;
  r.cpu_shares = 1024;
  r.cpu_quota_us = 20000;
  r.memory_limit_bytes = 1 << 30;
  r.pids_limit = 42;
  ASSERT_TRUE(cg->create("kubepods/podx/c", r));
  EXPECT_EQ(read("cpu/kubepods/podx/c/cpu.shares"), "1024");
  EXPECT_EQ(read("cpu/kubepods/podx/c/cpu.cfs_quota_us"), "20000");
  EXPECT_EQ(read("cpu/kubepods/podx/c/cpu.cfs_period_us"), "100000");
  EXPECT_EQ(read("memory/kubepods/podx/c/memory.limit_in_bytes"), std::to_string(1 << 30));
  EXPECT_EQ(read("pids/kubepods/podx/c/pids.max"), "42");
  EXPECT_EQ(cg->joinFiles("kubepods/podx/c").size(), 4u);
  // v1 joins by thread (`tasks`): no global lock, no grace period.
  EXPECT_EQ(
      cg->joinFiles("kubepods/podx/c")[0].substr(cg->joinFiles("kubepods/podx/c")[0].rfind('/')),
      "/tasks");
  ASSERT_TRUE(writeFileAtomic(root_ + "/memory/kubepods/podx/c/memory.usage_in_bytes", "5000\n"));
  ASSERT_TRUE(writeFileAtomic(root_ + "/memory/kubepods/podx/c/memory.stat",
                              "cache 100\ntotal_inactive_file 1000\n"));
  ASSERT_TRUE(writeFileAtomic(root_ + "/cpuacct/kubepods/podx/c/cpuacct.usage", "123456\n"));
  auto u = cg->usage("kubepods/podx/c");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->memory_working_set_bytes, 4000u);
  EXPECT_EQ(u->cpu_usage_ns, 123456u);
}

TEST(CgroupMathTest, SharesToWeightMatchesRunc) {
  EXPECT_EQ(cpuSharesToWeight(2), 1u);
  EXPECT_EQ(cpuSharesToWeight(1024), 39u);
  EXPECT_EQ(cpuSharesToWeight(262144), 10000u);
}

TEST(CgroupMathTest, RejectsDotDotPaths) {
  auto cg = *makeCgroupManager("/nonexistent-skiff", hostinfo::CgroupMode::V2);
  EXPECT_FALSE(cg->create("a/../../etc", Resources{}));
}

}  // namespace
}  // namespace skiff::runtime::sys
