// The real runtime seam: each method is the syscall it names, with errno captured at the call.
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>

#include "process_util.h"
#include "skiff/runtime/sys/syscalls.h"

namespace skiff::runtime::sys {
namespace {

class LinuxSyscalls final : public Syscalls {
 public:
  // sys::Syscalls
  Result<void> mount(const std::string& source, const std::string& target,
                     const std::string& fstype, unsigned long flags,
                     const std::string& data) override {
    if (::mount(source.c_str(), target.c_str(), fstype.empty() ? nullptr : fstype.c_str(), flags,
                data.empty() ? nullptr : data.c_str()) != 0)
      return Error::fromErrno(errno, "mount " + fstype + " on '" + target + "'");
    return ok();
  }

  Result<bool> umount(const std::string& target, int flags) override {
    if (::umount2(target.c_str(), flags) == 0) return true;
    if (errno == EINVAL || errno == ENOENT) return false;
    return Error::fromErrno(errno, "unmount '" + target + "'");
  }

  Result<void> holdNamespaces(const SandboxNamespaces& ns) override;

  Result<bool> kill(pid_t pid, int sig) override {
    if (::kill(pid, sig) == 0) return true;
    if (errno == ESRCH) return false;
    return Error::fromErrno(errno, "kill " + std::to_string(pid));
  }

  std::uint64_t processStartTime(pid_t pid) override { return runtime::processStartTime(pid); }

  Result<bool> waitForPidExit(pid_t pid, std::chrono::milliseconds timeout) override {
    UniqueFd fd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (!fd) {
      if (errno == ESRCH) return true;
      return Error::fromErrno(errno, "pidfd_open " + std::to_string(pid));
    }
    struct pollfd p {
      fd.get(), POLLIN, 0
    };
    int rc = ::poll(&p, 1, static_cast<int>(timeout.count()));
    if (rc < 0 && errno != EINTR) return Error::fromErrno(errno, "poll pidfd");
    return rc > 0;
  }

  Result<std::string> spawnDetached(const std::vector<std::string>& argv,
                                    std::chrono::milliseconds timeout) override {
    int sync[2];
    if (::pipe2(sync, O_CLOEXEC) != 0) return Error::fromErrno(errno, "create sync pipe");
    UniqueFd sync_r(sync[0]), sync_w(sync[1]);
    SKIFF_TRY(runtime::spawnDetached(argv, sync_w.get()));
    sync_w.reset();
    return readUntilEof(sync_r.get(), timeout);
  }

  Result<RunResult> runCommand(const std::vector<std::string>& argv,
                               std::chrono::milliseconds timeout) override {
    return skiff::runCommand(argv, {.timeout = timeout});
  }

  Result<pid_t> spawn(const std::vector<std::string>& argv, const SpawnOptions& opts) override {
    return spawnProcess(argv, opts);
  }

  Result<int> waitPid(pid_t pid) override { return waitForExit(pid); }

  Result<void> mkfifo(const std::string& path, mode_t mode) override {
    if (::mkfifo(path.c_str(), mode) != 0)
      return Error::fromErrno(errno, "create fifo '" + path + "'");
    // mkfifo's mode is filtered by the umask.
    if (::chmod(path.c_str(), mode) != 0)
      return Error::fromErrno(errno, "chmod fifo '" + path + "'");
    return ok();
  }

  Result<void> readStartFifo(const std::string& path, std::chrono::milliseconds timeout) override {
    UniqueFd fifo(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (!fifo) return Error::fromErrno(errno, "open start fifo '" + path + "'");
    struct pollfd p {
      fifo.get(), POLLIN, 0
    };
    int rc = ::poll(&p, 1, static_cast<int>(timeout.count()));
    char b = 0;
    if (rc <= 0 || ::read(fifo.get(), &b, 1) != 1)
      return Error(ErrorCode::Internal, "the container init did not respond");
    return ok();
  }

  Result<PtyPair> openPty(const std::string& ptmx) override {
    PtyPair pty;
    pty.master.reset(::open(ptmx.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!pty.master) return Error::fromErrno(errno, "open '" + ptmx + "'");
    int unlock = 0;
    if (::ioctl(pty.master.get(), TIOCSPTLCK, &unlock) != 0)
      return Error::fromErrno(errno, "unlock pty");
    pty.slave.reset(::ioctl(pty.master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!pty.slave) return Error::fromErrno(errno, "open pty peer");
    return pty;
  }

  Result<void> setWindowSize(int fd, std::uint16_t cols, std::uint16_t rows) override {
    struct winsize ws {};
    ws.ws_col = cols;
    ws.ws_row = rows;
    if (::ioctl(fd, TIOCSWINSZ, &ws) != 0) return Error::fromErrno(errno, "resize terminal");
    return ok();
  }
};

Result<void> LinuxSyscalls::holdNamespaces(const SandboxNamespaces& ns) {
  // Prepare everything before the clone: the child only makes syscalls.
  std::vector<std::pair<std::string, std::string>> binds;  // /proc/self/ns/x -> file
  int flags = CLONE_NEWIPC | CLONE_NEWUTS;
  if (!ns.net.empty()) {
    flags |= CLONE_NEWNET;
    binds.emplace_back("/proc/self/ns/net", ns.net);
  }
  binds.emplace_back("/proc/self/ns/ipc", ns.ipc);
  binds.emplace_back("/proc/self/ns/uts", ns.uts);
  std::string hostname = ns.hostname.substr(0, 64);
  // The child reports the step that failed and its errno; the message is built here, since
  // the child may only make syscalls (runInVforkChild).
  struct Failure {
    int err;
    const char* what;
  } failure{0, nullptr};
  auto child = [&]() -> int {
    auto die = [&](const char* what) {
      failure = {errno, what};
      return 1;
    };
    if (::unshare(flags) != 0) return die("unshare namespaces");
    if (::sethostname(hostname.data(), hostname.size()) != 0) return die("set hostname");
    if (flags & CLONE_NEWNET) {
      // Bring up lo in the new namespace (what the CNI loopback plugin does).
      int sk = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      struct ifreq ifr {};
      std::memcpy(ifr.ifr_name, "lo", 3);
      if (sk < 0 || ::ioctl(sk, SIOCGIFFLAGS, &ifr) != 0) return die("get lo flags");
      ifr.ifr_flags |= IFF_UP;
      if (::ioctl(sk, SIOCSIFFLAGS, &ifr) != 0) return die("bring lo up");
      ::close(sk);
    }
    for (const auto& [src, dst] : binds)
      if (::mount(src.c_str(), dst.c_str(), nullptr, MS_BIND, nullptr) != 0)
        return die("bind namespace");
    return 0;
  };
  SKIFF_ASSIGN_OR_RETURN(int status, runInVforkChild(child));
  if (failure.what != nullptr) return Error::fromErrno(failure.err, failure.what);
  if (status != 0)
    return Error(ErrorCode::Internal,
                 "namespace helper exited with status " + std::to_string(status));
  return ok();
}

}  // namespace

SyscallsPtr makeLinuxSyscalls() { return std::make_unique<LinuxSyscalls>(); }

}  // namespace skiff::runtime::sys
