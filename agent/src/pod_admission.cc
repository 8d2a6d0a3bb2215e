// The kubelet's own admission of a pod (pkg/kubelet/lifecycle predicates): pod count, CPU and
// memory against allocatable, host ports.
#include "skiff/agent/kubelet.h"
#include "skiff/agent/resources.h"

namespace skiff::agent {

using nlohmann::json;

namespace {

std::vector<std::tuple<std::string, int, std::string>> hostPorts(const json& pod) {
  std::vector<std::tuple<std::string, int, std::string>> out;
  for (const char* field : {"containers", "initContainers"}) {
    for (const auto& c : pod["spec"].value(field, json::array())) {
      for (const auto& p : c.value("ports", json::array())) {
        int hp = p.value("hostPort", 0);
        if (hp > 0) out.emplace_back(p.value("protocol", "TCP"), hp, p.value("hostIP", "0.0.0.0"));
      }
    }
  }
  return out;
}

}  // namespace

PodFootprint podFootprint(const json& pod) {
  return PodFootprint{cpuAndMemory(podRequests(pod)), hostPorts(pod)};
}

std::optional<WaitingReason> admitPod(const json& pod, const std::vector<json>& admitted,
                                      const KubeletLimits& limits) {
  std::vector<PodFootprint> footprints;
  footprints.reserve(admitted.size());
  for (const auto& p : admitted) footprints.push_back(podFootprint(p));
  std::vector<const PodFootprint*> views;
  views.reserve(footprints.size());
  for (const auto& f : footprints) views.push_back(&f);
  return admitPodAmong(pod, views, limits);
}

std::optional<WaitingReason> admitPodAmong(const json& pod,
                                           const std::vector<const PodFootprint*>& admitted,
                                           const KubeletLimits& limits) {
  // Pods
  if (static_cast<int64_t>(admitted.size()) + 1 > limits.max_pods) {
    return WaitingReason{"OutOfpods",
                         "Pod was rejected: Node didn't have enough resource: pods, "
                         "requested: 1, used: " +
                             std::to_string(admitted.size()) +
                             ", capacity: " + std::to_string(limits.max_pods)};
  }
  PodResources want = cpuAndMemory(podRequests(pod));
  PodResources used;
  for (const PodFootprint* p : admitted) {
    used.cpu_milli += p->requests.cpu_milli;
    used.memory_bytes += p->requests.memory_bytes;
  }
  if (want.cpu_milli > 0 && used.cpu_milli + want.cpu_milli > limits.allocatable_milli_cpu) {
    return WaitingReason{"OutOfcpu",
                         "Pod was rejected: Node didn't have enough resource: cpu, "
                         "requested: " +
                             std::to_string(want.cpu_milli) +
                             ", used: " + std::to_string(used.cpu_milli) +
                             ", capacity: " + std::to_string(limits.allocatable_milli_cpu)};
  }
  if (want.memory_bytes > 0 && used.memory_bytes + want.memory_bytes > limits.allocatable_memory) {
    return WaitingReason{"OutOfmemory",
                         "Pod was rejected: Node didn't have enough resource: memory, requested: " +
                             std::to_string(want.memory_bytes) +
                             ", used: " + std::to_string(used.memory_bytes) +
                             ", capacity: " + std::to_string(limits.allocatable_memory)};
  }
  auto mine = hostPorts(pod);
  for (const PodFootprint* p : admitted) {
    for (const auto& [proto, port, ip] : p->host_ports) {
      for (const auto& [mproto, mport, mip] : mine) {
        bool ip_overlap = ip == mip || ip == "0.0.0.0" || mip == "0.0.0.0";
        if (proto == mproto && port == mport && ip_overlap) {
          return WaitingReason{"NodePorts",
                               "Pod was rejected: Predicate NodePorts failed: node(s) didn't have "
                               "free ports for the requested pod ports"};
        }
      }
    }
  }
  return std::nullopt;
}

}  // namespace skiff::agent
