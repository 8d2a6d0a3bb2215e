#pragma once

// Pod resource arithmetic the agent needs: quantities, effective requests (kubelet's
// max(sum(containers), max(initContainers)) rule), the QoS class and the cgroup values kubelet
// derives from them (pkg/kubelet/cm/helpers_linux.go, pkg/kubelet/qos/policy.go).
//
// TODO(agent): switch to common/quantity.h once the hostinfo branch lands it.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "skiff/common/result.h"

namespace skiff::agent {

// "500m" -> 500, "2" -> 2000, "1.5" -> 1500.
Result<int64_t> parseMilliCpu(const std::string& q);
// "128Mi", "1G", "1e3", "100k", "123" -> bytes (rounded up).
Result<int64_t> parseBytes(const std::string& q);
// Quantity as a plain integer of units: "110" -> 110 (pods).
Result<int64_t> parseCount(const std::string& q);

struct PodResources {
  int64_t cpu_milli = 0;
  int64_t memory_bytes = 0;
};
// Effective requests of a pod (init containers run one at a time, so the max of them counts).
PodResources podRequests(const nlohmann::json& pod);
PodResources containerRequests(const nlohmann::json& container);
PodResources containerLimits(const nlohmann::json& container);

// "Guaranteed" | "Burstable" | "BestEffort" (pkg/apis/core/v1/helper/qos).
std::string qosClass(const nlohmann::json& pod);

// kubelet: shares = milliCPU*1024/1000 (min 2), quota = milliCPU*period/1000 (min 1000).
int64_t milliCpuToShares(int64_t milli);
int64_t milliCpuToQuota(int64_t milli, int64_t period);
// pkg/kubelet/qos/policy.go GetContainerOOMScoreAdjust.
int64_t oomScoreAdjust(const nlohmann::json& pod, const nlohmann::json& container,
                       int64_t memory_capacity);

}  // namespace skiff::agent
