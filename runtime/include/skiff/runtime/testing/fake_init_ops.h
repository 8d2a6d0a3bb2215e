#pragma once

// A fake of sys::InitOps that keeps state: a set of paths (directories and other files), a
// mount table (a stack of mounts per target) and the capability bounding set, so tests ask
// "is /proc/sys read-only now?" rather than comparing call lists.

#include <map>
#include <set>
#include <string>
#include <vector>

#include "skiff/runtime/sys/init_ops.h"

namespace skiff::runtime::testing {

class FakeInitOps : public sys::InitOps {
 public:
  struct MountEntry {
    std::string source;
    std::string fstype;  // "bind" for bind mounts
    unsigned long flags = 0;
    bool readonly = false;
  };

  explicit FakeInitOps(int last_cap = 40);

  void addDir(const std::string& path) { kinds_[path] = sys::PathKind::Directory; }
  void addFile(const std::string& path) { kinds_[path] = sys::PathKind::Other; }
  // The next mount() fails with this errno.
  void failNextMount(int err) { fail_next_ = err; }

  // The mount on top at `target`, or nullptr.
  const MountEntry* top(const std::string& target) const;
  std::size_t mountCount(const std::string& target) const;
  bool readonly(const std::string& target) const;
  const std::set<int>& bounding() const { return bounding_; }

  // sys::InitOps
  sys::PathKind pathKind(const std::string& path) override;
  sys::SysResult mount(const std::string& source, const std::string& target,
                       const std::string& fstype, unsigned long flags,
                       const std::string& data) override;
  sys::SysResult dropBoundingCap(int cap) override;

 private:
  std::map<std::string, sys::PathKind> kinds_;
  std::map<std::string, std::vector<MountEntry>> mounts_;
  std::set<int> bounding_;
  int last_cap_;
  int fail_next_ = 0;
};

}  // namespace skiff::runtime::testing
