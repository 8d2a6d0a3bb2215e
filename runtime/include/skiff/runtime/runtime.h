#pragma once

// The container runtime, CRI-shaped and in-process (DESIGN.md "Interfaces that matter").
//
// Objects and their states (mirrors the CRI v1 API the kubelet speaks to containerd):
//
//   PodSandbox   Ready -> NotReady (StopPodSandbox) -> gone (RemovePodSandbox)
//                A sandbox is a set of namespaces (network, IPC, UTS) held by bind mounts, not a
//                process: no pause container. Its network namespace path is returned by
//                runPodSandbox so the pod network helper can put a veth in it.
//   Container    Created (createContainer) -> Running (startContainer)
//                -> Exited (process ended, stopContainer) -> gone (removeContainer)
//                Each container has a `skiff-shim` parent that owns its stdio, writes its CRI
//                log and records its exit status in the state dir, so containers outlive the
//                Runtime object (and the process owning it); a new Runtime on the same state dir
//                re-adopts them (listContainers/containerStatus report them and their later
//                exits).
//
// Backends: `native` (our own namespaces/cgroups launcher, the default) and `runc` (OCI bundle +
// runc create/start/kill/delete). Both implement this interface and are chosen once at
// construction (RuntimeOptions::backend).
//
// Thread-safety: every method may be called from any thread; calls about the same object are
// serialised internally. Ids are opaque 64-hex strings (like containerd); every method that takes
// an id also accepts a unique prefix of at least 4 characters (like crictl).
//
// Errors: NotFound for an unknown id/image, AlreadyExists for a duplicate name in a sandbox,
// Conflict for a wrong state (start of a running container), Invalid for a bad spec. Removals are
// idempotent: removing an unknown id returns false, not an error (STYLE.md §4).

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "skiff/common/pod_resources.h"
#include "skiff/common/result.h"
#include "skiff/hostinfo/cgroups.h"
#include "skiff/runtime/image_store.h"

