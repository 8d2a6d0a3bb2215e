#pragma once

// One pod's convergence step, kubelet's kuberuntime SyncPod / KillPod
// (pkg/kubelet/kuberuntime/kuberuntime_manager.go): make sure the sandbox (with its network and
// volumes) exists, run init containers one by one in order, then start or restart app
// containers according to restartPolicy with CrashLoopBackOff, and compute the API status.
// Every step looks at what the runtime reports first, so a sync is idempotent and an agent
// restart re-adopts running containers instead of starting them again.

#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "skiff/agent/backoff.h"
#include "skiff/agent/container_env.h"
#include "skiff/agent/container_runtime.h"
#include "skiff/agent/event_recorder.h"
#include "skiff/agent/lifecycle_hooks.h"
#include "skiff/agent/object_source.h"
#include "skiff/agent/pod_status.h"
#include "skiff/agent/volumes.h"

namespace skiff::agent {

// Probe state the syncer consults (implemented by ProbeManager).
class ProbeResults {
 public:
  virtual ~ProbeResults() = default;
  virtual ProbeView view(const nlohmann::json& pod, const PodRuntimeView& rt) = 0;
  // True once the liveness (or startup) probe of this container crossed its failure threshold.
  virtual bool shouldRestart(const std::string& container_id) = 0;
  // Forget a container (it was removed or restarted).
  virtual void forget(const std::string& container_id) = 0;
};

struct PodSyncConfig {
  std::string node_name;
  std::string host_ip;
  std::string root_dir;  // pods/<uid> lives here
  std::string log_dir = "/var/log/pods";
  std::vector<std::string> cluster_dns;
  std::string cluster_domain = "cluster.local";
  std::string resolv_conf = "/etc/resolv.conf";  // kubelet --resolv-conf
  int64_t memory_capacity = 0;
  // Lowest oom_score_adj a container can get: without CAP_SYS_RESOURCE no process may go below
  // what it inherited from the agent, so the QoS value is raised to this floor.
  int64_t min_oom_score_adj = -1000;
  int64_t allocatable_milli_cpu = 0;
  int64_t allocatable_memory = 0;
};

class PodSyncer {
 public:
  PodSyncer(PodSyncConfig cfg, ContainerRuntime& runtime, PodNetworkManager* network,
            VolumeManager& volumes, ObjectSource& objects, Backoff& crash_backoff,
            Backoff& image_backoff, ProbeResults* probes, WallClock clock);

  // Converges a pod that should run and returns its API status. Errors are problems of the step
  // (reported in container waiting reasons too); the caller retries on the next sync. With
  // `status_view`, the runtime's view of the pod that the status was computed from is left there.
  Result<nlohmann::json> syncPod(const nlohmann::json& pod, PodRuntimeView* status_view = nullptr);
  // Runs preStop hooks, stops every container with `grace` (SIGTERM, then SIGKILL), stops the
  // sandbox. Idempotent.
  Result<void> killPod(const nlohmann::json& pod, std::chrono::seconds grace);
  // Removes containers and sandboxes of `uid`, tears down the network and volumes.
  Result<void> cleanupPod(const std::string& uid);
  // Tears down the pod's volumes only (an evicted pod keeps its stopped containers for logs).
  Result<void> releaseVolumes(const std::string& uid);
  // Status from what the runtime has right now, without acting.
  Result<nlohmann::json> currentStatus(const nlohmann::json& pod,
                                       std::optional<WaitingReason> terminal = std::nullopt,
                                       PodRuntimeView* status_view = nullptr);
  Result<PodRuntimeView> runtimeView(const std::string& uid);
  // Pods (uid -> ns/name) the runtime holds, for orphan cleanup after an agent restart.
  Result<std::map<std::string, std::string>> runtimePods();

  // Kubelet events (Pulling, Pulled, Created, Started, Killing, BackOff, Failed, FailedMount).
  void setEventRecorder(EventRecorder* recorder) { events_ = recorder; }
  // Where httpGet lifecycle hooks are sent (a real socket client unless replaced, for tests).
  void setHookHttpGetter(HookHttpGetter* getter) { http_hooks_ = getter; }

