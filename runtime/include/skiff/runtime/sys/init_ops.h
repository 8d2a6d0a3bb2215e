#pragma once

// The kernel calls skiff-init makes for the steps whose outcome depends on what it finds
// (masked and read-only paths, the capability bounding set), one thin method each (STYLE.md §3),
// so the decisions (rootfs_apply.h, capability_plan.h) are unit-tested against
// testing/fake_init_ops.h, which models a file tree and a mount table.

#include <string>

namespace skiff::runtime::sys {

// A syscall's outcome: rc as the call returned it and errno captured at the call.
struct SysResult {
  int rc = 0;
  int err = 0;
  bool ok() const { return rc >= 0; }
};

enum class PathKind { Missing, Directory, Other };

class InitOps {
 public:
  virtual ~InitOps() = default;
  // stat(2), following symlinks.
  virtual PathKind pathKind(const std::string& path) = 0;
  // mount(2); empty source/fstype/data pass NULL.
  virtual SysResult mount(const std::string& source, const std::string& target,
                          const std::string& fstype, unsigned long flags,
                          const std::string& data) = 0;
  // prctl(PR_CAPBSET_DROP, cap).
  virtual SysResult dropBoundingCap(int cap) = 0;
};

// The real calls (skiff-init).
InitOps& realInitOps();

}  // namespace skiff::runtime::sys
