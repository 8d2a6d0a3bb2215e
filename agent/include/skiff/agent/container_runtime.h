#pragma once

// What the agent needs from a container runtime: the CRI subset kubelet's kuberuntime manager
// uses, owned here on the consumer side (STYLE.md §2) so the pod logic is tested against a fake
// (skiff/agent/testing/fake_runtime.h) and the real runtime library is wired in by a thin adapter.
//
// Identity: the agent finds its sandboxes and containers again after a restart by the labels it
// put on them (kLabelPodUid, kLabelContainerName...), exactly as kubelet does with
// io.kubernetes.pod.uid / io.kubernetes.container.name. Restart counts live in the container
// attempt number, so re-adoption never resets them.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "skiff/common/pod_resources.h"
#include "skiff/common/result.h"
#include "skiff/runtime/runtime.h"

namespace skiff::agent {

inline constexpr const char* kLabelPodUid = "io.kubernetes.pod.uid";
inline constexpr const char* kLabelPodName = "io.kubernetes.pod.name";
inline constexpr const char* kLabelPodNamespace = "io.kubernetes.pod.namespace";
inline constexpr const char* kLabelContainerName = "io.kubernetes.container.name";
// Annotations the agent keeps on containers (kubelet: io.kubernetes.container.*).
inline constexpr const char* kAnnotationRestartCount = "io.kubernetes.container.restartCount";
inline constexpr const char* kAnnotationHash = "io.kubernetes.container.hash";
inline constexpr const char* kAnnotationGrace = "io.kubernetes.pod.terminationGracePeriod";

struct PortMapping {
  std::string protocol = "TCP";
  int container_port = 0;
  int host_port = 0;
  std::string host_ip;
};

struct SandboxConfig {
  std::string name, ns, uid;
  uint32_t attempt = 0;
  std::string hostname;
  std::string log_directory;  // /var/log/pods/<ns>_<name>_<uid>
  std::map<std::string, std::string> labels, annotations;
  std::vector<PortMapping> port_mappings;
  QosClass qos = QosClass::BestEffort;  // picks the pod's cgroup (kubepods/<qos>/pod<uid>)
  bool host_network = false;
  std::vector<std::string> dns_servers, dns_searches, dns_options;
};

enum class SandboxState { Ready, NotReady };

struct SandboxStatus {
  std::string id;
  SandboxState state = SandboxState::NotReady;
  std::string netns_path;  // empty for hostNetwork
  std::string log_directory;
  std::map<std::string, std::string> labels, annotations;
  int64_t created_at_ns = 0;
  uint32_t attempt = 0;
};

struct VolumeMount {
  std::string host_path;
  std::string container_path;
  bool readonly = false;
};

struct LinuxResources {
  int64_t cpu_shares = 2;       // kubelet: milliCPU * 1024 / 1000, min 2
  int64_t cpu_quota = 0;        // 0 = unlimited
  int64_t cpu_period = 100000;  // 100 ms
  int64_t memory_limit = 0;     // bytes; 0 = unlimited
  int64_t oom_score_adj = 0;
};

struct SecurityOptions {
  std::optional<int64_t> run_as_user, run_as_group;
  std::vector<int64_t> supplemental_groups;
  bool readonly_rootfs = false;
  bool privileged = false;
  bool no_new_privs = true;
  std::vector<std::string> add_capabilities, drop_capabilities;
};

struct ContainerConfig {
  std::string name;
  uint32_t attempt = 0;
  std::string image;
  std::vector<std::string> command;  // entrypoint override; empty = image's
  std::vector<std::string> args;     // empty = image's cmd (when command is empty too)
  std::vector<std::pair<std::string, std::string>> env;
  std::string working_dir;
  std::vector<VolumeMount> mounts;
  std::map<std::string, std::string> labels, annotations;
  bool stdin_open = false, stdin_once = false, tty = false;
  LinuxResources resources;
  SecurityOptions security;
};

enum class ContainerState { Created, Running, Exited, Unknown };

struct ContainerInfo {
  std::string id;
  std::string sandbox_id;
  std::string name;  // metadata name (the pod's container name)
  uint32_t attempt = 0;
  ContainerState state = ContainerState::Unknown;
  int64_t created_at_ns = 0, started_at_ns = 0, finished_at_ns = 0;
  int exit_code = 0;
  std::string reason;  // Completed, Error, OOMKilled
  std::string message;
  std::string image;      // as requested
  std::string image_ref;  // resolved id (imageID)
  std::string log_path;   // absolute
  std::map<std::string, std::string> labels, annotations;
};

struct ImageInfo {
  std::string id;
  std::vector<std::string> repo_tags, repo_digests;
  uint64_t size = 0;
};

// The kubelet's image GC policy (imageGCHighThresholdPercent, imageGCLowThresholdPercent,
// imageMinimumGCAge) and what a pass did.
struct ImageGcPolicy {
  int high_threshold_percent = 85;
  int low_threshold_percent = 80;
  std::chrono::seconds min_age{120};
};
struct ImageGcReport {
  std::vector<std::string> removed;  // image ids
  uint64_t freed_bytes = 0;
  uint64_t wanted_bytes = 0;  // 0: usage was under the high threshold
};

struct ExecResult {
  int exit_code = 0;
  std::string out, err;
};

// An interactive exec session (kubectl exec -it, kubectl attach): the runtime's own interface,
// which the real runtime's sessions implement.
using ExecSession = skiff::runtime::ExecSession;

struct ContainerStats {
  std::string id;
  uint64_t cpu_usage_nano_cores = 0;
  uint64_t cpu_usage_core_nano_seconds = 0;
  uint64_t memory_working_set_bytes = 0;
  uint64_t memory_usage_bytes = 0;
  uint64_t rootfs_used_bytes = 0;
};

class ContainerRuntime {
 public:
  virtual ~ContainerRuntime() = default;
  // "skiff-native://0.1.0": node status containerRuntimeVersion.
  virtual std::string version() = 0;