namespace skiff::runtime {

enum class Backend { Native, Runc };
std::string_view backendName(Backend b);
Result<Backend> parseBackend(std::string_view name);

struct RuntimeOptions {
  Backend backend = Backend::Native;
  // Containers, sandboxes, shims' exit records; images live in `<state_dir>/images` unless
  // image_dir is set.
  std::string state_dir = "/var/lib/skiff/runtime";
  std::string image_dir;  // empty: <state_dir>/images
  // CRI logs: <log_dir>/<ns>_<pod>_<uid>/<container>/<restart>.log
  std::string log_dir = "/var/log/pods";
  // Mount point of the cgroup hierarchies (v1 controllers under it, or the v2 unified tree).
  std::string cgroup_root = "/sys/fs/cgroup";
  // The host's cgroup layout, as hostinfo::detectCgroups found it: the runtime does not detect
  // it again. V1 and Hybrid drive the v1 hierarchies under cgroup_root, V2 the unified tree;
  // None (the default: the caller did not say) refuses to open.
  hostinfo::CgroupMode cgroup_mode = hostinfo::CgroupMode::None;
  // Parent of kubepods inside each hierarchy (tests use "skiff-test-<pid>"); empty = top.
  std::string cgroup_parent;
  // The skiff-shim binary; empty: next to /proc/self/exe, then $PATH.
  std::string shim_path;
  std::string runc_path = "runc";
  std::uint64_t container_log_max_size = 10u << 20;  // containerLogMaxSize 10Mi
  int container_log_max_files = 5;                   // containerLogMaxFiles
};

// ---- Pod sandboxes -------------------------------------------------------------------------

struct PodSandboxMetadata {
  std::string name;
  std::string uid;
  std::string namespace_;
  std::uint32_t attempt = 0;
};

// The pod's QoS class picks its cgroup (kubepods/<qos>/pod<uid>); one enum for the whole tree.
using QosClass = skiff::QosClass;

struct PodSandboxConfig {
  PodSandboxMetadata metadata;
  std::string hostname;  // UTS hostname of every container in the pod
  // Where to hold the pod's network namespace (a bind mount of /proc/<pid>/ns/net at this path);
  // empty: <state_dir>/sandboxes/<id>/netns. The path's directory must exist or be creatable.
  std::string netns_path;
  // Share the host's network namespace (hostNetwork: true); netns_path is then ignored.
  bool host_network = false;
  QosClass qos = QosClass::BestEffort;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
};

enum class SandboxState { Ready, NotReady };

struct PodSandboxStatus {
  std::string id;
  PodSandboxMetadata metadata;
  SandboxState state = SandboxState::Ready;
  std::int64_t created_at_ns = 0;
  std::string netns_path;  // empty for host network
  std::string log_directory;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
};

// ---- Containers ----------------------------------------------------------------------------

struct Mount {
  std::string container_path;
  std::string host_path;
  bool readonly = false;
};

struct Resources {
  std::int64_t cpu_shares = 0;    // v1 cpu.shares (v2 weight derived); 0 = default
  std::int64_t cpu_quota_us = 0;  // cfs quota; 0 = unlimited
  std::int64_t cpu_period_us = 100000;
  std::int64_t memory_limit_bytes = 0;  // 0 = unlimited
  std::int64_t pids_limit = 0;          // 0 = unlimited
};

struct Rlimit {
  std::string type;  // "RLIMIT_NOFILE"...
  std::uint64_t soft = 0;
  std::uint64_t hard = 0;
};

struct ContainerConfig {
  std::string name;
  std::uint32_t attempt = 0;         // restart count: names the log file <attempt>.log
  std::string image;                 // reference as the user wrote it, or an image id
  std::vector<std::string> command;  // entrypoint override; empty: image Entrypoint
  std::vector<std::string> args;     // cmd override; empty: image Cmd (if command empty)
  std::vector<std::string> env;      // KEY=VALUE, appended to the image's Env
  std::string working_dir;           // empty: image WorkingDir, then "/"
  // "1000", "1000:1000", "nobody", "nobody:nogroup"; empty: image User, then root.
  std::string user;
  std::vector<std::uint32_t> supplemental_groups;
  std::vector<Mount> mounts;
  Resources resources;
  std::vector<std::string> cap_add;  // "NET_ADMIN" or "CAP_NET_ADMIN"; "ALL"
  std::vector<std::string> cap_drop;
  bool privileged = false;  // all caps, no seccomp, no masked paths, rw /sys
  bool no_new_privs = true;
  bool seccomp_unconfined = false;
  bool readonly_rootfs = false;
  // /proc/<pid>/oom_score_adj of the container's processes (kubelet's QoS policy: -997
  // Guaranteed, 1000 BestEffort, 3..999 Burstable), set before the process starts.
  int oom_score_adj = 0;
  // The main process's stdio. Without either flag: /dev/null as stdin, pipes (to the CRI log) as
  // stdout/stderr. stdin_open: stdin is a pipe the shim keeps open for attach. tty: a pty is
  // stdin/stdout/stderr (output logged as stdout). stdin_once: the first attach session that
  // used stdin closes it when it ends (kubectl run -i --rm), as CRI's StdinOnce.
  bool tty = false;
  bool stdin_open = false;
  bool stdin_once = false;
  std::vector<Rlimit> rlimits;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
};

enum class ContainerState { Created, Running, Exited, Unknown };
std::string_view containerStateName(ContainerState s);

struct ContainerStatus {
  std::string id;
  std::string sandbox_id;
  std::string name;
  std::uint32_t attempt = 0;
  ContainerState state = ContainerState::Unknown;
  std::string image;      // reference as given
  std::string image_ref;  // resolved image id (sha256:...)
  std::int64_t created_at_ns = 0;
  std::int64_t started_at_ns = 0;
  std::int64_t finished_at_ns = 0;
  int exit_code = 0;
  // "Completed" (exit 0), "Error", "OOMKilled" (an OOM kill in the container's cgroup and the
  // process died of SIGKILL), "StartError" (exec of the command failed: message says why),
  // "Unknown" (the shim died without recording an exit: exit_code 255).
  std::string reason;
  std::string message;
  int pid = 0;  // host pid of the container's init while running
  // <log_dir>/<ns>_<pod>_<uid>/<container>/<attempt>.log; rotated files sit next to it as
  // <attempt>.log.<YYYYMMDD-HHMMSS> (kubelet's naming), at most container_log_max_files in all.
  std::string log_path;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
};

struct ContainerFilter {
  std::string sandbox_id;
  std::optional<ContainerState> state;
};

struct ContainerStats {
  std::string id;
  std::int64_t timestamp_ns = 0;
  std::uint64_t cpu_usage_core_ns = 0;         // cumulative
  std::uint64_t memory_working_set_bytes = 0;  // usage - inactive_file
  std::uint64_t memory_usage_bytes = 0;
};

struct ExecSyncResult {
  int exit_code = -1;
  std::string stdout_data;
  std::string stderr_data;
};

// A running exec session (kubectl exec -it). Streams are file descriptors owned by the session:
// write to stdinFd (close it with closeStdin for EOF), read stdout/stderr until EOF. With a TTY,
// stdout carries the merged terminal output and stderr is -1.
class ExecSession {
 public:
  virtual ~ExecSession() = default;
  virtual int stdinFd() const = 0;
  virtual int stdoutFd() const = 0;
  virtual int stderrFd() const = 0;
  virtual void closeStdin() = 0;
  // TIOCSWINSZ on the session's pty; Invalid without a TTY.
  virtual Result<void> resize(std::uint16_t cols, std::uint16_t rows) = 0;
  // Waits for the process; returns its exit code (128+signal when killed). An attach session
  // that was detached returns a Cancelled error.
  virtual Result<int> wait() = 0;
  // Stops streaming without ending the process (attach: the container keeps running, the
  // output streams reach EOF and wait() returns). Exec sessions ignore it.
  virtual void detach() {}
};

struct ExecOptions {
  std::vector<std::string> cmd;
  bool tty = false;
  bool stdin_open = false;
  std::vector<std::string> env;  // extra KEY=VALUE
};

class Runtime {
 public:
  virtual ~Runtime() = default;

