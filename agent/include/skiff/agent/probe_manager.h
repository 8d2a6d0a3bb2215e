#pragma once

// kubelet's prober (pkg/kubelet/prober): one worker per container and probe type
// (liveness, readiness, startup), each running every periodSeconds after initialDelaySeconds,
// with timeoutSeconds, successThreshold and failureThreshold. Readiness starts as "not ready",
// liveness as "alive"; liveness and readiness wait until the startup probe succeeded. A result
// change triggers a sync of the pod (on_change); a liveness/startup failure makes the syncer
// restart the container.
//
// Probes run on one scheduler thread; exec goes through the runtime, httpGet and tcpSocket
// connect to the pod IP from the agent (the pod network is routable from the node).

#include <nlohmann/json.hpp>

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "skiff/agent/pod_sync.h"

namespace skiff::agent {

enum class ProbeType { Liveness, Readiness, Startup };

// Runs one probe attempt. Success = true; `output` gets what the kubelet reports in the
// Unhealthy event (the exec output, "HTTP probe failed with statuscode: 500", the dial error).
// Exposed for tests (a fake runs nothing).
class ProbeRunner {
 public:
  virtual ~ProbeRunner() = default;
  virtual bool run(const nlohmann::json& probe, const nlohmann::json& container,
                   const std::string& container_id, const std::string& pod_ip,
                   std::string& output) = 0;
};

const char* probeTypeName(ProbeType t);  // "Liveness", "Readiness", "Startup"
std::unique_ptr<ProbeRunner> makeProbeRunner(ContainerRuntime& runtime);

class ProbeManager final : public ProbeResults {
 public:
  ProbeManager(ProbeRunner& runner, std::function<void(const std::string& uid)> on_change);
  ~ProbeManager() override;

  // ProbeResults
  ProbeView view(const nlohmann::json& pod, const PodRuntimeView& rt) override;
  bool shouldRestart(const std::string& container_id) override;
  void forget(const std::string& container_id) override;

  // Called for every failed probe attempt (kubelet's Unhealthy event).
  using FailureHook = std::function<void(const std::string& uid, const std::string& container,
                                         ProbeType type, const std::string& output)>;
  void setFailureHook(FailureHook hook);

  void stop();
  // Runs every probe that is due at `now` (tests drive time through this).
  void runDueForTest(std::chrono::steady_clock::time_point now);

 private:
  struct Worker {
    std::string uid, container_id, pod_ip;
    ProbeType type;
    nlohmann::json probe, container;
    std::chrono::steady_clock::time_point next;
    int successes = 0, failures = 0;
    std::optional<bool> result;  // nullopt = no result yet
  };
  void loop();
  void runDue(std::chrono::steady_clock::time_point now);
  static std::string key(const std::string& cid, ProbeType t);

  ProbeRunner& runner_;
  std::function<void(const std::string&)> on_change_;
  FailureHook on_failure_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Worker> workers_;
  bool stopping_ = false;
  bool threaded_ = false;
  std::thread thread_;
};

}  // namespace skiff::agent
