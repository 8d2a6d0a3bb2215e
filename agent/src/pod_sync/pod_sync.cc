// PodSyncer: the per-pod bookkeeping (waiting reasons, back-off keys, the runtime view) and
// syncPod, which brings one pod's sandbox and containers to its spec (kubelet's SyncPod).
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <set>
#include <thread>

#include "skiff/agent/pod_dns.h"
#include "skiff/agent/pod_sync.h"
#include "skiff/agent/resources.h"
#include "skiff/agent/termination_message.h"
#include "skiff/common/file.h"
#include "skiff/common/log.h"
#include "util.h"

namespace skiff::agent {

PodSyncer::PodSyncer(PodSyncConfig cfg, ContainerRuntime& runtime, PodNetworkManager* network,
                     VolumeManager& volumes, ObjectSource& objects, Backoff& crash_backoff,
                     Backoff& image_backoff, ProbeResults* probes, WallClock clock)
    : cfg_(std::move(cfg)),
      runtime_(runtime),
      network_(network),
      volumes_(volumes),
      objects_(objects),
      crash_backoff_(crash_backoff),
      image_backoff_(image_backoff),
      probes_(probes),
      clock_(std::move(clock)) {}

std::string PodSyncer::backoffKey(const json& pod, const std::string& container) {
  return pod["metadata"].value("name", "") + "_" + pod["metadata"].value("namespace", "") + "_" +
         uidOf(pod) + "_" + container;
}

void PodSyncer::event(const json& pod, const std::string& container, const char* type,
                      const char* reason, const std::string& message) {
  if (events_ == nullptr) return;
  events_->podEvent(pod, container.empty() ? "" : EventRecorder::containerFieldPath(pod, container),
                    type, reason, message);
}

void PodSyncer::setWaiting(const std::string& uid, const std::string& name, std::string reason,
                           std::string message) {
  std::lock_guard lk(mu_);
  waiting_[uid][name] = WaitingReason{std::move(reason), std::move(message)};
}

void PodSyncer::clearWaiting(const std::string& uid, const std::string& name) {
  std::lock_guard lk(mu_);
  auto it = waiting_.find(uid);
  if (it != waiting_.end()) it->second.erase(name);
}

std::map<std::string, WaitingReason> PodSyncer::waitingFor(const std::string& uid) {
  std::lock_guard lk(mu_);
  auto it = waiting_.find(uid);
  return it == waiting_.end() ? std::map<std::string, WaitingReason>{} : it->second;
}

Result<PodRuntimeView> PodSyncer::runtimeView(const std::string& uid) {
  PodRuntimeView view;
  SKIFF_ASSIGN_OR_RETURN(auto sandboxes, runtime_.listPodSandboxes({{kLabelPodUid, uid}}));
  // The newest Ready sandbox wins; otherwise the newest at all.
  for (const auto& s : sandboxes) {
    auto it = s.labels.find(kLabelPodUid);
    if (it == s.labels.end() || it->second != uid) continue;
    bool better = !view.sandbox ||
                  (s.state == SandboxState::Ready && view.sandbox->state != SandboxState::Ready) ||
                  (s.state == view.sandbox->state && s.created_at_ns > view.sandbox->created_at_ns);
    if (better) view.sandbox = s;
  }
  // Containers of every sandbox this pod has had (older ones hold lastState and restart counts).
  for (const auto& s : sandboxes) {
    auto it = s.labels.find(kLabelPodUid);
    if (it == s.labels.end() || it->second != uid) continue;
    SKIFF_ASSIGN_OR_RETURN(auto containers, runtime_.listSandboxContainers(s.id));
    for (auto& c : containers) view.containers[c.name].push_back(std::move(c));
  }
  for (auto& [_, list] : view.containers) {
    std::sort(list.begin(), list.end(), [](const ContainerInfo& a, const ContainerInfo& b) {
      return a.attempt != b.attempt ? a.attempt > b.attempt : a.created_at_ns > b.created_at_ns;
    });
  }
  addTerminationMessages(uid, view);
  if (view.sandbox && network_ != nullptr && !view.sandbox->netns_path.empty()) {
    view.pod_ip = network_->podIp(view.sandbox->id);
  }
  return view;
}

void PodSyncer::addTerminationMessages(const std::string& uid, PodRuntimeView& view) {
  std::map<std::string, std::string> known;
  {
    std::lock_guard lk(mu_);
    auto it = termination_messages_.find(uid);
    if (it != termination_messages_.end()) known = it->second;
  }
  std::map<std::string, std::string> now;  // only containers that still exist
  for (auto& [_, list] : view.containers) {
    for (auto& c : list) {
      if (c.state != ContainerState::Exited) continue;
      auto k = known.find(c.id);
      // The runtime's own message, then what the container left behind (": " between them).
      if (k == known.end()) addTerminationMessage(c);
      if (k != known.end()) c.message = k->second;
      now[c.id] = c.message;
    }
  }
  std::lock_guard lk(mu_);
  if (now.empty()) {
    termination_messages_.erase(uid);
  } else {
    termination_messages_[uid] = std::move(now);
  }
}

Result<std::map<std::string, std::string>> PodSyncer::runtimePods() {
  std::map<std::string, std::string> out;
  SKIFF_ASSIGN_OR_RETURN(auto sandboxes, runtime_.listPodSandboxes());
  for (const auto& s : sandboxes) {
    auto uid = s.labels.find(kLabelPodUid);
    if (uid == s.labels.end()) continue;
    std::string ns = s.labels.count(kLabelPodNamespace) ? s.labels.at(kLabelPodNamespace) : "";
    std::string name = s.labels.count(kLabelPodName) ? s.labels.at(kLabelPodName) : "";
    out[uid->second] = ns + "/" + name;
  }
  return out;
}

Result<json> PodSyncer::syncPod(const json& pod, PodRuntimeView* status_view) {
  auto lg = skiff::log::get("agent");
  std::string uid = uidOf(pod);
  const json& spec = pod["spec"];
  SKIFF_ASSIGN_OR_RETURN(auto view, runtimeView(uid));

  // Volumes first: containers must not start on half-made volumes (kubelet waits for mounts).
  EnvContext ctx{cfg_.node_name, cfg_.host_ip, view.pod_ip, cfg_.allocatable_milli_cpu,
                 cfg_.allocatable_memory};
  auto vols = volumes_.setupPod(pod, ctx);
  if (!vols) {
    SKIFF_LOG_WARN(lg, "Unable to attach or mount volumes, will retry", kv("pod", podRef(pod)),
                   kv("err", vols.error().message()));
    event(pod, "", "Warning", events::kFailedMount, vols.error().message());
    return currentStatus(pod, std::nullopt, status_view);
  }
  {
    std::lock_guard lk(mu_);
    volume_paths_[uid] = *vols;
  }
  auto sandbox = ensureSandbox(pod, view);
  if (!sandbox) {
    SKIFF_LOG_WARN(lg, "Failed to create pod sandbox, will retry", kv("pod", podRef(pod)),
                   kv("err", sandbox.error().message()));
    return currentStatus(pod, std::nullopt, status_view);
  }
  if (view.pod_ip.empty() && spec.value("hostNetwork", false)) view.pod_ip = cfg_.host_ip;
  SKIFF_TRY(writePodFiles(pod, view.pod_ip));

  if (syncInitContainers(pod, view)) {
    for (const auto& c : spec.value("containers", json::array())) syncContainer(pod, c, view);
  }
  return currentStatus(pod, std::nullopt, status_view);
}

bool PodSyncer::syncInitContainers(const json& pod, const PodRuntimeView& view) {
  auto lg = skiff::log::get("agent");
  // In order; each must succeed before the next starts.
  for (const auto& ic : pod["spec"].value("initContainers", json::array())) {
    std::string name = ic.value("name", "");
    const ContainerInfo* cur = view.latest(name);
    bool sidecar = ic.value("restartPolicy", "") == "Always";
    if (cur == nullptr) {
      auto r = startContainer(pod, ic, view, 0);
      if (!r)
        SKIFF_LOG_WARN(lg, "Init container failed to start", kv("pod", podRef(pod)),
                       kv("container", name), kv("err", r.error().message()));
      return false;
    }
    if (cur->state == ContainerState::Running) {
      if (sidecar) continue;
      return false;
    }
    if (cur->state == ContainerState::Exited && cur->exit_code == 0 && !sidecar) continue;
    // Failed init container (or exited sidecar).
    if (shouldStartAgain(pod, ic, *cur, true)) {
      if (probes_) probes_->forget(cur->id);
      auto r = startContainer(pod, ic, view, cur->attempt + 1);
      if (!r)
        SKIFF_LOG_WARN(lg, "Init container failed to restart", kv("pod", podRef(pod)),
                       kv("container", name), kv("err", r.error().message()));
    }
    return false;
  }
  return true;
}

void PodSyncer::syncContainer(const json& pod, const json& c, const PodRuntimeView& view) {
  auto lg = skiff::log::get("agent");
  std::string name = c.value("name", "");
  const ContainerInfo* cur = view.latest(name);
  if (cur == nullptr) {
    auto r = startContainer(pod, c, view, 0);
    if (!r)
      SKIFF_LOG_WARN(lg, "Container failed to start", kv("pod", podRef(pod)), kv("container", name),
                     kv("err", r.error().message()));
    return;
  }
  ContainerInfo last = *cur;
  if (last.state == ContainerState::Running) {
    if (probes_ == nullptr || !probes_->shouldRestart(last.id)) return;
    SKIFF_LOG_INFO(lg, "Container failed liveness probe, will be restarted", kv("pod", podRef(pod)),
                   kv("container", name));
    event(pod, name, "Normal", events::kKilling,
          "Container " + name + " failed liveness probe, will be restarted");
    int64_t grace = pod["spec"].value("terminationGracePeriodSeconds", 30);
    (void)killContainer(pod, &c, last, std::chrono::seconds(grace), view.pod_ip);
    probes_->forget(last.id);
    auto refreshed = runtimeView(uidOf(pod));
    if (!refreshed || refreshed->latest(name) == nullptr) return;
    last = *refreshed->latest(name);
    if (last.state == ContainerState::Running) return;
  }
  if (last.state == ContainerState::Created) {
    (void)runtime_.startContainer(last.id);
    return;
  }
  if (last.state != ContainerState::Exited) return;
  if (!shouldStartAgain(pod, c, last, false)) return;
  if (probes_) probes_->forget(last.id);
  auto r = startContainer(pod, c, view, last.attempt + 1);
  if (!r) {
    SKIFF_LOG_WARN(lg, "Container failed to restart", kv("pod", podRef(pod)), kv("container", name),
                   kv("err", r.error().message()));
    return;
  }
  // Keep the newest exited attempt for `kubectl logs --previous`; remove older ones.
  auto it = view.containers.find(name);
  if (it == view.containers.end()) return;
  for (std::size_t i = 1; i < it->second.size(); ++i) {
    if (it->second[i].state == ContainerState::Exited) {
      (void)runtime_.removeContainer(it->second[i].id);
    }
  }
}

Result<json> PodSyncer::currentStatus(const json& pod, std::optional<WaitingReason> terminal,
                                      PodRuntimeView* status_view) {
  std::string uid = uidOf(pod);
  SKIFF_ASSIGN_OR_RETURN(auto view, runtimeView(uid));
  if (status_view != nullptr) *status_view = view;
  auto waiting = waitingFor(uid);
  ProbeView probes;
  if (probes_ != nullptr) probes = probes_->view(pod, view);
  StatusInputs in{pod,
                  view,
                  waiting,
                  probes,
                  cfg_.host_ip,
                  rfc3339FromNs(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                    clock_().time_since_epoch())
                                    .count()),
                  std::move(terminal)};
  return computePodStatus(in);
}

}  // namespace skiff::agent
