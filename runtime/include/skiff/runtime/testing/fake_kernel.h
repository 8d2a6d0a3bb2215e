#pragma once

// A fake of the runtime's kernel seam (sys/syscalls.h) and of its cgroups (sys/cgroups.h) that
// keeps state the way the kernel does, so tests ask "is anything still mounted, running, in a
// cgroup?" instead of comparing call lists (STYLE.md §3; netproxy's FakeNetworkWorld):
//
//   - a mount table (a stack of mounts per target; the target must exist on disk, as for the
//     kernel, so tests run on a temporary state dir),
//   - processes with pids, start times and liveness. spawnDetached models skiff-shim: it starts a
//     shim and a container init that waits to be started (native: on its start fifo; runc:
//     until `runc start`), joins the container's cgroup (native: the runtime must have made it;
//     runc: runc makes it) and, when the init dies, writes the exit record into the container
//     dir and exits, as the real shim does. runCommand models `runc start|delete` and
//     `skiff-init exec`.
//   - cgroups (relative paths with their ancestors, limits, member pids). Removing a cgroup
//     kills its members; a cgroup with children is busy.
//   - held sandbox namespaces (nsfs bind mounts) and their hostnames, fifos.
//
// Not thread-safe: tests drive it from one thread.

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "skiff/common/testing/injected_failures.h"
#include "skiff/runtime/image_store.h"
#include "skiff/runtime/sys/cgroups.h"
#include "skiff/runtime/sys/syscalls.h"

namespace skiff::runtime::testing {

// The prefix of the cgroup file paths the fake cgroup manager hands out (joinFiles, oomFile).
inline constexpr const char* kFakeCgroupRoot = "/fake/sys/fs/cgroup";

class FakeKernel : public sys::Syscalls {
 public:
  struct Process {
    pid_t pid = 0;
    std::string comm;  // "skiff-shim", "init", "exec"
    bool alive = true;
    bool waiting_start = false;  // a created container init, blocked before exec
    bool ignores_sigterm = false;
    int exit_code = 0;  // 128+signal when killed
    std::uint64_t start_time = 0;
    std::string cgroup;         // relative path; "" = none
    pid_t shim = 0;             // an init's shim
    pid_t init = 0;             // a shim's init
    std::string container_dir;  // a shim's --dir, where it writes the exit record
    std::string start_fifo;     // a native init's start fifo
  };
  struct MountEntry {
    std::string source;
    std::string fstype;
    unsigned long flags = 0;
    std::string data;
  };
  struct Cgroup {
    Resources resources;
    bool all_devices = false;
    std::set<pid_t> procs;
    sys::CgroupUsage usage;
  };

  FakeKernel() = default;

  // ---- state, for assertions ----
  const std::map<std::string, std::vector<MountEntry>>& mounts() const { return mounts_; }
  const std::map<pid_t, Process>& processes() const { return procs_; }
  std::vector<pid_t> livePids() const;
  const Process* process(pid_t pid) const;
  const std::map<std::string, Cgroup>& cgroups() const { return cgroups_; }
  bool hasCgroup(const std::string& rel) const { return cgroups_.count(rel) > 0; }
  // Cgroups at or under `rel`.
  std::vector<std::string> cgroupsUnder(const std::string& rel) const;
  // Container ids runc has state for (created and not deleted).
  std::set<std::string> runcContainers() const;
  // The hostname of the UTS namespace held at `uts_path`; nullopt when none is held there.
  std::optional<std::string> hostnameAt(const std::string& uts_path) const;
  const std::set<std::string>& fifos() const { return fifos_; }
  // Every argv runCommand was given (for interaction checks only: "was runc delete called").
  const std::vector<std::vector<std::string>>& commands() const { return commands_; }

  // ---- controls ----
  // Makes the next call of `method` ("mount", "holdNamespaces", "spawnDetached", "runCommand",
  // "readStartFifo", "mkfifo", "cgroupCreate", ...) fail with `e`, changing nothing.
  void failNextForTest(const std::string& method, Error e) {
    failures_.failNext(method, std::move(e));
  }
  // The next container init fails before it is ready: its shim reports "error <why>" and both
  // exit (what a missing binary or a bad rootfs gives).
  void failNextLaunchForTest(std::string why) { fail_launch_ = std::move(why); }
  // Container inits spawned from now on ignore SIGTERM (a process without a handler in a PID
  // namespace, or one that traps it).
  void setIgnoreSigtermForTest(bool ignore) { ignore_sigterm_ = ignore; }
  // The process exits by itself with `code` (a container's command finishing).
  void exitForTest(pid_t pid, int code);
  // The memory usage the cgroup reports.
  void setUsageForTest(const std::string& rel, const sys::CgroupUsage& usage);
  // What `skiff-init exec` prints and returns for a command (default: exit 0, no output).
  void setExecHandlerForTest(std::function<sys::RunResult(const std::vector<std::string>&)> fn) {
    exec_handler_ = std::move(fn);
  }