  // Exposed for tests: the service-style key of a container's backoff entry.
  static std::string backoffKey(const nlohmann::json& pod, const std::string& container);

 private:
  Result<std::string> ensureSandbox(const nlohmann::json& pod, PodRuntimeView& view);
  // syncPod's steps after the sandbox: the init containers (true once all have finished, or
  // sidecars run), then each app container (started, restarted, or killed on liveness failure).
  bool syncInitContainers(const nlohmann::json& pod, const PodRuntimeView& view);
  void syncContainer(const nlohmann::json& pod, const nlohmann::json& c,
                     const PodRuntimeView& view);
  Result<void> startContainer(const nlohmann::json& pod, const nlohmann::json& spec,
                              const PodRuntimeView& view, uint32_t attempt);
  // The steps of startContainer after the image and environment.
  Result<void> addVolumeMounts(const nlohmann::json& pod, const nlohmann::json& spec,
                               const std::string& uid, const std::string& name,
                               const std::map<std::string, std::string>& vars, ContainerConfig& cc);
  Result<void> applySecurityContext(const nlohmann::json& pod, const nlohmann::json& spec,
                                    const std::string& uid, const std::string& name,
                                    ContainerConfig& cc);
  Result<std::string> createAndStartContainer(const nlohmann::json& pod, const std::string& uid,
                                              const std::string& name, const ContainerConfig& cc,
                                              uint32_t attempt);
  void runPostStartHook(const nlohmann::json& pod, const nlohmann::json& spec,
                        const PodRuntimeView& view, const std::string& name, const std::string& id);
  Result<void> ensureImage(const nlohmann::json& pod, const nlohmann::json& spec);
  // `pod_ip` is where a preStop httpGet hook without a host goes.
  Result<void> killContainer(const nlohmann::json& pod, const nlohmann::json* spec,
                             const ContainerInfo& c, std::chrono::seconds grace,
                             const std::string& pod_ip);
  // Runs a postStart/preStop handler (exec, httpGet, sleep); the failure message, if it failed.
  std::optional<std::string> runHook(const nlohmann::json& pod, const nlohmann::json& spec,
                                     const std::string& container_id, const nlohmann::json& handler,
                                     const std::string& pod_ip, std::chrono::seconds timeout);
  // Restart decision for an exited container: true = start now, false = wait (backoff reason
  // recorded) or never (restartPolicy).
  bool shouldStartAgain(const nlohmann::json& pod, const nlohmann::json& spec,
                        const ContainerInfo& last, bool is_init);
  void event(const nlohmann::json& pod, const std::string& container, const char* type,
             const char* reason, const std::string& message);
  void setWaiting(const std::string& uid, const std::string& name, std::string reason,
                  std::string message);
  void clearWaiting(const std::string& uid, const std::string& name);
  std::map<std::string, WaitingReason> waitingFor(const std::string& uid);
  // Exited containers' termination messages (termination_message.h), cached per container.
  void addTerminationMessages(const std::string& uid, PodRuntimeView& view);
  Result<void> writePodFiles(const nlohmann::json& pod, const std::string& pod_ip);

  PodSyncConfig cfg_;
  ContainerRuntime& runtime_;
  PodNetworkManager* network_;
  VolumeManager& volumes_;
  ObjectSource& objects_;
  Backoff& crash_backoff_;
  Backoff& image_backoff_;
  ProbeResults* probes_;
  WallClock clock_;
  EventRecorder* events_ = nullptr;
  HookHttpGetterPtr own_http_hooks_ = makeHookHttpGetter();
  HookHttpGetter* http_hooks_ = own_http_hooks_.get();
  std::mutex mu_;
  std::map<std::string, std::map<std::string, WaitingReason>> waiting_;     // uid -> name -> why
  std::map<std::string, std::map<std::string, std::string>> volume_paths_;  // uid -> vol -> path
  // uid -> container id -> termination message of an exited container: read once, as it can no
  // longer change (a log fallback reads up to 80 lines of the log).
  std::map<std::string, std::map<std::string, std::string>> termination_messages_;
};

}  // namespace skiff::agent
