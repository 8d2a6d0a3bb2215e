// PodSyncer: stopping containers and pods (grace periods, preStop) and removing what a pod leaves.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <set>
#include <thread>

#include "skiff/agent/pod_dns.h"
#include "skiff/agent/pod_sync.h"
#include "skiff/agent/resources.h"
#include "skiff/common/file.h"
#include "skiff/common/log.h"
#include "util.h"

namespace skiff::agent {

Result<void> PodSyncer::killContainer(const json& pod, const json* spec, const ContainerInfo& c,
                                      std::chrono::seconds grace, const std::string& pod_ip) {
  auto lg = skiff::log::get("agent");
  auto start = clock_();
  if (spec != nullptr && c.state == ContainerState::Running) {
    const json& pre = spec->value("lifecycle", json::object()).value("preStop", json::object());
    auto failed = runHook(pod, *spec, c.id, pre, pod_ip, std::max(grace, std::chrono::seconds(1)));
    if (failed) {
      SKIFF_LOG_WARN(lg, "PreStop hook failed", kv("pod", podRef(pod)), kv("container", c.name),
                     kv("err", *failed));
      event(pod, c.name, "Warning", events::kFailedPreStopHook, *failed);
    }
  }
  auto spent = std::chrono::duration_cast<std::chrono::seconds>(clock_() - start);
  auto left = grace > spent ? grace - spent : std::chrono::seconds(2);  // kubelet: min 2 s
  if (c.state == ContainerState::Running || c.state == ContainerState::Created) {
    SKIFF_LOG_INFO(lg, "Killing container with a grace period", kv("pod", podRef(pod)),
                   kv("container", c.name), kv("containerID", c.id),
                   kv("gracePeriod", static_cast<int64_t>(left.count())));
    SKIFF_TRY(runtime_.stopContainer(c.id, left));
  }
  return ok();
}

Result<void> PodSyncer::killPod(const json& pod, std::chrono::seconds grace) {
  std::string uid = uidOf(pod);
  SKIFF_ASSIGN_OR_RETURN(auto view, runtimeView(uid));
  std::string pod_ip = view.pod_ip;
  if (pod_ip.empty() && pod["spec"].value("hostNetwork", false)) pod_ip = cfg_.host_ip;
  std::vector<std::thread> killers;
  std::mutex err_mu;
  std::optional<Error> first_error;
  // Containers stop in parallel, each with the full grace period (kubelet does the same).
  for (auto& [name, list] : view.containers) {
    if (list.empty()) continue;
    const json* spec = nullptr;
    for (const char* field : {"containers", "initContainers"}) {
      if (!pod["spec"].contains(field)) continue;
      for (const auto& c : pod["spec"][field]) {  // not value(): spec must outlive the loop
        if (c.value("name", "") == name) spec = &c;
      }
    }
    for (const auto& c : list) {
      if (c.state != ContainerState::Running && c.state != ContainerState::Created) continue;
      event(pod, name, "Normal", events::kKilling, "Stopping container " + name);
      killers.emplace_back([&, spec, c] {
        auto r = killContainer(pod, spec, c, grace, pod_ip);
        if (!r) {
          std::lock_guard lk(err_mu);
          if (!first_error) first_error = r.error();
        }
        if (probes_) probes_->forget(c.id);
      });
    }
  }
  for (auto& t : killers) t.join();
  if (first_error) return *first_error;
  if (view.sandbox && view.sandbox->state == SandboxState::Ready) {
    if (network_ != nullptr && !view.sandbox->netns_path.empty()) {
      auto r = network_->teardown(view.sandbox->id, podRef(pod), view.sandbox->netns_path);
      if (!r) return std::move(r).error().wrap("tear down pod network");
    }
    SKIFF_TRY(runtime_.stopPodSandbox(view.sandbox->id));
  }
  return ok();
}

Result<void> PodSyncer::cleanupPod(const std::string& uid) {
  SKIFF_ASSIGN_OR_RETURN(auto view, runtimeView(uid));
  for (auto& [_, list] : view.containers) {
    for (const auto& c : list) {
      if (c.state == ContainerState::Running) {
        SKIFF_TRY(runtime_.stopContainer(c.id, std::chrono::seconds(0)));
      }
      SKIFF_TRY(runtime_.removeContainer(c.id));
      if (probes_) probes_->forget(c.id);
    }
  }
  SKIFF_ASSIGN_OR_RETURN(auto sandboxes, runtime_.listPodSandboxes());
  for (const auto& s : sandboxes) {
    auto it = s.labels.find(kLabelPodUid);
    if (it == s.labels.end() || it->second != uid) continue;
    if (network_ != nullptr && !s.netns_path.empty()) {
      std::string ns = s.labels.count(kLabelPodNamespace) ? s.labels.at(kLabelPodNamespace) : "";
      std::string name = s.labels.count(kLabelPodName) ? s.labels.at(kLabelPodName) : "";
      (void)network_->teardown(s.id, ns + "/" + name, s.netns_path);
    }
    SKIFF_TRY(runtime_.stopPodSandbox(s.id));
    SKIFF_TRY(runtime_.removePodSandbox(s.id));
  }
  SKIFF_TRY(volumes_.teardownPod(uid));
  std::lock_guard lk(mu_);
  waiting_.erase(uid);
  termination_messages_.erase(uid);
  volume_paths_.erase(uid);
  return ok();
}

Result<void> PodSyncer::releaseVolumes(const std::string& uid) {
  SKIFF_TRY(volumes_.teardownPod(uid));
  std::lock_guard lk(mu_);
  volume_paths_.erase(uid);
  return ok();
}

}  // namespace skiff::agent
