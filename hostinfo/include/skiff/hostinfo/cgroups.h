#pragma once

// cgroup detection: which hierarchy layout the host uses (v1, v2 or hybrid), which controllers
// are available and where, and the cgroup this process runs in. Sources: /proc/self/mountinfo,
// /proc/cgroups, /proc/self/cgroup and, for v2, <mount>/cgroup.controllers.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "skiff/common/result.h"
#include "skiff/hostinfo/host_paths.h"

namespace skiff::hostinfo {

// One line of /proc/self/mountinfo (proc(5)); octal escapes (\040) decoded.
struct MountInfoEntry {
  int mount_id = 0;
  int parent_id = 0;
  std::string root;         // root of the mount within its filesystem
  std::string mount_point;  // where it is mounted
  std::string mount_options;
  std::string fs_type;  // "cgroup", "cgroup2", "ext4", ...
  std::string source;
  std::string super_options;  // for cgroup v1: the controllers, e.g. "rw,cpu,cpuacct"
};
Result<std::vector<MountInfoEntry>> parseMountInfo(std::string_view text, std::string_view source);

// One row of /proc/cgroups.
struct CgroupSubsystem {
  std::string name;
  int hierarchy = 0;  // 0: not bound to a v1 hierarchy (free for v2)
  int num_cgroups = 0;
  bool enabled = false;  // false when disabled on the kernel command line (cgroup_disable=)
};
Result<std::vector<CgroupSubsystem>> parseProcCgroups(std::string_view text,
                                                      std::string_view source);

// One line of /proc/self/cgroup: "hierarchy-ID:controller-list:cgroup-path".
struct ProcCgroupEntry {
  int hierarchy = 0;                     // 0 is the v2 unified hierarchy
  std::vector<std::string> controllers;  // empty for v2; "name=systemd" for named hierarchies
  std::string path;
};
Result<std::vector<ProcCgroupEntry>> parseProcSelfCgroup(std::string_view text,
                                                         std::string_view source);

enum class CgroupMode {
  None,    // no cgroup filesystem mounted
  V1,      // legacy: only v1 hierarchies
  V2,      // unified: a cgroup2 mount and no v1 controller hierarchy
  Hybrid,  // v1 controllers plus a cgroup2 mount (usually /sys/fs/cgroup/unified)
};
std::string_view cgroupModeName(CgroupMode mode);  // "none", "v1", "v2", "hybrid"

struct CgroupController {
  int version = 0;          // 1 or 2
  std::string mount_point;  // host path of the hierarchy, e.g. "/sys/fs/cgroup/memory"
  std::string self_dir;     // this process's cgroup directory in it (host path, without root)
};

struct CgroupInfo {
  CgroupMode mode = CgroupMode::None;
  std::string unified_mount;  // the cgroup2 mount point, empty if none
  std::string self_path_v2;   // the "0::" path from /proc/self/cgroup, empty if none
  // Usable controllers by name ("cpu", "memory", "cpuset", ...): enabled in /proc/cgroups and
  // mounted as v1, or listed in the v2 root's cgroup.controllers.
  std::map<std::string, CgroupController> controllers;
  // Controllers the kernel knows but which are disabled (cgroup_disable=memory on a Pi).
  std::vector<std::string> disabled;
};

// Reads and combines the cgroup files under `paths.root`. A host without cgroup mounts gives
// mode None. Errors name the file that is missing or malformed.
Result<CgroupInfo> detectCgroups(const HostPaths& paths);

// The lowest memory limit on the path from this process's memory cgroup up to the hierarchy root
// (v1 memory.limit_in_bytes, v2 memory.max); nullopt when unlimited or no memory controller.
Result<std::optional<std::uint64_t>> cgroupMemoryLimit(const HostPaths& paths,
                                                       const CgroupInfo& cgroups);

// The CPUs this process's cpuset allows (v1 cpuset.effective_cpus or cpuset.cpus, v2
// cpuset.cpus.effective of the nearest cgroup that has it); nullopt without a cpuset controller.
Result<std::optional<std::vector<int>>> cgroupCpuset(const HostPaths& paths,
                                                     const CgroupInfo& cgroups);

}  // namespace skiff::hostinfo
