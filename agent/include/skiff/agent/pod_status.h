#pragma once

// Pure computation of a pod's API status from what the runtime reports, as kubelet's
// generateAPIPodStatus / getPhase / status.GeneratePodReadyCondition do
// (pkg/kubelet/kubelet_pods.go, pkg/kubelet/status/generate.go). No I/O: unit-tested on its own.

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "skiff/agent/container_runtime.h"

namespace skiff::agent {

// Why a container is not running right now, as shown in state.waiting (ContainerCreating,
// PodInitializing, ErrImagePull, ImagePullBackOff, CrashLoopBackOff, CreateContainerConfigError,
// CreateContainerError, RunContainerError).
struct WaitingReason {
  std::string reason;
  std::string message;
};

// Everything the runtime knows about one pod, attempts newest first per container name.
struct PodRuntimeView {
  std::optional<SandboxStatus> sandbox;
  std::string pod_ip;
  std::map<std::string, std::vector<ContainerInfo>> containers;
  const ContainerInfo* latest(const std::string& name) const;
  const ContainerInfo* previous(const std::string& name) const;
};

struct ProbeView {
  // By container id; absent = no probe result yet.
  std::map<std::string, bool> ready;
  std::map<std::string, bool> started;
  // Containers that have a readiness / startup probe (by name): without one, a running container
  // is ready / started at once.
  std::map<std::string, bool> has_readiness, has_startup;
};

struct StatusInputs {
  const nlohmann::json& pod;
  const PodRuntimeView& runtime;
  const std::map<std::string, WaitingReason>& waiting;  // by container name
  const ProbeView& probes;
  std::string host_ip;
  std::string now;  // RFC 3339, for transition times that change now
  // Set when the agent decided the pod's fate itself (admission rejection, eviction).
  std::optional<WaitingReason> terminal_failure;
};

// The full v1.PodStatus. Transition times are kept from the pod's current status when the
// condition did not change, so a resync produces an identical status (no spurious PATCH).
nlohmann::json computePodStatus(const StatusInputs& in);

// kubelet's getPhase over the computed container statuses.
std::string podPhase(const nlohmann::json& spec, const nlohmann::json& init_statuses,
                     const nlohmann::json& statuses);

// RFC 3339 (seconds, UTC) of a Unix time in nanoseconds.
std::string rfc3339FromNs(int64_t ns);
std::string rfc3339Now();
// Parses an RFC 3339 timestamp (what the API server writes) to Unix seconds; nullopt if bad.
std::optional<int64_t> parseRfc3339(const std::string& ts);

// Is `status` different from `old` in anything but fields that only a heartbeat changes? Used to
// decide whether to PATCH pods/status.
bool podStatusChanged(const nlohmann::json& old_status, const nlohmann::json& status);

}  // namespace skiff::agent
