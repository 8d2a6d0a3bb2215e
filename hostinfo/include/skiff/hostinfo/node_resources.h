#pragma once

// Node.status.capacity and .allocatable, computed as kubelet does:
//   capacity    cpu (usable CPUs), memory, ephemeral-storage (state dir filesystem),
//               hugepages-<size> (one per supported page size), pods (--max-pods)
//   allocatable capacity - system-reserved - kube-reserved - hard eviction threshold, per
//               resource, never below zero; memory further lowered by every hugepages-* capacity
// (kubelet: containerManagerImpl.GetNodeAllocatableReservation, hardEvictionReservation and the
// MachineInfo node status setter).

#include <optional>
#include <string>
#include <vector>

#include "skiff/common/result.h"
#include "skiff/hostinfo/host_info.h"
#include "skiff/hostinfo/resource_flags.h"

namespace skiff::hostinfo {

inline constexpr int kDefaultMaxPods = 110;

// The node-level flags that shape Node.status (kubelet flag names).
struct NodeConfig {
  std::optional<std::string> hostname_override;      // --hostname-override
  ResourceList kube_reserved;                        // --kube-reserved
  ResourceList system_reserved;                      // --system-reserved
  std::optional<std::vector<EvictionThreshold>> eviction_hard;  // --eviction-hard; unset: default
  int max_pods = kDefaultMaxPods;                    // --max-pods
};

struct NodeResources {
  ResourceList capacity;
  ResourceList allocatable;
};

// Capacity from the host, in kubelet's formats: cpu as millicores (DecimalSI), memory,
// ephemeral-storage and hugepages in bytes (BinarySI), pods (DecimalSI).
ResourceList nodeCapacity(const HostInfo& host, int max_pods);

// What the hard eviction thresholds hold back: memory.available -> memory and
// nodefs.available -> ephemeral-storage; a percentage is taken of the capacity, truncated, as
// kubelet's GetThresholdQuantity does with its float32 percentage.
ResourceList hardEvictionReservation(const std::vector<EvictionThreshold>& thresholds,
                                     const ResourceList& capacity);

// Allocatable from capacity and reservations (see the top of this file).
Result<ResourceList> nodeAllocatable(const ResourceList& capacity,
                                     const ResourceList& system_reserved,
                                     const ResourceList& kube_reserved,
                                     const std::vector<EvictionThreshold>& eviction_hard);

// Both, from the host and the flags. Errors for --max-pods < 0.
Result<NodeResources> computeNodeResources(const HostInfo& host, const NodeConfig& config);

}  // namespace skiff::hostinfo