  // Creates the pod sandbox (namespaces, cgroup parent, log dir); returns its id.
  virtual Result<std::string> runPodSandbox(const SandboxConfig& cfg) = 0;
  // Stops every container of the sandbox and releases its namespaces; idempotent.
  virtual Result<void> stopPodSandbox(const std::string& id) = 0;
  // Removes a stopped sandbox; NotFound counts as done (returns ok).
  virtual Result<void> removePodSandbox(const std::string& id) = 0;
  virtual Result<std::vector<SandboxStatus>> listPodSandboxes() = 0;
  // The sandboxes carrying every label of `selector`: a pod sync asks for its own pod's only
  // (listing all of them made every sync O(pods on the node)).
  virtual Result<std::vector<SandboxStatus>> listPodSandboxes(
      const std::map<std::string, std::string>& selector) {
    SKIFF_ASSIGN_OR_RETURN(auto all, listPodSandboxes());
    std::erase_if(all, [&](const SandboxStatus& s) {
      for (const auto& [k, v] : selector) {
        auto it = s.labels.find(k);
        if (it == s.labels.end() || it->second != v) return true;
      }
      return false;
    });
    return all;
  }

  virtual Result<std::string> createContainer(const std::string& sandbox_id,
                                              const ContainerConfig& cfg) = 0;
  virtual Result<void> startContainer(const std::string& id) = 0;
  // SIGTERM, wait up to `timeout`, then SIGKILL; idempotent on an exited container.
  virtual Result<void> stopContainer(const std::string& id, std::chrono::seconds timeout) = 0;
  virtual Result<void> removeContainer(const std::string& id) = 0;
  virtual Result<std::vector<ContainerInfo>> listContainers() = 0;
  // The containers of one sandbox. A pod sync needs only its own pod's containers; listing all
  // of them (each one's state read from disk and /proc) made every sync O(pods on the node).
  virtual Result<std::vector<ContainerInfo>> listSandboxContainers(const std::string& sandbox_id) {
    SKIFF_ASSIGN_OR_RETURN(auto all, listContainers());
    std::erase_if(all, [&](const ContainerInfo& c) { return c.sandbox_id != sandbox_id; });
    return all;
  }

  virtual Result<ExecResult> execSync(const std::string& id, const std::vector<std::string>& cmd,
                                      std::chrono::seconds timeout) = 0;
  virtual Result<std::unique_ptr<ExecSession>> exec(const std::string& id,
                                                    const std::vector<std::string>& cmd, bool tty,
                                                    bool stdin_open) = 0;
  // The main process's streams (kubectl attach); wait() returns the container's exit code.
  virtual Result<std::unique_ptr<ExecSession>> attach(const std::string& id, bool stdin_open) {
    (void)id;
    (void)stdin_open;
    return Error(ErrorCode::Unsupported, "attach is not supported by this runtime");
  }

  virtual Result<ImageInfo> pullImage(const std::string& ref) = 0;
  virtual Result<std::optional<ImageInfo>> imageStatus(const std::string& ref) = 0;
  virtual Result<std::vector<ImageInfo>> listImages() = 0;
  // Removes images no container (running or exited) uses, least recently used first and none
  // younger than the policy's min age, when the image filesystem is at or above the high
  // threshold, until it is back at the low one.
  virtual Result<ImageGcReport> garbageCollectImages(const ImageGcPolicy& policy) = 0;

  virtual Result<std::vector<ContainerStats>> listContainerStats() = 0;
};
using ContainerRuntimePtr = std::shared_ptr<ContainerRuntime>;

// The pod network as the agent uses it (netproxy's PodNetwork behind a thin adapter).
class PodNetworkManager {
 public:
  virtual ~PodNetworkManager() = default;
  // Gives the sandbox's netns an interface and an IP from the node's podCIDR; returns the IP.
  virtual Result<std::string> setup(const std::string& sandbox_id, const std::string& pod_ref,
                                    const std::string& netns_path,
                                    const std::vector<PortMapping>& host_ports) = 0;
  // Releases the IP, the host side and hostPort rules; unknown sandboxes are fine.
  virtual Result<void> teardown(const std::string& sandbox_id, const std::string& pod_ref,
                                const std::string& netns_path) = 0;
  // The IP a sandbox holds (after an agent restart), empty if none.
  virtual std::string podIp(const std::string& sandbox_id) = 0;
  // The node's podCIDR, once the master's IPAM assigned it.
  virtual void setPodCidr(const std::string& cidr) = 0;
  // Routes to the other nodes' pod CIDRs: node name -> (podCIDR, InternalIP).
  virtual Result<void> syncNodeRoutes(
      const std::map<std::string, std::pair<std::string, std::string>>& nodes) = 0;
  virtual bool ready() const = 0;
};
using PodNetworkManagerPtr = std::shared_ptr<PodNetworkManager>;

}  // namespace skiff::agent
