#pragma once

// The cgroup values and OOM scores the kubelet derives from a pod's resources
// (pkg/kubelet/cm/helpers_linux.go, pkg/kubelet/qos/policy.go). Quantities, effective requests and
// the QoS class come from common (skiff/common/pod_resources.h), the same code the scheduler uses,
// so node admission and the scheduler agree on whether a pod fits.

#include <nlohmann/json.hpp>

#include <cstdint>

#include "skiff/common/pod_resources.h"

namespace skiff::agent {

// The two resources the agent's cgroups and admission act on.
struct PodResources {
  int64_t cpu_milli = 0;
  int64_t memory_bytes = 0;
};
// cpu (milli-cores) and memory (bytes, rounded up) of a resource list.
PodResources cpuAndMemory(const MilliResourceList& list);

// kubelet: shares = milliCPU*1024/1000 (min 2), quota = milliCPU*period/1000 (min 1000).
int64_t milliCpuToShares(int64_t milli);
int64_t milliCpuToQuota(int64_t milli, int64_t period);
// pkg/kubelet/qos/policy.go GetContainerOOMScoreAdjust.
int64_t oomScoreAdjust(const nlohmann::json& pod, const nlohmann::json& container,
                       int64_t memory_capacity);

}  // namespace skiff::agent
