#pragma once

// The kernel calls hostinfo makes that are not file reads (STYLE.md §3): uname(2),
// sched_getaffinity(2) and statfs(2). File reads take a root directory instead (HostPaths), so
// with this seam faked a fixture tree gives a fully deterministic result.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "skiff/common/result.h"

namespace skiff::hostinfo::sys {

// struct utsname, as strings.
struct Uname {
  std::string sysname;   // "Linux"
  std::string nodename;  // the hostname
  std::string release;   // "6.1.0-18-amd64" (Node.status.nodeInfo.kernelVersion)
  std::string version;   // "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)"
  std::string machine;   // "x86_64", "aarch64", "ppc64le", "s390x"
};

// What statfs(2) says about a filesystem, in bytes and inodes, computed as cadvisor does:
// capacity = f_blocks * f_frsize, available = f_bavail * f_frsize.
struct FsStats {
  std::uint64_t capacity_bytes = 0;
  std::uint64_t free_bytes = 0;
  std::uint64_t available_bytes = 0;
  std::uint64_t inodes = 0;
  std::uint64_t inodes_free = 0;
};

class HostSys {
 public:
  virtual ~HostSys() = default;
  // @see man 2 uname
  virtual Result<Uname> uname() = 0;
  // The CPUs this process may run on, ascending. @see man 2 sched_getaffinity
  virtual Result<std::vector<int>> schedGetAffinity() = 0;
  // @see man 2 statfs. A missing path is ErrorCode::NotFound (errno ENOENT).
  virtual Result<FsStats> statfs(const std::string& path) = 0;
};
using HostSysPtr = std::unique_ptr<HostSys>;

// The real system calls.
HostSysPtr makeRealHostSys();

}  // namespace skiff::hostinfo::sys
