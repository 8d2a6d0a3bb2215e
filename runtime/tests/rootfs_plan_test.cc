#include "skiff/runtime/sys/rootfs_plan.h"

#include <gtest/gtest.h>
#include <sys/mount.h>

#include <algorithm>

namespace skiff::runtime::sys {
namespace {

using K = RootfsStep::Kind;

const RootfsStep* find(const std::vector<RootfsStep>& p, K kind, const std::string& target) {
  for (const auto& s : p)
    if (s.kind == kind && s.target == target) return &s;
  return nullptr;
}

std::size_t indexOf(const std::vector<RootfsStep>& p, K kind) {
  for (std::size_t i = 0; i < p.size(); ++i)
    if (p[i].kind == kind) return i;
  return p.size();
}

RootfsRequest defaults() {
  RootfsRequest r;
  r.masked_paths = {"/proc/kcore", "/sys/firmware"};
  r.readonly_paths = {"/proc/sys"};
  r.volumes = {{"/data", "/host/data", true}};
  return r;
}

TEST(RootfsPlanTest, DefaultContainerGetsMinimalDevReadOnlySysAndMasks) {
  auto p = rootfsPlan(defaults());
  for (const char* d :
       {"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"})
    EXPECT_NE(find(p, K::Mknod, d), nullptr) << d;
  EXPECT_EQ(find(p, K::Mknod, "/dev/null")->major, 1u);
  EXPECT_EQ(find(p, K::Mknod, "/dev/tty")->major, 5u);
  auto* pts = find(p, K::Mount, "/dev/pts");
  ASSERT_NE(pts, nullptr);
  EXPECT_NE(pts->data.find("newinstance"), std::string::npos);
  auto* sysfs = find(p, K::Mount, "/sys");
  ASSERT_NE(sysfs, nullptr);
  EXPECT_TRUE(sysfs->flags & MS_RDONLY);
  EXPECT_NE(find(p, K::Mount, "/dev/mqueue"), nullptr);
  EXPECT_NE(find(p, K::Mount, "/dev/shm"), nullptr);
  EXPECT_EQ(find(p, K::Symlink, "/dev/ptmx")->source, "pts/ptmx");
  // Volumes before the pivot (host paths still reachable), masks after (container paths).
  std::size_t pivot = indexOf(p, K::PivotRoot);
  ASSERT_LT(pivot, p.size());
  EXPECT_LT(indexOf(p, K::BindVolume), pivot);
  EXPECT_GT(indexOf(p, K::Mask), pivot);
  EXPECT_TRUE(find(p, K::BindVolume, "/data")->readonly);
  EXPECT_NE(find(p, K::Mask, "/proc/kcore"), nullptr);
  EXPECT_NE(find(p, K::ReadOnly, "/proc/sys"), nullptr);
  EXPECT_EQ(find(p, K::ReadOnlyRoot, "/"), nullptr);
}

TEST(RootfsPlanTest, PrivilegedHasWritableSysAndNoMasks) {
  RootfsRequest r = defaults();
  r.privileged = true;
  r.readonly_rootfs = true;
  auto p = rootfsPlan(r);
  EXPECT_FALSE(find(p, K::Mount, "/sys")->flags & MS_RDONLY);
  EXPECT_EQ(indexOf(p, K::Mask), p.size());
  EXPECT_EQ(indexOf(p, K::ReadOnly), p.size());
  EXPECT_EQ(p.back().kind, K::ReadOnlyRoot);
}

}  // namespace
}  // namespace skiff::runtime::sys
