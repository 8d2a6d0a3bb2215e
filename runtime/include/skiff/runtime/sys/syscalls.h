#pragma once

// The runtime's kernel seam (STYLE.md §3): every mount, namespace, signal, process spawn, pty and
// wait the runtime makes goes through one of these methods, so the container and sandbox
// lifecycle runs against testing::FakeKernel in unit tests. Cgroup files go through
// sys/cgroups.h. Modelled on Envoy's OsSysCalls and youki's Syscall trait: each method is one
// syscall or one privileged operation, has no policy, and returns errno in the Error
// (Error::sysErrno()) when it fails.
//
// Plain file I/O inside the runtime's own state directory (records, spec files) is not part of
// the seam: it works unprivileged on a temporary directory, which is what the tests use.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "skiff/common/result.h"
#include "skiff/common/run_command.h"
#include "skiff/common/spawn.h"
#include "skiff/common/unique_fd.h"

namespace skiff::runtime::sys {

// What a finished program printed and how it ended (runc, skiff-init exec).
using RunResult = skiff::RunResult;

// The namespaces of one pod sandbox, held by bind mounts of /proc/<pid>/ns/<kind> at these
// paths (no pause process). `net` empty: the host's network namespace (hostNetwork).
struct SandboxNamespaces {
  std::string net;
  std::string ipc;
  std::string uts;
  std::string hostname;  // the UTS hostname, at most 64 bytes
};

struct PtyPair {
  UniqueFd master;
  UniqueFd slave;
};

class Syscalls {
 public:
  virtual ~Syscalls() = default;

  // @see man 2 mount.
  virtual Result<void> mount(const std::string& source, const std::string& target,
                             const std::string& fstype, unsigned long flags,
                             const std::string& data) = 0;
  // @see man 2 umount2. false when nothing is mounted there (EINVAL) or the path is gone
  // (ENOENT); the removals built on it are idempotent.
  virtual Result<bool> umount(const std::string& target, int flags) = 0;
  // One privileged operation (crun's and runc's "nsexec"): in a child sharing no state but its
  // memory, unshare(CLONE_NEWIPC | CLONE_NEWUTS [| CLONE_NEWNET]), sethostname, bring `lo` up in a
  // new network namespace and bind-mount each new namespace onto its (existing, empty) file.
  // The error names the step that failed and carries its errno.
  virtual Result<void> holdNamespaces(const SandboxNamespaces& ns) = 0;

  // @see man 2 kill. false when the process is gone (ESRCH).
  virtual Result<bool> kill(pid_t pid, int sig) = 0;
  // Field 22 of /proc/<pid>/stat (clock ticks since boot): with the pid, a process identity
  // that survives pid reuse. 0 when the process is gone or a zombie.
  virtual std::uint64_t processStartTime(pid_t pid) = 0;
  // Waits up to `timeout` for `pid` to exit (pidfd_open + poll; a pidfd, not inotify: closing an
  // inotify instance waits for an SRCU grace period). true when it has exited or was not there.
  virtual Result<bool> waitForPidExit(pid_t pid, std::chrono::milliseconds timeout) = 0;

  // Starts a program that daemonizes itself (skiff-shim: forks, its first process exits) in a
  // new session, with the write end of a pipe as fd 3, and returns everything it wrote there
  // until it closed the pipe (the shim's "ok <init pid> <shim pid>" or "error <why>").
  // Timeout error when nothing is closed within `timeout`.
  virtual Result<std::string> spawnDetached(const std::vector<std::string>& argv,
                                            std::chrono::milliseconds timeout) = 0;
  // Runs `argv` (PATH lookup) to completion, stdin /dev/null, capturing output (16 MiB each);
  // killed at the deadline (Timeout error). A program that cannot be executed gives 127.
  virtual Result<RunResult> runCommand(const std::vector<std::string>& argv,
                                       std::chrono::milliseconds timeout) = 0;
  // posix_spawn (common/spawn.h); the caller reaps the pid with waitPid.
  virtual Result<pid_t> spawn(const std::vector<std::string>& argv, const SpawnOptions& opts) = 0;
  // @see man 2 waitpid, retried on EINTR: exit code, or 128 + signal.
  virtual Result<int> waitPid(pid_t pid) = 0;

  // @see man 3 mkfifo.
  virtual Result<void> mkfifo(const std::string& path, mode_t mode) = 0;
  // The native start signal: opens the fifo a created container's init blocks on and reads its
  // one byte, which lets the init exec. Internal error when the init did not write it within
  // `timeout`.
  virtual Result<void> readStartFifo(const std::string& path,
                                     std::chrono::milliseconds timeout) = 0;

  // A pty from the devpts instance whose ptmx is `ptmx` (a container's /dev/pts/ptmx), unlocked
  // (TIOCSPTLCK), with its peer opened by TIOCGPTPEER.
  virtual Result<PtyPair> openPty(const std::string& ptmx) = 0;
  // @see man 2 ioctl_tty, TIOCSWINSZ.
  virtual Result<void> setWindowSize(int fd, std::uint16_t cols, std::uint16_t rows) = 0;
};

using SyscallsPtr = std::unique_ptr<Syscalls>;

// The real kernel.
SyscallsPtr makeLinuxSyscalls();

}  // namespace skiff::runtime::sys
