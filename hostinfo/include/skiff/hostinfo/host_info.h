#pragma once

// Everything hostinfo knows about the node, collected once from the files under a root and the
// HostSys seam. The agent turns it into Node.status (node_object.h).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "skiff/common/result.h"
#include "skiff/hostinfo/cgroups.h"
#include "skiff/hostinfo/cpuinfo.h"
#include "skiff/hostinfo/host_paths.h"
#include "skiff/hostinfo/meminfo.h"
#include "skiff/hostinfo/os_release.h"
#include "skiff/hostinfo/sys/host_sys.h"

namespace skiff::hostinfo {

struct HugePages {
  std::uint64_t page_size_bytes = 0;
  std::uint64_t pages = 0;  // pages reserved in the pool (nr_hugepages / HugePages_Total)
};

struct HostInfo {
  // uname(2)
  std::string hostname;        // nodename, as the kernel has it (not lowercased)
  std::string kernel_release;  // nodeInfo.kernelVersion
  std::string machine;         // "x86_64"
  std::string architecture;    // Go name: nodeInfo.architecture and kubernetes.io/arch

  // /etc/os-release or /usr/lib/os-release
  OsRelease os_release;
  std::string os_release_path;  // the file used, empty if neither exists
  std::string os_image;         // PRETTY_NAME, "Linux" if absent

  std::string machine_id;   // /etc/machine-id (or /var/lib/dbus/machine-id); empty if absent
  std::string system_uuid;  // /sys/class/dmi/id/product_uuid; empty if absent or unreadable
  std::string boot_id;      // /proc/sys/kernel/random/boot_id

  // CPUs
  CpuInfo cpuinfo;
  std::vector<int> online_cpus;                   // /sys/devices/system/cpu/online
  std::optional<std::vector<int>> affinity;       // sched_getaffinity(2)
  std::optional<std::vector<int>> cgroup_cpuset;  // this process's cpuset
  std::vector<int> usable_cpus;                   // online ∩ affinity ∩ cpuset: cpu capacity

  // Memory
  MemInfo meminfo;
  std::optional<std::uint64_t> cgroup_memory_limit;  // this process's memory cgroup limit
  std::uint64_t memory_capacity_bytes = 0;           // min(MemTotal, cgroup limit)
  std::vector<HugePages> hugepages;                  // ascending page size

  // Filesystem of the state directory (ephemeral-storage).
  std::optional<sys::FsStats> state_fs;
  std::string state_fs_path;  // the directory statfs'd (nearest existing ancestor)

  CgroupInfo cgroups;
};

// Go's GOARCH name for a uname machine: x86_64 -> amd64, aarch64 -> arm64, ppc64le, s390x,
// armv7l -> arm, i686 -> 386, riscv64. Unknown names are returned unchanged.
std::string goArch(std::string_view machine);

// /proc/meminfo under `paths.root`, read now: for live signals (MemAvailable for eviction).
Result<MemInfo> readMemInfo(const HostPaths& paths);

// Collects HostInfo from the files under `paths.root` and from `sys`.
//
// Required (an error naming the file when missing, empty, truncated or binary): /proc/cpuinfo,
// /proc/meminfo, /proc/sys/kernel/random/boot_id, the cgroup files (cgroups.h) and uname.
// Documented fallbacks:
// - /sys/devices/system/cpu/online missing: the processors listed in /proc/cpuinfo;
// - os-release missing in both places: os_image "Linux";
// - /etc/machine-id and /var/lib/dbus/machine-id missing: empty machineID (as kubelet);
// - product_uuid missing or not readable (it is root-only): empty systemUUID;
// - /sys/kernel/mm/hugepages missing: the default size from /proc/meminfo, if any;
// - state_dir missing: its nearest existing ancestor is statfs'd.
// Memory capacity is MemTotal lowered to this process's memory cgroup limit, and usable CPUs are
// the online CPUs this process may run on (affinity and cpuset), so an agent in a limited
// container reports what it can actually use.
Result<HostInfo> collectHostInfo(const HostPaths& paths, sys::HostSys& sys);
// The same with the real system calls (sys::makeRealHostSys()).
Result<HostInfo> collectHostInfo(const HostPaths& paths = HostPaths{});

}  // namespace skiff::hostinfo
