#include "skiff/hostinfo/node_resources.h"

namespace skiff::hostinfo {

ResourceList nodeCapacity(const HostInfo& host, int max_pods) {
  using F = Quantity::Format;
  ResourceList cap;
  cap[kResourceCpu] =
      Quantity::fromMilli(static_cast<std::int64_t>(host.usable_cpus.size()) * 1000, F::DecimalSI);
  cap[kResourceMemory] =
      Quantity::fromInt(static_cast<std::int64_t>(host.memory_capacity_bytes), F::BinarySI);
  if (host.state_fs) {
    cap[kResourceEphemeralStorage] =
        Quantity::fromInt(static_cast<std::int64_t>(host.state_fs->capacity_bytes), F::BinarySI);
  }
  for (const auto& hp : host.hugepages) {
    const std::string name =
        kHugePagesPrefix +
        Quantity::fromInt(static_cast<std::int64_t>(hp.page_size_bytes), F::BinarySI).toString();
    cap[name] = Quantity::fromInt(static_cast<std::int64_t>(hp.page_size_bytes * hp.pages),
                                  F::BinarySI);
  }
  cap[kResourcePods] = Quantity::fromInt(max_pods, F::DecimalSI);
  return cap;
}

ResourceList hardEvictionReservation(const std::vector<EvictionThreshold>& thresholds,
                                     const ResourceList& capacity) {
  ResourceList out;
  for (const auto& t : thresholds) {
    const char* resource = nullptr;
    if (t.signal == "memory.available") {
      resource = kResourceMemory;
    } else if (t.signal == "nodefs.available") {
      resource = kResourceEphemeralStorage;
    } else {
      continue;
    }
    if (t.quantity) {
      out[resource] = *t.quantity;
      continue;
    }
    auto it = capacity.find(resource);
    const std::int64_t cap = it == capacity.end() ? 0 : it->second.value();
    // int64(float64(capacity.Value()) * float64(percentage)), percentage a float32.
    const auto bytes =
        static_cast<std::int64_t>(static_cast<double>(cap) * static_cast<double>(t.percentage));
    out[resource] = Quantity::fromInt(bytes, Quantity::Format::BinarySI);
  }
  return out;
}

Result<ResourceList> nodeAllocatable(const ResourceList& capacity,
                                     const ResourceList& system_reserved,
                                     const ResourceList& kube_reserved,
                                     const std::vector<EvictionThreshold>& eviction_hard) {
  const ResourceList eviction = hardEvictionReservation(eviction_hard, capacity);
  ResourceList allocatable;
  for (const auto& [name, cap] : capacity) {
    Quantity reserved;
    for (const ResourceList* list : {&system_reserved, &kube_reserved, &eviction}) {
      auto it = list->find(name);
      if (it == list->end()) continue;
      SKIFF_ASSIGN_OR_RETURN(reserved, reserved.add(it->second));
    }
    SKIFF_ASSIGN_OR_RETURN(Quantity value, cap.sub(reserved));
    if (value.sign() < 0) value = Quantity::fromInt(0, cap.format());
    allocatable[name] = value;
  }
  // Memory backing pre-allocated huge pages is not available to ordinary pages.
  auto mem = allocatable.find(kResourceMemory);
  if (mem != allocatable.end()) {
    for (const auto& [name, cap] : capacity) {
      if (!name.starts_with(kHugePagesPrefix)) continue;
      SKIFF_ASSIGN_OR_RETURN(Quantity value, mem->second.sub(cap));
      if (value.sign() < 0) value = Quantity::fromInt(0, mem->second.format());
      mem->second = value;
    }
  }
  return allocatable;
}

Result<NodeResources> computeNodeResources(const HostInfo& host, const NodeConfig& config) {
  if (config.max_pods < 0) {
    return Error(ErrorCode::Invalid, "invalid --max-pods " + std::to_string(config.max_pods) +
                                         ": must not be a negative number");
  }
  NodeResources r;
  r.capacity = nodeCapacity(host, config.max_pods);
  const std::vector<EvictionThreshold> eviction =
      config.eviction_hard ? *config.eviction_hard : defaultEvictionHard();
  SKIFF_ASSIGN_OR_RETURN(r.allocatable, nodeAllocatable(r.capacity, config.system_reserved,
                                                        config.kube_reserved, eviction));
  return r;
}

}  // namespace skiff::hostinfo
