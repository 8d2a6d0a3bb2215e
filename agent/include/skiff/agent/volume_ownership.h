#pragma once

// fsGroup ownership of pod volumes, as the kubelet's SetVolumeOwnership
// (pkg/volume/volume_linux.go): every file and directory of a volume gets group fsGroup (lchown,
// symlinks included), files get g+rw (g+r for read-only volumes) and directories also g+x and the
// setgid bit, so files created later inherit the group. Symlinks are never chmod'ed (that would
// change their target). With fsGroupChangePolicy OnRootMismatch the walk is skipped when the
// volume's root already has the group, the permission bits and setgid; Always (the default)
// walks every time. Failing lchown/chmod calls on single entries are logged and skipped, as the
// kubelet does; a tree that cannot be read is an error.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "skiff/common/result.h"

namespace skiff::agent {

struct FileAttrs {
  unsigned mode = 0;  // permission bits incl. setuid/setgid/sticky (07777)
  int64_t gid = 0;
  bool dir = false;
  bool symlink = false;
};

// Filesystem seam for the ownership walk; the real one calls lstat/lchown/chmod/readdir.
class OwnershipFs {
 public:
  virtual ~OwnershipFs() = default;
  virtual Result<FileAttrs> lstat(const std::string& path) = 0;
  // Entry names of a directory (no "." / "..").
  virtual Result<std::vector<std::string>> list(const std::string& dir) = 0;
  virtual Result<void> lchownGroup(const std::string& path, int64_t gid) = 0;
  virtual Result<void> chmod(const std::string& path, unsigned mode) = 0;
};
std::unique_ptr<OwnershipFs> makeRealOwnershipFs();

inline constexpr char kFSGroupChangeOnRootMismatch[] = "OnRootMismatch";
inline constexpr char kFSGroupChangeAlways[] = "Always";

struct OwnershipRequest {
  std::optional<int64_t> fs_group;  // nothing to do without one
  std::string change_policy;        // "" or Always: walk; OnRootMismatch: skip when root fits
  bool read_only = false;           // g+r instead of g+rw
};

// Applies `req` to the tree at `dir`. Returns whether the tree was walked (false: no fsGroup, or
// skipped by OnRootMismatch).
Result<bool> setVolumeOwnership(OwnershipFs& fs, const std::string& dir,
                                const OwnershipRequest& req);

}  // namespace skiff::agent
