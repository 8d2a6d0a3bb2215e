// skiff-shim: the per-container parent (containerd-shim's job, kept tiny: statically linked, no
// logging or JSON library, a few hundred KiB RSS). It
//   - starts the container (native: clone into new PID + mount namespaces and exec skiff-init;
//     runc: exec `runc create` and adopt the container init as a subreaper),
//   - reports "ok <init pid> <shim pid>" or "error <message>" on the sync fd, then detaches,
//   - pumps the container's stdout/stderr into a CRI log file with size-based rotation,
//   - records the exit status (and OOM kill) in <dir>/exit when the init exits,
//   - keeps the container's stdin (a pipe with --stdin, a pty with --tty) and serves attach
//     connections on <dir>/attach.sock (see "Attach protocol" below),
// so containers keep running and their exit is never lost when the runtime process dies.
//
// usage: skiff-shim --dir D --log L --log-max-size N --log-max-files N --sync-fd F
//                   [--oom-file P] [--stdin] [--stdin-once] [--tty]
//                   (--native <skiff-init> <spec.json> | --runc <runc> <root> <bundle> <id>)
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "shim.h"

using namespace skiff::shim;

namespace {

// Daemonizes: the runtime reaps our first process; the second is reparented away from the
// runtime, so the container outlives it. SIGCHLD comes through the returned signalfd.
int detach(const Options& o) {
  pid_t first = ::fork();
  if (first < 0) syncError(o, "fork: " + std::string(std::strerror(errno)));
  if (first > 0) ::_exit(0);
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  ::prctl(PR_SET_PDEATHSIG, 0);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &mask, nullptr);
  return ::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
}

// <dir>/exit: <exit code> <finished ns> <oom kills> <signal> [start error message], then
// "exit <code>" to every client still attached.
void recordExit(const Options& o, ExitInfo& e, std::vector<Client>& clients) {
  int code = WIFEXITED(e.status) ? WEXITSTATUS(e.status) : 128 + WTERMSIG(e.status);
  int sig = WIFSIGNALED(e.status) ? WTERMSIG(e.status) : 0;
  long ooms = oomKills(o.oom_file);
  std::string& err = e.start_error;
  while (!err.empty() && err.back() == '\n') err.pop_back();
  std::replace(err.begin(), err.end(), '\n', ' ');
  std::string rec = std::to_string(code) + " " + std::to_string(e.exited_at) + " " +
                    std::to_string(ooms) + " " + std::to_string(sig) +
                    (err.empty() ? "" : " " + err) + "\n";
  writeRecord(o.dir + "/exit", rec);
  std::string bye = "exit " + std::to_string(code) + "\n";
  for (auto& c : clients) {
    if (c.out >= 0) ::close(c.out);
    if (c.err >= 0) ::close(c.err);
    c.out = c.err = -1;
    (void)::send(c.sock, bye.data(), bye.size(), MSG_NOSIGNAL);
    closeClient(c);
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!parseArgs(argc, argv, o)) {
    std::fputs(
        "usage: skiff-shim --dir D --log L --sync-fd F [--oom-file P] [--log-max-size N]\n"
        "                  [--log-max-files N] [--stdin] [--stdin-once] [--tty]\n"
        "                  (--native <skiff-init> <spec.json> | --runc <runc> <root> <bundle> "
        "<id>)\n",
        stderr);
    return 2;
  }
  for (int sig : {SIGHUP, SIGINT, SIGTERM, SIGPIPE, SIGQUIT}) ::signal(sig, SIG_IGN);
  // Nothing of the runtime process but the sync fd may leak into the container.
  ::close_range(static_cast<unsigned>(std::max(3, o.sync_fd) + 1), ~0U, 0);
  int sfd = detach(o);
  Stdio io = makeStdio(o);
  int listen_fd = listenAttach(o.dir);
  if (listen_fd < 0) syncError(o, "listen on attach socket: " + std::string(std::strerror(errno)));
  pid_t init_pid = startContainer(o, io);
  std::string ok = "ok " + std::to_string(init_pid) + " " + std::to_string(::getpid()) + "\n";
  writeAll(o.sync_fd, ok.data(), ok.size());
  ::close(o.sync_fd);

  std::vector<Client> clients;
  ExitInfo e = serve(o, io, listen_fd, sfd, init_pid, clients);
  recordExit(o, e, clients);
  return 0;
}
