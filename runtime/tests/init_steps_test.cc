// skiff-init's decisions against FakeInitOps: masked and read-only paths (what gets mounted
// depends on what the path is), and the capability set computation. Plus the fake itself.
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/mount.h>

#include <algorithm>
#include <cerrno>

#include "launch_spec.h"
#include "skiff/runtime/sys/capability_plan.h"
#include "skiff/runtime/sys/rootfs_apply.h"
#include "skiff/runtime/testing/fake_init_ops.h"

namespace skiff::runtime::sys {
namespace {

using K = RootfsStep::Kind;
using skiff::runtime::testing::FakeInitOps;

RootfsStep step(K kind, const std::string& target) {
  RootfsStep s;
  s.kind = kind;
  s.target = target;
  return s;
}

// The post-pivot part of the plan for the default masked/read-only paths.
Result<void> applyDefaults(InitOps& ops) {
  RootfsRequest req;
  req.masked_paths = defaultMaskedPaths();
  req.readonly_paths = defaultReadonlyPaths();
  for (const auto& s : rootfsPlan(req))
    if (s.kind == K::Mask || s.kind == K::ReadOnly || s.kind == K::ReadOnlyRoot)
      SKIFF_TRY(applyPathStep(ops, s));
  return ok();
}

TEST(InitStepsTest, MasksFilesWithDevNullDirectoriesWithEmptyTmpfsAndSkipsMissing) {
  FakeInitOps fs;
  fs.addFile("/proc/kcore");
  fs.addFile("/proc/keys");
  fs.addDir("/proc/acpi");
  fs.addDir("/sys/firmware");
  fs.addDir("/proc/sys");
  fs.addDir("/proc/irq");
  // /proc/timer_list, /proc/scsi, ... absent on this "kernel": skipped, no error.
  ASSERT_TRUE(applyDefaults(fs));
  ASSERT_NE(fs.top("/proc/kcore"), nullptr);
  EXPECT_EQ(fs.top("/proc/kcore")->source, "/dev/null");
  EXPECT_EQ(fs.top("/proc/kcore")->fstype, "bind");
  ASSERT_NE(fs.top("/sys/firmware"), nullptr);
  EXPECT_EQ(fs.top("/sys/firmware")->fstype, "tmpfs");
  EXPECT_TRUE(fs.readonly("/sys/firmware"));
  EXPECT_EQ(fs.top("/proc/timer_list"), nullptr);
  // Read-only paths: bound on themselves, then remounted read-only.
  EXPECT_EQ(fs.mountCount("/proc/sys"), 1u);
  EXPECT_TRUE(fs.readonly("/proc/sys"));
  EXPECT_TRUE(fs.readonly("/proc/irq"));
  EXPECT_FALSE(fs.readonly("/proc/keys")) << "masked, not read-only: /dev/null stays writable";
}

TEST(InitStepsTest, ReadOnlyRootAndErrorsCarryThePath) {
  FakeInitOps fs;
  ASSERT_TRUE(applyPathStep(fs, step(K::ReadOnlyRoot, "/")));
  EXPECT_TRUE(fs.readonly("/"));
  fs.addFile("/proc/kcore");
  fs.failNextMount(EPERM);
  auto r = applyPathStep(fs, step(K::Mask, "/proc/kcore"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("mask /proc/kcore"), std::string::npos) << r.error().message();
  EXPECT_FALSE(applyPathStep(fs, step(K::Mount, "/proc")));
}

bool allSupported(int) { return true; }
bool noneAbove37(int c) { return c <= 37; }

TEST(InitStepsTest, CapabilityPlanKeepsTheDefaultsForRootOnly) {
  std::vector<int> keep = {CAP_CHOWN, CAP_NET_BIND_SERVICE, CAP_KILL, CAP_KILL, 99};
  auto root = capabilityPlan(keep, 40, 0, allSupported);
  EXPECT_EQ(root.process_caps, (std::vector<int>{CAP_CHOWN, CAP_KILL, CAP_NET_BIND_SERVICE}));
  EXPECT_EQ(root.bounding_drops.size(), 41u - 3u);
  EXPECT_NE(std::find(root.bounding_drops.begin(), root.bounding_drops.end(), CAP_SYS_ADMIN),
            root.bounding_drops.end());
  EXPECT_EQ(std::find(root.bounding_drops.begin(), root.bounding_drops.end(), CAP_KILL),
            root.bounding_drops.end());
  // A non-root user keeps the bounding set but starts with no capabilities.
  auto user = capabilityPlan(keep, 40, 1000, allSupported);
  EXPECT_TRUE(user.process_caps.empty());
  EXPECT_EQ(user.bounding_drops, root.bounding_drops);
  // Capabilities this kernel does not support are not dropped (the prctl would fail).
  auto old = capabilityPlan(keep, 40, 0, noneAbove37);
  EXPECT_EQ(old.bounding_drops.back(), 37);
}

TEST(InitStepsTest, DropBoundingSetLeavesExactlyTheKeptOnes) {
  FakeInitOps fs(40);
  auto plan = capabilityPlan({CAP_CHOWN, CAP_SETUID}, 40, 0, allSupported);
  ASSERT_TRUE(dropBoundingSet(fs, plan));
  EXPECT_EQ(fs.bounding(), (std::set<int>{CAP_CHOWN, CAP_SETUID}));
  CapabilityPlan bad;
  bad.bounding_drops = {41};
  auto r = dropBoundingSet(fs, bad);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().sysErrno(), EINVAL);
}

TEST(FakeInitOpsTest, ModelsBindsRemountsAndMissingTargets) {
  FakeInitOps fs;
  fs.addDir("/a");
  fs.addFile("/f");
  EXPECT_EQ(fs.mount("tmpfs", "/missing", "tmpfs", 0, "").err, ENOENT);
  EXPECT_EQ(fs.mount("", "/a", "", MS_BIND | MS_REMOUNT | MS_RDONLY, "").err, EINVAL)
      << "remount of an unmounted path";
  ASSERT_TRUE(fs.mount("/f", "/a", "", MS_BIND, "").ok());
  EXPECT_EQ(fs.pathKind("/a"), PathKind::Other) << "a file bound over the dir";
  ASSERT_TRUE(fs.mount("", "/a", "", MS_BIND | MS_REMOUNT | MS_RDONLY, "").ok());
  EXPECT_TRUE(fs.readonly("/a"));
  ASSERT_TRUE(fs.mount("/a", "/f", "", MS_BIND, "").ok());
  EXPECT_TRUE(fs.readonly("/f")) << "a bind of a read-only mount is read-only";
  EXPECT_EQ(fs.mountCount("/a"), 1u);
}

}  // namespace
}  // namespace skiff::runtime::sys
