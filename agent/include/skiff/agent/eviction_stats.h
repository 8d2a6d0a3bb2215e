#pragma once

// The eviction manager's view of this machine: node signals from /proc/meminfo, statvfs of the
// agent's root dir (nodefs) and of the runtime root (imagefs), /proc/loadavg + pid_max (pids);
// per-pod usage from the runtime's container stats plus the pod's local volumes on disk.

#include <memory>
#include <string>

#include "skiff/agent/container_runtime.h"
#include "skiff/agent/eviction.h"

namespace skiff::agent {

struct EvictionStatsPaths {
  std::string root_dir;      // nodefs: pods/<uid>/volumes live here
  std::string runtime_root;  // imagefs
};

std::unique_ptr<EvictionStatsSource> makeNodeEvictionStats(EvictionStatsPaths paths,
                                                           ContainerRuntime& runtime);

}  // namespace skiff::agent
