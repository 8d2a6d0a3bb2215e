#include "skiff/runtime/testing/fake_init_ops.h"

#include <sys/mount.h>

#include <cerrno>

namespace skiff::runtime::testing {

FakeInitOps::FakeInitOps(int last_cap) : last_cap_(last_cap) {
  for (int c = 0; c <= last_cap; ++c) bounding_.insert(c);
  addDir("/");
  addFile("/dev/null");
}

const FakeInitOps::MountEntry* FakeInitOps::top(const std::string& target) const {
  auto it = mounts_.find(target);
  return it == mounts_.end() || it->second.empty() ? nullptr : &it->second.back();
}

std::size_t FakeInitOps::mountCount(const std::string& target) const {
  auto it = mounts_.find(target);
  return it == mounts_.end() ? 0 : it->second.size();
}

bool FakeInitOps::readonly(const std::string& target) const {
  const MountEntry* m = top(target);
  return m && m->readonly;
}

sys::PathKind FakeInitOps::pathKind(const std::string& path) {
  auto it = kinds_.find(path);
  return it == kinds_.end() ? sys::PathKind::Missing : it->second;
}

sys::SysResult FakeInitOps::mount(const std::string& source, const std::string& target,
                                  const std::string& fstype, unsigned long flags,
                                  const std::string& /*data*/) {
  if (fail_next_ != 0) {
    int e = fail_next_;
    fail_next_ = 0;
    return {-1, e};
  }
  if (pathKind(target) == sys::PathKind::Missing) return {-1, ENOENT};
  if ((flags & MS_REMOUNT) != 0) {
    // A remount changes the mount on top; / counts as mounted (the pivoted rootfs).
    auto& stack = mounts_[target];
    if (stack.empty()) {
      if (target != "/") return {-1, EINVAL};
      stack.push_back({"rootfs", "overlay", 0, false});
    }
    stack.back().readonly = (flags & MS_RDONLY) != 0;
    return {0, 0};
  }
  if ((flags & MS_BIND) != 0) {
    sys::PathKind src = pathKind(source);
    if (src == sys::PathKind::Missing) return {-1, ENOENT};
    // A bind keeps the source's read-only state; the target takes the source's kind.
    bool ro = readonly(source);
    mounts_[target].push_back({source, "bind", flags, ro});
    kinds_[target] = src;
    return {0, 0};
  }
  mounts_[target].push_back({source, fstype, flags, (flags & MS_RDONLY) != 0});
  return {0, 0};
}

sys::SysResult FakeInitOps::dropBoundingCap(int cap) {
  if (cap < 0 || cap > last_cap_) return {-1, EINVAL};
  bounding_.erase(cap);
  return {0, 0};
}

}  // namespace skiff::runtime::testing