  virtual Backend backend() const = 0;

  // Creates the sandbox namespaces. Returns the sandbox id. The netns path is in podSandboxStatus.
  virtual Result<std::string> runPodSandbox(const PodSandboxConfig& config) = 0;
  // Stops every container in the sandbox (grace `timeout`) and marks it NotReady. Keeps the netns
  // so the network helper can tear down. Idempotent.
  virtual Result<void> stopPodSandbox(
      const std::string& id, std::chrono::milliseconds timeout = std::chrono::seconds(30)) = 0;
  // Removes the containers, unmounts and deletes the namespaces and the pod cgroup. Unknown id:
  // false.
  virtual Result<bool> removePodSandbox(const std::string& id) = 0;
  virtual Result<PodSandboxStatus> podSandboxStatus(const std::string& id) = 0;
  // Every sandbox, or those carrying all of `label_selector` (CRI's PodSandboxFilter).
  virtual Result<std::vector<PodSandboxStatus>> listPodSandbox(
      const std::map<std::string, std::string>& label_selector = {}) = 0;

  // Prepares rootfs, cgroup, namespaces and the shim; the process is ready to exec but waits for
  // startContainer. A failure leaves nothing behind. The image must be present (pull first).
  virtual Result<std::string> createContainer(const std::string& sandbox_id,
                                              const ContainerConfig& config) = 0;
  virtual Result<void> startContainer(const std::string& id) = 0;
  // SIGTERM, wait up to `timeout`, then SIGKILL; returns when the process has exited.
  // Idempotent on an exited container.
  virtual Result<void> stopContainer(const std::string& id, std::chrono::milliseconds timeout) = 0;
  // Kills if running, then tears down mounts, cgroup and state. The log files stay (kubelet
  // removes the pod log dir). Unknown id: false.
  virtual Result<bool> removeContainer(const std::string& id) = 0;
  virtual Result<std::vector<ContainerStatus>> listContainers(
      const ContainerFilter& filter = {}) = 0;
  virtual Result<ContainerStatus> containerStatus(const std::string& id) = 0;
  // Waits until the container has exited or `timeout` passed (Timeout error). For tests and the
  // CLI; the agent polls listContainers as its PLEG.
  virtual Result<ContainerStatus> waitContainer(const std::string& id,
                                                std::chrono::milliseconds timeout) = 0;

  // Runs a command in the container's namespaces and cgroup; captures output (each stream capped
  // at 16 MiB). Timeout kills the process (exit code 137 reported with a Timeout error).
  virtual Result<ExecSyncResult> execSync(const std::string& id,
                                          const std::vector<std::string>& cmd,
                                          std::chrono::milliseconds timeout) = 0;
  virtual Result<std::unique_ptr<ExecSession>> exec(const std::string& id,
                                                    const ExecOptions& opts) = 0;
  // Connects to the main process of a created or running container (kubectl attach): its
  // output from now
  // on (the CRI log still gets all of it), its stdin when the container was created with
  // stdin_open or tty and `stdin_open` is asked for (Invalid otherwise), resize with a TTY.
  // wait() returns the container's exit code. Several sessions may be attached at once.
  virtual Result<std::unique_ptr<ExecSession>> attach(const std::string& id, bool stdin_open) = 0;

  virtual Result<ContainerStats> containerStats(const std::string& id) = 0;

  // Images (shared by both backends).
  virtual ImageStore& images() = 0;
};

using RuntimePtr = std::unique_ptr<Runtime>;

// Opens (creating directories as needed) the runtime over `options.state_dir` and re-adopts the
// containers recorded there.
Result<RuntimePtr> createRuntime(const RuntimeOptions& options);

}  // namespace skiff::runtime
