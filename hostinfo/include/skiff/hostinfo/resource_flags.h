#pragma once

// kubelet's resource reservation flags, with kubelet's syntax and checks:
//   --kube-reserved / --system-reserved   cpu=100m,memory=256Mi,ephemeral-storage=1Gi,pid=1000
//   --eviction-hard                       memory.available<100Mi,nodefs.available<10%

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "skiff/common/quantity.h"
#include "skiff/common/result.h"

namespace skiff::hostinfo {

// Resource name -> quantity, ordered by name (v1.ResourceList).
using ResourceList = std::map<std::string, Quantity>;

inline constexpr const char* kResourceCpu = "cpu";
inline constexpr const char* kResourceMemory = "memory";
inline constexpr const char* kResourceEphemeralStorage = "ephemeral-storage";
inline constexpr const char* kResourcePods = "pods";
inline constexpr const char* kResourcePid = "pid";
inline constexpr const char* kHugePagesPrefix = "hugepages-";

// Parses a reservation flag value (kubelet's parseResourceList over a key=value map). Only cpu,
// memory, ephemeral-storage and pid may be reserved; quantities must parse and be non-negative.
// Spaces around keys and values are trimmed; an empty value gives an empty list; a repeated key
// keeps the last value. Errors start with the flag name, e.g.
//   "invalid --kube-reserved 'gpu=1': cannot reserve \"gpu\" resource".
Result<ResourceList> parseReservedFlag(std::string_view value, std::string_view flag);
// The same checks for a KubeletConfiguration map (kubeReserved, systemReserved).
Result<ResourceList> parseReservedMap(const std::map<std::string, std::string>& pairs,
                                      std::string_view flag);

// One hard eviction threshold: signal < quantity, or signal < percentage of capacity.
struct EvictionThreshold {
  std::string signal;                // "memory.available", "nodefs.available", ...
  std::optional<Quantity> quantity;  // absolute threshold, or
  float percentage = 0;              // fraction of capacity; float32 as kubelet keeps it
};

// Parses --eviction-hard ("signal<value" pairs separated by commas), validating as kubelet's
// ParseThresholdConfig does: known signals only, no duplicates, quantities > 0, percentages in
// [0%, 100%] with "0%" and "100%" meaning "no threshold" (dropped).
Result<std::vector<EvictionThreshold>> parseEvictionThresholds(
    std::string_view value, std::string_view flag = "--eviction-hard");

// The steps of parseEvictionThresholds, for callers that keep the kubelet's signal -> value map
// (KubeletConfiguration evictionHard/evictionSoft):
// - splitEvictionFlag: "signal<value,..." into the map; malformed pairs and duplicates refused;
// - parseEvictionThreshold: one statement's checks; nullopt for "0%" and "100%" (no threshold);
// - parseEvictionThresholdMap: every statement of a map, in signal order.
Result<std::map<std::string, std::string>> splitEvictionFlag(std::string_view value,
                                                             std::string_view flag);
Result<std::optional<EvictionThreshold>> parseEvictionThreshold(const std::string& signal,
                                                                std::string_view value,
                                                                std::string_view flag);
Result<std::vector<EvictionThreshold>> parseEvictionThresholdMap(
    const std::map<std::string, std::string>& thresholds, std::string_view flag);

// kubelet's Linux default when --eviction-hard is not given:
// memory.available<100Mi,nodefs.available<10%,imagefs.available<15%,nodefs.inodesFree<5%
std::vector<EvictionThreshold> defaultEvictionHard();
inline constexpr const char* kDefaultEvictionHard =
    "memory.available<100Mi,nodefs.available<10%,imagefs.available<15%,nodefs.inodesFree<5%";

}  // namespace skiff::hostinfo
