#include "skiff/agent/resources.h"

#include <algorithm>

namespace skiff::agent {

using nlohmann::json;

PodResources cpuAndMemory(const MilliResourceList& list) {
  PodResources r;
  if (auto it = list.find("cpu"); it != list.end()) r.cpu_milli = it->second;
  if (auto it = list.find("memory"); it != list.end()) r.memory_bytes = (it->second + 999) / 1000;
  return r;
}

int64_t milliCpuToShares(int64_t milli) {
  if (milli == 0) return 2;
  return std::max<int64_t>(2, milli * 1024 / 1000);
}

int64_t milliCpuToQuota(int64_t milli, int64_t period) {
  if (milli == 0) return 0;
  return std::max<int64_t>(1000, milli * period / 1000);
}

int64_t oomScoreAdjust(const json& pod, const json& container, int64_t memory_capacity) {
  // Node-critical pods (system-node-critical priority and above) are treated as Guaranteed.
  const json& spec = pod.value("spec", json::object());
  if (spec.contains("priority") && spec["priority"].is_number_integer() &&
      spec["priority"].get<int64_t>() >= 2000001000) {
    return -997;
  }
  QosClass qos = podQosClass(pod);
  if (qos == QosClass::Guaranteed) return -997;
  if (qos == QosClass::BestEffort) return 1000;
  int64_t req = cpuAndMemory(containerRequests(container)).memory_bytes;
  if (memory_capacity <= 0) return 999;
  int64_t adj = 1000 - (1000 * req) / memory_capacity;
  return std::clamp<int64_t>(adj, 3, 999);
}

}  // namespace skiff::agent
