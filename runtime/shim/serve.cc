// The shim's loop once the container runs: container output into the CRI log and to attach
// clients, attach connections and their stdin commands, the init's late start error (native),
// and SIGCHLD to see the init exit. It ends when the init has exited and its output is drained.
#include <poll.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "shim.h"

namespace skiff::shim {
namespace {

class Loop {
 public:
  Loop(const Options& o, Stdio& io, int listen_fd, int sigchld_fd, pid_t init_pid,
       std::vector<Client>& clients)
      : o_(o),
        io_(io),
        listen_fd_(listen_fd),
        sfd_(sigchld_fd),
        init_pid_(init_pid),
        clients_(clients),
        log_(o),
        errp_open_(o.native),
        tty_open_(o.tty) {}

  ExitInfo run() {
    while (!(exit_.exited && !out_open_ && !err_open_ && !tty_open_)) {
      if (!pollOnce()) break;
    }
    if (!exit_.exited) {
      while (::waitpid(init_pid_, &exit_.info.status, 0) < 0 && errno == EINTR) {
      }
      exit_.info.exited_at = nowNs();
    }
    return exit_.info;
  }

 private:
  // Indexes into fds_ of this round's descriptors; -1 when not polled.
  struct Slots {
    int out = -1, err = -1, sig = -1, errp = -1, tty = -1, listen = -1, clients = -1;
  };

  int add(int fd) {
    fds_.push_back({fd, POLLIN, 0});
    return static_cast<int>(fds_.size()) - 1;
  }

  bool ready(int idx, short events = POLLIN | POLLHUP | POLLERR) const {
    return idx >= 0 && (fds_[static_cast<std::size_t>(idx)].revents & events);
  }

  // One poll round; false when the drain after the exit timed out.
  bool pollOnce() {
    fds_.clear();
    Slots s;
    if (out_open_) s.out = add(io_.out[0]);
    if (err_open_) s.err = add(io_.err[0]);
    if (!exit_.exited) s.sig = add(sfd_);
    if (errp_open_) s.errp = add(io_.errp[0]);
    if (tty_open_) s.tty = add(io_.ctl);
    if (!exit_.exited) s.listen = add(listen_fd_);
    s.clients = static_cast<int>(fds_.size());
    for (const auto& c : clients_) add(c.sock);
    // After the init exits, the pid namespace is gone and the pipes close; bound the drain anyway.
    int r = ::poll(fds_.data(), static_cast<nfds_t>(fds_.size()), exit_.exited ? 2000 : -1);
    if (r < 0 && errno == EINTR) return true;
    if (r == 0) return false;
    pump(s.out, io_.out[0], "stdout", obuf_, out_open_);
    pump(s.err, io_.err[0], "stderr", ebuf_, err_open_);
    // With a TTY the output comes from the pty master (logged as stdout, as containerd does).
    pump(s.tty, io_.ctl, "stdout", obuf_, tty_open_);
    if (ready(s.listen, POLLIN)) (void)acceptClient(listen_fd_, o_, io_.ctl, clients_);
    clientCommands(static_cast<std::size_t>(s.clients));
    if (ready(s.errp)) readStartError();
    if (ready(s.sig, POLLIN)) reap();
    return true;
  }

  void pump(int idx, int fd, const char* stream, std::string& pending, bool& open) {
    if (!ready(idx)) return;
    ssize_t k = ::read(fd, buf_, sizeof buf_);
    if (k < 0 && errno == EINTR) return;
    if (k <= 0) {  // EOF, or EIO from a pty master once the container side is closed
      open = false;
      log_.write(stream, pending, nullptr, 0, true);
      return;
    }
    log_.write(stream, pending, buf_, static_cast<std::size_t>(k), false);
    bool is_err = stream[3] == 'e';  // "stderr"
    for (auto& c : clients_) {
      int& to = is_err ? c.err : c.out;
      if (to >= 0 && ::write(to, buf_, static_cast<std::size_t>(k)) < 0 && errno == EPIPE) {
        ::close(to);
        to = -1;
      }
    }
  }

  void closeStdin() {
    if (!o_.tty && io_.ctl >= 0) {
      ::close(io_.ctl);
      io_.ctl = -1;
    }
  }

  // 'n': this client never writes stdin; 'c': it closed stdin; EOF: it detached.
  void clientCommands(std::size_t first) {
    // A client accepted in this round has no pollfd yet.
    for (std::size_t k = 0; k < clients_.size() && first + k < fds_.size(); ++k) {
      auto& c = clients_[k];
      if (!ready(static_cast<int>(first + k))) continue;
      char cmd[64];
      ssize_t got = ::read(c.sock, cmd, sizeof cmd);
      if (got < 0 && errno == EINTR) continue;
      bool gone = got <= 0;
      auto n = static_cast<std::size_t>(std::max<ssize_t>(got, 0));
      if (!gone && std::memchr(cmd, 'n', n)) c.has_stdin = false;
      bool close_stdin = gone ? c.has_stdin : std::memchr(cmd, 'c', n) != nullptr;
      if (close_stdin && c.has_stdin && o_.stdin_once) closeStdin();
      if (close_stdin) c.has_stdin = false;
      if (gone) closeClient(c);
    }
    clients_.erase(std::remove_if(clients_.begin(), clients_.end(),
                                  [](const Client& c) { return c.sock < 0; }),
                   clients_.end());
  }

  void readStartError() {
    ssize_t k = ::read(io_.errp[0], buf_, sizeof buf_);
    if (k <= 0)
      errp_open_ = false;
    else
      exit_.info.start_error.append(buf_, static_cast<std::size_t>(k));
  }

  void reap() {
    struct signalfd_siginfo si;
    while (::read(sfd_, &si, sizeof si) > 0) {
    }
    while (true) {
      int st = 0;
      pid_t p = ::waitpid(-1, &st, WNOHANG);
      if (p <= 0) break;
      if (p == init_pid_) {
        exit_.info.status = st;
        exit_.exited = true;
        exit_.info.exited_at = nowNs();
      }
    }
  }

  const Options& o_;
  Stdio& io_;
  int listen_fd_, sfd_;
  pid_t init_pid_;
  std::vector<Client>& clients_;
  CriLog log_;
  std::vector<struct pollfd> fds_;
  std::string obuf_, ebuf_;
  bool out_open_ = true, err_open_ = true, errp_open_, tty_open_;
  struct {
    bool exited = false;
    ExitInfo info;
  } exit_;
  char buf_[32 * 1024];
};

}  // namespace

ExitInfo serve(const Options& o, Stdio& io, int listen_fd, int sigchld_fd, pid_t init_pid,
               std::vector<Client>& clients) {
  return Loop(o, io, listen_fd, sigchld_fd, init_pid, clients).run();
}

}  // namespace skiff::shim
