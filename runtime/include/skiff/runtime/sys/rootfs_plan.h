#pragma once

// What a container's filesystem view is made of, as an ordered list of steps, so the policy
// (which mounts, which flags, what is masked or read-only) is a pure function tested without a
// kernel, and skiff-init only executes steps one syscall each (STYLE.md §3: no policy in seams).
//
// Steps before PivotRoot name paths inside the new root (resolved with RESOLVE_IN_ROOT by the
// executor); steps after it name paths in the container's own view.

#include <string>
#include <vector>

#include "skiff/runtime/runtime.h"

namespace skiff::runtime::sys {

struct RootfsStep {
  enum class Kind {
    Mount,       // mount(source, target, fstype, flags, data); creates the target directory
    Mknod,       // character device target (major, minor), mode 0666
    Symlink,     // target -> source
    BindVolume,  // bind host `source` on target (created as file or dir), rprivate, ro if readonly
    PivotRoot,   // pivot_root into the rootfs and detach the old root
    Mask,        // /dev/null over a file, an empty read-only tmpfs over a directory; absent: skip
    ReadOnly,    // bind the path on itself read-only; absent: skip
    ReadOnlyRoot,  // remount / read-only
  };
  Kind kind = Kind::Mount;
  std::string source;
  std::string target;
  std::string fstype;
  std::string data;
  unsigned long flags = 0;
  unsigned major = 0;
  unsigned minor = 0;
  bool readonly = false;

  bool operator==(const RootfsStep&) const = default;
};

struct RootfsRequest {
  bool privileged = false;
  bool readonly_rootfs = false;
  std::vector<Mount> volumes;
  std::vector<std::string> masked_paths;
  std::vector<std::string> readonly_paths;
};

// /proc; a tmpfs /dev with null zero full random urandom tty, the fd/std* and ptmx symlinks,
// a private devpts, shm and mqueue; /sys (read-only unless privileged); the volumes; pivot_root;
// masked and read-only paths (none when privileged); a read-only root if asked.
std::vector<RootfsStep> rootfsPlan(const RootfsRequest& request);

}  // namespace skiff::runtime::sys
