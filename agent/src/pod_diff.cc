// Comparing pod versions: whether an update matters to the kubelet, and the merge patch from
// one status to another.
#include "skiff/agent/kubelet.h"

namespace skiff::agent {

using nlohmann::json;

bool podsDifferSemantically(const json& a, const json& b) {
  auto field = [](const json& obj, const char* part, const char* key) -> const json* {
    auto p = obj.find(part);
    if (p == obj.end() || !p->is_object()) return nullptr;
    if (key == nullptr) return &*p;
    auto k = p->find(key);
    return k == p->end() ? nullptr : &*k;
  };
  auto same = [](const json* x, const json* y) {
    if (x == nullptr || x->is_null()) return y == nullptr || y->is_null();
    return y != nullptr && *x == *y;
  };
  for (const char* key :
       {"labels", "annotations", "deletionTimestamp", "deletionGracePeriodSeconds"}) {
    if (!same(field(a, "metadata", key), field(b, "metadata", key))) return true;
  }
  return !same(field(a, "spec", nullptr), field(b, "spec", nullptr));
}

json statusMergePatch(const json& from, const json& to) {
  static const char* kOwned[] = {
      "phase",    "reason",     "message",           "podIP",
      "podIPs",   "hostIP",     "hostIPs",           "startTime",
      "qosClass", "conditions", "containerStatuses", "initContainerStatuses"};
  json patch = json::object();
  for (const char* k : kOwned) {
    bool in_from = from.contains(k), in_to = to.contains(k);
    if (in_to && (!in_from || from[k] != to[k])) patch[k] = to[k];
    if (!in_to && in_from) patch[k] = nullptr;
  }
  return patch;
}

Kubelet::Kubelet(KubeClientPtr client, PodSyncer& syncer, ContainerRuntime& runtime,
                 KubeletLimits limits, int worker_threads)
    : client_(std::move(client)),
      syncer_(syncer),
      runtime_(runtime),
      limits_(limits),
      workers_([this](const std::string& uid) { syncUid(uid); }, worker_threads) {}

Kubelet::~Kubelet() { stop(); }

void Kubelet::stop() { workers_.stop(); }
}  // namespace skiff::agent
