#pragma once

// Container cgroups on v1, v2 and hybrid hosts (the cgroupfs driver). A cgroup is named by a path
// relative to each hierarchy's root, e.g. "kubepods/burstable/pod<uid>/<container id>", placed
// under an optional parent (tests use "skiff-test-<pid>"). All access is plain file I/O under
// `root` (default /sys/fs/cgroup), so the logic runs against fixture trees in unit tests (youki
// tests its controllers the same way).
//
// Which layout the host has is hostinfo's to detect (hostinfo/cgroups.h, the one place that reads
// mountinfo); the caller passes the mode it found. Hybrid hosts (v1 controllers plus a v2 tree at
// <root>/unified) are driven through v1: that is where the controllers are.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "skiff/common/result.h"
#include "skiff/common/split_list.h"
#include "skiff/hostinfo/cgroups.h"
#include "skiff/runtime/runtime.h"

namespace skiff::runtime::sys {

// Refuses a cgroup root that lacks a hierarchy containers need (v1: cpu, cpuacct, memory, pids
// mounted under it; v2: those controllers listed in cgroup.controllers), as the kubelet refuses
// to start ("system validation failed - Following Cgroup subsystem not mounted"). Without the
// check a root with nothing mounted (/sys remounted by `ip netns exec`) would run every container
// with no limits and no accounting.
Result<void> checkCgroupRoot(const std::string& root, hostinfo::CgroupMode mode);

// cpu.shares -> cpu.weight, the formula runc and the kubelet use (kubernetes/kubernetes#131216).
std::uint64_t cpuSharesToWeight(std::uint64_t shares);

struct CgroupUsage {
  std::uint64_t cpu_usage_ns = 0;
  std::uint64_t memory_usage_bytes = 0;
  std::uint64_t memory_working_set_bytes = 0;  // usage - inactive_file (kubelet/cadvisor)
  std::uint64_t oom_kills = 0;
};

class CgroupManager {
 public:
  virtual ~CgroupManager() = default;
  // Creates the cgroup (and missing ancestors; on v2 enabling cpu/memory/pids in each ancestor's
  // cgroup.subtree_control) and writes the limits. Existing cgroup: limits rewritten. On v1 the
  // devices controller gets runc's default allowlist unless `all_devices` (privileged).
  virtual Result<void> create(const std::string& rel, const Resources& res,
                              bool all_devices = false) = 0;
  // The files a single-threaded process writes "0" to in order to join (one per v1 hierarchy).
  // v1: `tasks`, which moves the calling thread only and so, unlike cgroup.procs, does not take
  // the global cgroup threadgroup rwsem, whose write side waits for an RCU grace period (~10 ms
  // here, per start). v2: cgroup.procs.
  virtual std::vector<std::string> joinFiles(const std::string& rel) const = 0;
  // The file whose "oom_kill N" line counts OOM kills (memory.oom_control / memory.events).
  virtual std::string oomFile(const std::string& rel) const = 0;
  // The path runc takes as linux.cgroupsPath (cgroupfs driver): "/<rel>".
  virtual Result<CgroupUsage> usage(const std::string& rel) const = 0;
  // Kills what is left (cgroup.kill or SIGKILL to cgroup.procs), then rmdir in each hierarchy.
  // Absent: false.
  virtual Result<bool> remove(const std::string& rel) = 0;
  // Pids in the cgroup (first hierarchy).
  virtual Result<std::vector<int>> pids(const std::string& rel) const = 0;
};

using CgroupManagerPtr = std::unique_ptr<CgroupManager>;
// The cgroupfs driver for `mode` (v1 and hybrid: the v1 hierarchies under `root`; v2: the
// unified tree at `root`). Unavailable for CgroupMode::None.
Result<CgroupManagerPtr> makeCgroupManager(const std::string& root, hostinfo::CgroupMode mode);

// The components of a cgroup path relative to the hierarchy ("a//b/" is a, b); Invalid when one
// is "." or "..". The driver and its fake create a cgroup's parents from them.
inline Result<std::vector<std::string>> cgroupPathComponents(const std::string& rel) {
  std::vector<std::string> out;
  for (const std::string_view comp : splitAt(rel, '/')) {
    if (comp.empty()) continue;
    if (comp == "." || comp == "..")
      return Error(ErrorCode::Invalid, "cgroup path '" + rel + "' has '..'");
    out.emplace_back(comp);
  }
  return out;
}

}  // namespace skiff::runtime::sys
