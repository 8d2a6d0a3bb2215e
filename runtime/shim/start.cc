// Starting the container: its stdio (pipes or a pty), then the native init (clone into new PID
// and mount namespaces, exec skiff-init) or `runc create` (adopting its init as a subreaper).
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "fd_passing.h"
#include "shim.h"

namespace skiff::shim {
namespace {

using runtime::kMaxPassedFds;
using runtime::recvFds;

std::string sysError(const std::string& what) { return what + ": " + std::strerror(errno); }

// In the child, before exec: the container's stdio and default signal handling.
void childStdio(const Stdio& io) {
  if (io.slave >= 0) {
    ::dup2(io.slave, 0);
    ::dup2(io.slave, 1);
    ::dup2(io.slave, 2);
  } else {
    ::dup2(io.in_r >= 0 ? io.in_r : io.devnull, 0);
    ::dup2(io.out[1], 1);
    ::dup2(io.err[1], 2);
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig : {SIGHUP, SIGINT, SIGTERM, SIGPIPE, SIGQUIT}) ::signal(sig, SIG_DFL);
}

// The init sends the pty master (made in the container's devpts) before "ready".
void receivePty(const Options& o, Stdio& io, pid_t init_pid) {
  ::close(io.cons[1]);
  char byte;
  int got[kMaxPassedFds];
  std::size_t n = 0;
  bool truncated = false;
  if (recvFds(io.cons[0], &byte, 1, MSG_DONTWAIT, got, &n, &truncated) != 1 || n != 1) {
    for (std::size_t i = 0; i < n; ++i) ::close(got[i]);
    ::kill(init_pid, SIGKILL);
    syncError(o, "the container init sent no pty");
  }
  io.ctl = got[0];
  ::close(io.cons[0]);
}

pid_t startNative(const Options& o, Stdio& io) {
  long pid = ::syscall(SYS_clone, CLONE_NEWPID | CLONE_NEWNS | SIGCHLD, nullptr, nullptr, nullptr,
                       nullptr);
  if (pid < 0) syncError(o, sysError("clone"));
  if (pid == 0) {
    childStdio(io);
    ::dup2(io.errp[1], 3);
    if (io.cons[1] >= 0) ::dup2(io.cons[1], 4);
    const char* args[] = {
        o.init_path.c_str(), "run", o.spec.c_str(), "3", io.cons[1] >= 0 ? "4" : nullptr, nullptr};
    ::execv(args[0], const_cast<char* const*>(args));
    std::string m = "exec '" + o.init_path + "': " + std::strerror(errno) + "\n";
    writeAll(3, m.data(), m.size());
    ::_exit(127);
  }
  auto init_pid = static_cast<pid_t>(pid);
  ::close(io.errp[1]);
  // Wait for "ready" (setup done, blocked on the start fifo) or an error line.
  std::string msg;
  char buf[4096];
  while (msg.find('\n') == std::string::npos) {
    ssize_t n = ::read(io.errp[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    msg.append(buf, static_cast<std::size_t>(n));
  }
  if (msg != "ready\n") {
    int st = 0;
    ::waitpid(init_pid, &st, 0);
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
    syncError(o, msg.empty() ? "container init exited during setup" : msg);
  }
  if (io.cons[0] >= 0) receivePty(o, io, init_pid);
  return init_pid;
}

pid_t startRunc(const Options& o, const Stdio& io) {
  std::string pidfile = o.dir + "/init.pid";
  std::string runclog = o.dir + "/runc.log";
  pid_t pid = ::fork();
  if (pid < 0) syncError(o, sysError("fork"));
  if (pid == 0) {
    childStdio(io);
    const char* args[] = {o.runc.c_str(),   "--root",        o.runc_root.c_str(),
                          "--log",          runclog.c_str(), "--log-format",
                          "json",           "create",        "--bundle",
                          o.bundle.c_str(), "--pid-file",    pidfile.c_str(),
                          o.id.c_str(),     nullptr};
    ::execvp(args[0], const_cast<char* const*>(args));
    ::_exit(127);
  }
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    // runc's last error line: {"level":"error","msg":"...","time":...}
    std::string log = readSmall(runclog);
    std::string m = "runc create failed";
    std::size_t p = log.rfind("\"msg\":\"");
    if (p != std::string::npos) {
      std::size_t e = log.find("\",\"", p + 7);
      m += ": " + log.substr(p + 7, e == std::string::npos ? std::string::npos : e - p - 7);
    }
    syncError(o, m);
  }
  auto init_pid = static_cast<pid_t>(std::atol(readSmall(pidfile).c_str()));
  if (init_pid <= 0) syncError(o, "runc create: no pid file");
  return init_pid;
}

}  // namespace

Stdio makeStdio(const Options& o) {
  Stdio io;
  if (::pipe2(io.out, O_CLOEXEC) != 0 || ::pipe2(io.err, O_CLOEXEC) != 0)
    syncError(o, sysError("create pipes"));
  if (o.native && ::pipe2(io.errp, O_CLOEXEC) != 0) syncError(o, sysError("create pipe"));
  io.devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  // The container's stdin: a pipe we keep the write end of, or a pty (the container gets the
  // peer as stdin/stdout/stderr; its output comes back on the master).
  if (o.tty && o.native) {
    // The init makes the pty in the container's devpts and sends us the master.
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, io.cons) != 0)
      syncError(o, sysError("create console socket"));
  } else if (o.tty) {
    // runc backend: a pty of the host's devpts as runc's (and so the container's) stdio.
    io.ctl = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (io.ctl < 0 || ::unlockpt(io.ctl) != 0) syncError(o, sysError("open pty"));
    io.slave = ::ioctl(io.ctl, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (io.slave < 0) syncError(o, sysError("open pty peer"));
  } else if (o.stdin_open) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) syncError(o, sysError("create stdin pipe"));
    io.in_r = p[0];
    io.ctl = p[1];
  }
  return io;
}

pid_t startContainer(const Options& o, Stdio& io) {
  pid_t init_pid = o.native ? startNative(o, io) : startRunc(o, io);
  ::close(io.out[1]);
  ::close(io.err[1]);
  ::close(io.devnull);
  if (io.in_r >= 0) ::close(io.in_r);
  if (io.slave >= 0) ::close(io.slave);
  return init_pid;
}

}  // namespace skiff::shim