  // A cgroup manager acting on this kernel's cgroups (the kernel must outlive it).
  sys::CgroupManagerPtr cgroupManager();

  // sys::Syscalls
  Result<void> mount(const std::string& source, const std::string& target,
                     const std::string& fstype, unsigned long flags,
                     const std::string& data) override;
  Result<bool> umount(const std::string& target, int flags) override;
  Result<void> holdNamespaces(const sys::SandboxNamespaces& ns) override;
  Result<bool> kill(pid_t pid, int sig) override;
  std::uint64_t processStartTime(pid_t pid) override;
  Result<bool> waitForPidExit(pid_t pid, std::chrono::milliseconds timeout) override;
  Result<std::string> spawnDetached(const std::vector<std::string>& argv,
                                    std::chrono::milliseconds timeout) override;
  Result<sys::RunResult> runCommand(const std::vector<std::string>& argv,
                                    std::chrono::milliseconds timeout) override;
  Result<pid_t> spawn(const std::vector<std::string>& argv, const SpawnOptions& opts) override;
  Result<int> waitPid(pid_t pid) override;
  Result<void> mkfifo(const std::string& path, mode_t mode) override;
  Result<void> readStartFifo(const std::string& path, std::chrono::milliseconds timeout) override;
  Result<sys::PtyPair> openPty(const std::string& ptmx) override;
  Result<void> setWindowSize(int fd, std::uint16_t cols, std::uint16_t rows) override;

  // Used by the cgroup manager.
  std::optional<Error> takeFailure(const std::string& method) { return failures_.take(method); }
  Result<void> createCgroup(const std::string& rel, const Resources& res, bool all_devices);
  Result<bool> removeCgroup(const std::string& rel);

 private:
  pid_t newProcess(const std::string& comm);
  void terminate(pid_t pid, int code, int signal);
  void joinCgroup(pid_t pid, const std::string& rel);
  std::string launchInit(pid_t shim, const std::map<std::string, std::string>& flags,
                         const std::vector<std::string>& argv);
  sys::RunResult runc(const std::vector<std::string>& argv);

  std::map<std::string, std::vector<MountEntry>> mounts_;
  std::map<pid_t, Process> procs_;
  std::map<std::string, Cgroup> cgroups_;
  std::map<std::string, pid_t> runc_;             // runc container id -> init
  std::map<std::string, std::string> hostnames_;  // held uts ns file -> hostname
  std::set<std::string> fifos_;
  skiff::testing::InjectedFailures failures_;
  std::optional<std::string> fail_launch_;
  bool ignore_sigterm_ = false;
  std::function<sys::RunResult(const std::vector<std::string>&)> exec_handler_;
  std::vector<std::vector<std::string>> commands_;
  pid_t next_pid_ = 1000;
  std::uint64_t next_start_ = 5000;
};

// An image store holding images added with add(); layers are directories under `root`.
// pull/importArchive/garbageCollect are not modelled (Unavailable).
class FakeImageStore : public ImageStore {
 public:
  explicit FakeImageStore(std::string root) : root_(std::move(root)) {}
  // Adds `ref` (its id derived from the name) with this config; returns it.
  Image add(const std::string& ref, const ImageConfig& config);
  // How many containers use the image (markUsed deltas).
  int useCount(const std::string& image_id) const;

  // ImageStore
  Result<std::vector<Image>> importArchive(const std::string& path,
                                           const std::string& name_override) override;
  Result<Image> pull(const std::string& ref, const RegistryOptions& opts) override;
  Result<Image> get(const std::string& ref_or_id) override;
  Result<std::vector<Image>> list() override;
  Result<bool> remove(const std::string& ref_or_id) override;
  Result<std::vector<std::string>> layerDirs(const Image& image) override;
  void markUsed(const std::string& image_id, int delta) override;
  Result<ImageGcResult> garbageCollect(const ImageGcPolicy& policy, const DiskUsageFn& usage,
                                       std::chrono::system_clock::time_point now) override;
  const std::string& root() const override { return root_; }

 private:
  std::string root_;
  std::map<std::string, Image> images_;  // by id
  std::map<std::string, int> used_;
};

}  // namespace skiff::runtime::testing
