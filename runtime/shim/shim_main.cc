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
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "fd_passing.h"

using skiff::runtime::kMaxPassedFds;
using skiff::runtime::recvFds;
using skiff::runtime::sendFds;

namespace {

struct Options {
  std::string dir, log, oom_file;
  unsigned long long log_max_size = 10ull << 20;
  int log_max_files = 5;
  int sync_fd = -1;
  bool native = true;
  bool stdin_open = false, stdin_once = false, tty = false;
  std::string init_path, spec;
  std::string runc, runc_root, bundle, id;
};

std::int64_t nowNs() {
  struct timespec ts {};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

bool writeAll(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

// The exit record is written once into a new file; readers parse it only when complete (four
// fields), so no temp file and rename are needed.
void writeRecord(const std::string& path, const std::string& data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return;
  writeAll(fd, data.data(), data.size());
  ::close(fd);
}

// CRI log writer: "<RFC3339Nano> <stream> <F|P> <text>\n", rotated at max size into
// <log>.<YYYYMMDD-HHMMSS> (kubelet's naming), keeping max_files files in total.
class CriLog {
 public:
  explicit CriLog(const Options& o) : o_(o) { open(); }

  void write(const char* stream, std::string& buf, const char* data, std::size_t n, bool eof) {
    buf.append(data, n);
    std::size_t pos = 0;
    while (true) {
      std::size_t nl = buf.find('\n', pos);
      if (nl == std::string::npos) break;
      line(stream, 'F', buf.data() + pos, nl - pos);
      pos = nl + 1;
    }
    buf.erase(0, pos);
    // containerd splits lines longer than its buffer into partial (P) records.
    while (buf.size() >= kMaxLine) {
      line(stream, 'P', buf.data(), kMaxLine);
      buf.erase(0, kMaxLine);
    }
    if (eof && !buf.empty()) {
      line(stream, 'F', buf.data(), buf.size());
      buf.clear();
    }
  }

 private:
  static constexpr std::size_t kMaxLine = 16 * 1024;

  void open() {
    fd_ = ::open(o_.log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    struct stat st {};
    size_ = (fd_ >= 0 && ::fstat(fd_, &st) == 0) ? static_cast<unsigned long long>(st.st_size) : 0;
  }

  void line(const char* stream, char tag, const char* p, std::size_t n) {
    if (fd_ < 0) return;
    struct timespec ts {};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm {};
    ::gmtime_r(&ts.tv_sec, &tm);
    char head[96];
    int h = std::snprintf(head, sizeof head, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ %s %c ",
                          tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                          tm.tm_sec, ts.tv_nsec, stream, tag);
    std::string rec(head, static_cast<std::size_t>(h));
    rec.append(p, n);
    rec += '\n';
    writeAll(fd_, rec.data(), rec.size());
    size_ += rec.size();
    if (size_ >= o_.log_max_size) rotate(tm);
  }

  void rotate(const struct tm& tm) {
    ::close(fd_);
    char suffix[64];
    std::snprintf(suffix, sizeof suffix, ".%04d%02d%02d-%02d%02d%02d", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    std::string target = o_.log + suffix;
    for (int i = 1; ::access(target.c_str(), F_OK) == 0; ++i)
      target = o_.log + suffix + "-" + std::to_string(i);
    ::rename(o_.log.c_str(), target.c_str());
    // Keep the newest max_files-1 rotated files next to the live one.
    std::string dir = o_.log.substr(0, o_.log.rfind('/'));
    std::string base = o_.log.substr(o_.log.rfind('/') + 1) + ".";
    std::vector<std::string> rotated;
    if (DIR* d = ::opendir(dir.c_str())) {
      while (struct dirent* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n.rfind(base, 0) == 0 && n.find(".tmp") == std::string::npos) rotated.push_back(n);
      }
      ::closedir(d);
    }
    std::sort(rotated.begin(), rotated.end());
    int keep = std::max(0, o_.log_max_files - 1);
    for (std::size_t i = 0; i + static_cast<std::size_t>(keep) < rotated.size(); ++i)
      ::unlink((dir + "/" + rotated[i]).c_str());
    open();
  }

  const Options& o_;
  int fd_ = -1;
  unsigned long long size_ = 0;
};

[[noreturn]] void syncError(const Options& o, const std::string& msg) {
  std::string m = "error " + msg + "\n";
  if (o.sync_fd >= 0) writeAll(o.sync_fd, m.data(), m.size());
  ::_exit(1);
}

std::string readSmall(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  char buf[8192];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
}

// "oom_kill N" from memory.oom_control (v1) or memory.events (v2).
long oomKills(const std::string& path) {
  if (path.empty()) return 0;
  std::string s = readSmall(path);
  std::size_t p = s.find("oom_kill ");
  if (p == std::string::npos) return 0;
  return std::strtol(s.c_str() + p + 9, nullptr, 10);
}

bool parseArgs(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&](std::string& v) {
      if (i + 1 >= argc) return false;
      v = argv[++i];
      return true;
    };
    std::string v;
    if (a == "--dir") {
      if (!next(o.dir)) return false;
    } else if (a == "--log") {
      if (!next(o.log)) return false;
    } else if (a == "--oom-file") {
      if (!next(o.oom_file)) return false;
    } else if (a == "--stdin")
      o.stdin_open = true;
    else if (a == "--stdin-once")
      o.stdin_once = true;
    else if (a == "--tty")
      o.tty = true;
    else if (a == "--log-max-size") {
      if (!next(v)) return false;
      o.log_max_size = std::strtoull(v.c_str(), nullptr, 10);
    } else if (a == "--log-max-files") {
      if (!next(v)) return false;
      o.log_max_files = std::atoi(v.c_str());
    } else if (a == "--sync-fd") {
      if (!next(v)) return false;
      o.sync_fd = std::atoi(v.c_str());
    } else if (a == "--native") {
      o.native = true;
      if (!next(o.init_path) || !next(o.spec)) return false;
    } else if (a == "--runc") {
      o.native = false;
      if (!next(o.runc) || !next(o.runc_root) || !next(o.bundle) || !next(o.id)) return false;
    } else
      return false;
  }
  return !o.dir.empty() && !o.log.empty() && o.sync_fd >= 0 &&
         (o.native ? !o.spec.empty() : !o.id.empty());
}

// Attach protocol (<dir>/attach.sock, stream socket, root only: the socket is 0600 in a 0711
// dir). On connect the shim sends one line "ok <tty 0|1> <stdin 0|1>\n" with SCM_RIGHTS fds:
//   [stdout read end] [stderr read end, without tty] [control fd, with tty or stdin]
// The output pipes get a copy of everything the container writes from now on (the CRI log
// still gets all of it); a reader too slow to keep its pipe from filling loses data rather
// than stalling the container. The control fd is the pty master (write input, TIOCSWINSZ) with
// a TTY, or the stdin pipe's write end. The client sends 'c' to close stdin; with --stdin-once
// that (or the disconnect of a client that had stdin) closes the container's stdin for good;
// 'n' says the client never writes stdin. A client that shuts down its side is dropped (detach).
// When the container has exited the shim sends "exit <code>\n" and closes the connection.
struct Client {
  int sock = -1, out = -1, err = -1;
  bool has_stdin = false;
};

int listenAttach(const std::string& dir) {
  int dfd = ::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return -1;
  // Through the dir fd: <state dir>/containers/<64 hex>/attach.sock is longer than sun_path.
  std::string path = "/proc/self/fd/" + std::to_string(dfd) + "/attach.sock";
  struct sockaddr_un a {};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  mode_t old = ::umask(0077);
  bool ok = fd >= 0 && ::bind(fd, reinterpret_cast<struct sockaddr*>(&a), sizeof a) == 0 &&
            ::listen(fd, 8) == 0;
  ::umask(old);
  ::close(dfd);
  if (!ok) {
    if (fd >= 0) ::close(fd);
    return -1;
  }
  return fd;
}

void closeClient(Client& c) {
  for (int* f : {&c.sock, &c.out, &c.err})
    if (*f >= 0) {
      ::close(*f);
      *f = -1;
    }
}

// Sets up a new attach client: its output pipes, and the greeting with the fds.
bool acceptClient(int lfd, const Options& o, int ctl, std::vector<Client>& clients) {
  int s = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
  if (s < 0) return false;
  Client c;
  c.sock = s;
  int po[2] = {-1, -1}, pe[2] = {-1, -1};
  if (::pipe2(po, O_CLOEXEC) != 0 || (!o.tty && ::pipe2(pe, O_CLOEXEC) != 0)) {
    ::close(s);
    for (int f : {po[0], po[1], pe[0], pe[1]})
      if (f >= 0) ::close(f);
    return false;
  }
  std::vector<int> send = {po[0]};
  if (!o.tty) send.push_back(pe[0]);
  if (ctl >= 0) send.push_back(ctl);
  c.has_stdin = ctl >= 0 && (o.tty ? o.stdin_open : true);
  std::string hello =
      std::string("ok ") + (o.tty ? "1" : "0") + " " + (c.has_stdin ? "1" : "0") + "\n";
  bool sent = sendFds(s, hello.data(), hello.size(), send.data(), send.size()) ==
              static_cast<ssize_t>(hello.size());
  ::close(po[0]);
  if (pe[0] >= 0) ::close(pe[0]);
  c.out = po[1];
  c.err = pe[1];
  for (int f : {c.out, c.err}) {
    if (f < 0) continue;
    ::fcntl(f, F_SETFL, O_NONBLOCK);
    // Room for bursts while the client forwards over the network (best effort: pipe-max-size).
    (void)::fcntl(f, F_SETPIPE_SZ, 1 << 20);
  }
  if (!sent) {
    closeClient(c);
    return false;
  }
  clients.push_back(c);
  return true;
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
  // Daemonize: the runtime reaps our first process; the second is reparented away from the
  // runtime, so the container outlives it.
  pid_t first = ::fork();
  if (first < 0) syncError(o, "fork: " + std::string(std::strerror(errno)));
  if (first > 0) ::_exit(0);
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  ::prctl(PR_SET_PDEATHSIG, 0);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &mask, nullptr);
  int sfd = ::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

  int out[2], err[2], errp[2] = {-1, -1};
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0)
    syncError(o, "create pipes: " + std::string(std::strerror(errno)));
  if (o.native && ::pipe2(errp, O_CLOEXEC) != 0)
    syncError(o, "create pipe: " + std::string(std::strerror(errno)));
  int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  // The container's stdin: a pipe we keep the write end of, or a pty (the container gets the
  // peer as stdin/stdout/stderr; its output comes back on the master).
  int in_r = -1, ctl = -1, slave = -1, cons[2] = {-1, -1};
  if (o.tty && o.native) {
    // The init makes the pty in the container's devpts and sends us the master.
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, cons) != 0)
      syncError(o, "create console socket: " + std::string(std::strerror(errno)));
  } else if (o.tty) {
    // runc backend: a pty of the host's devpts as runc's (and so the container's) stdio.
    ctl = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (ctl < 0 || ::unlockpt(ctl) != 0)
      syncError(o, "open pty: " + std::string(std::strerror(errno)));
    slave = ::ioctl(ctl, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0) syncError(o, "open pty peer: " + std::string(std::strerror(errno)));
  } else if (o.stdin_open) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0)
      syncError(o, "create stdin pipe: " + std::string(std::strerror(errno)));
    in_r = p[0];
    ctl = p[1];
  }
  int listen_fd = listenAttach(o.dir);
  if (listen_fd < 0) syncError(o, "listen on attach socket: " + std::string(std::strerror(errno)));

  auto childStdio = [&] {
    if (slave >= 0) {
      ::dup2(slave, 0);
      ::dup2(slave, 1);
      ::dup2(slave, 2);
    } else {
      ::dup2(in_r >= 0 ? in_r : devnull, 0);
      ::dup2(out[1], 1);
      ::dup2(err[1], 2);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig : {SIGHUP, SIGINT, SIGTERM, SIGPIPE, SIGQUIT}) ::signal(sig, SIG_DFL);
  };

  pid_t init_pid = -1;
  std::string pending_error;
  if (o.native) {
    long pid = ::syscall(SYS_clone, CLONE_NEWPID | CLONE_NEWNS | SIGCHLD, nullptr, nullptr, nullptr,
                         nullptr);
    if (pid < 0) syncError(o, "clone: " + std::string(std::strerror(errno)));
    if (pid == 0) {
      childStdio();
      ::dup2(errp[1], 3);
      if (cons[1] >= 0) ::dup2(cons[1], 4);
      const char* args[] = {o.init_path.c_str(),          "run",  o.spec.c_str(), "3",
                            cons[1] >= 0 ? "4" : nullptr, nullptr};
      ::execv(args[0], const_cast<char* const*>(args));
      std::string m = "exec '" + o.init_path + "': " + std::strerror(errno) + "\n";
      writeAll(3, m.data(), m.size());
      ::_exit(127);
    }
    init_pid = static_cast<pid_t>(pid);
    ::close(errp[1]);
    // Wait for "ready" (setup done, blocked on the start fifo) or an error line.
    std::string msg;
    char buf[4096];
    while (msg.find('\n') == std::string::npos) {
      ssize_t n = ::read(errp[0], buf, sizeof buf);
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
    if (cons[0] >= 0) {
      // The init sent the pty master before "ready".
      ::close(cons[1]);
      char byte;
      int got[kMaxPassedFds];
      std::size_t n = 0;
      bool truncated = false;
      if (recvFds(cons[0], &byte, 1, MSG_DONTWAIT, got, &n, &truncated) != 1 || n != 1) {
        for (std::size_t i = 0; i < n; ++i) ::close(got[i]);
        ::kill(init_pid, SIGKILL);
        syncError(o, "the container init sent no pty");
      }
      ctl = got[0];
      ::close(cons[0]);
    }
  } else {
    std::string pidfile = o.dir + "/init.pid";
    std::string runclog = o.dir + "/runc.log";
    pid_t pid = ::fork();
    if (pid < 0) syncError(o, "fork: " + std::string(std::strerror(errno)));
    if (pid == 0) {
      childStdio();
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
    init_pid = static_cast<pid_t>(std::atol(readSmall(pidfile).c_str()));
    if (init_pid <= 0) syncError(o, "runc create: no pid file");
  }
  ::close(out[1]);
  ::close(err[1]);
  ::close(devnull);
  if (in_r >= 0) ::close(in_r);
  if (slave >= 0) ::close(slave);
  {
    std::string ok = "ok " + std::to_string(init_pid) + " " + std::to_string(::getpid()) + "\n";
    writeAll(o.sync_fd, ok.data(), ok.size());
    ::close(o.sync_fd);
  }

  CriLog log(o);
  std::string obuf, ebuf;
  bool out_open = true, err_open = true, exited = false, errp_open = o.native;
  // With a TTY the output comes from the pty master (logged as stdout, as containerd does).
  bool tty_open = o.tty;
  std::vector<Client> clients;
  auto closeStdin = [&] {
    if (!o.tty && ctl >= 0) {
      ::close(ctl);
      ctl = -1;
    }
  };
  int status = 0;
  std::int64_t exited_at = 0;
  std::string start_error;
  char buf[32 * 1024];
  while (true) {
    std::vector<struct pollfd> fds;
    int n = 0;
    int io = -1, ie = -1, is = -1, ip = -1, it = -1, il = -1, ic = -1;
    if (out_open) {
      io = n++;
      fds.push_back({out[0], POLLIN, 0});
    }
    if (err_open) {
      ie = n++;
      fds.push_back({err[0], POLLIN, 0});
    }
    if (!exited) {
      is = n++;
      fds.push_back({sfd, POLLIN, 0});
    }
    if (errp_open) {
      ip = n++;
      fds.push_back({errp[0], POLLIN, 0});
    }
    if (tty_open) {
      it = n++;
      fds.push_back({ctl, POLLIN, 0});
    }
    if (!exited) {
      il = n++;
      fds.push_back({listen_fd, POLLIN, 0});
    }
    ic = n;
    for (const auto& c : clients) {
      fds.push_back({c.sock, POLLIN, 0});
      ++n;
    }
    if (exited && !out_open && !err_open && !tty_open) break;
    // After the init exits, the pid namespace is gone and the pipes close; bound the drain anyway.
    int timeout = exited ? 2000 : -1;
    int r = ::poll(fds.data(), static_cast<nfds_t>(n), timeout);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) break;
    auto pump = [&](int idx, int fd, const char* stream, std::string& b, bool& open) {
      if (idx < 0 || !(fds[idx].revents & (POLLIN | POLLHUP | POLLERR))) return;
      ssize_t k = ::read(fd, buf, sizeof buf);
      if (k < 0 && errno == EINTR) return;
      if (k <= 0) {  // EOF, or EIO from a pty master once the container side is closed
        open = false;
        log.write(stream, b, nullptr, 0, true);
        return;
      }
      log.write(stream, b, buf, static_cast<std::size_t>(k), false);
      bool is_err = stream[3] == 'e';  // "stderr"
      for (auto& c : clients) {
        int to = is_err ? c.err : c.out;
        if (to >= 0 && ::write(to, buf, static_cast<std::size_t>(k)) < 0 && errno == EPIPE) {
          ::close(to);
          (is_err ? c.err : c.out) = -1;
        }
      }
    };
    pump(io, out[0], "stdout", obuf, out_open);
    pump(ie, err[0], "stderr", ebuf, err_open);
    pump(it, ctl, "stdout", obuf, tty_open);
    if (il >= 0 && (fds[il].revents & POLLIN)) (void)acceptClient(listen_fd, o, ctl, clients);
    for (std::size_t k = 0;
         ic >= 0 && k + static_cast<std::size_t>(ic) < static_cast<std::size_t>(n); ++k) {
      auto& c = clients[k];
      if (!(fds[static_cast<std::size_t>(ic) + k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char cmd[64];
      ssize_t got = ::read(c.sock, cmd, sizeof cmd);
      if (got < 0 && errno == EINTR) continue;
      bool gone = got <= 0;
      // 'n': this client never writes stdin; 'c': it closed stdin.
      if (!gone && std::memchr(cmd, 'n', static_cast<std::size_t>(got))) c.has_stdin = false;
      bool close_stdin =
          gone ? c.has_stdin : std::memchr(cmd, 'c', static_cast<std::size_t>(got)) != nullptr;
      if (close_stdin && c.has_stdin && o.stdin_once) closeStdin();
      if (close_stdin) c.has_stdin = false;
      if (gone) closeClient(c);
    }
    clients.erase(
        std::remove_if(clients.begin(), clients.end(), [](const Client& c) { return c.sock < 0; }),
        clients.end());
    if (ip >= 0 && (fds[ip].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t k = ::read(errp[0], buf, sizeof buf);
      if (k <= 0)
        errp_open = false;
      else
        start_error.append(buf, static_cast<std::size_t>(k));
    }
    if (is >= 0 && (fds[is].revents & POLLIN)) {
      struct signalfd_siginfo si;
      while (::read(sfd, &si, sizeof si) > 0) {
      }
      while (true) {
        int st = 0;
        pid_t p = ::waitpid(-1, &st, WNOHANG);
        if (p <= 0) break;
        if (p == init_pid) {
          status = st;
          exited = true;
          exited_at = nowNs();
        }
      }
    }
  }
  if (!exited) {
    while (::waitpid(init_pid, &status, 0) < 0 && errno == EINTR) {
    }
    exited_at = nowNs();
  }
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  long ooms = oomKills(o.oom_file);
  while (!start_error.empty() && start_error.back() == '\n') start_error.pop_back();
  for (char& c : start_error)
    if (c == '\n') c = ' ';
  // <exit code> <finished ns> <oom kills> <signal> [start error message]
  std::string rec = std::to_string(code) + " " + std::to_string(exited_at) + " " +
                    std::to_string(ooms) + " " + std::to_string(sig) +
                    (start_error.empty() ? "" : " " + start_error) + "\n";
  writeRecord(o.dir + "/exit", rec);
  std::string bye = "exit " + std::to_string(code) + "\n";
  for (auto& c : clients) {
    if (c.out >= 0) ::close(c.out);
    if (c.err >= 0) ::close(c.err);
    c.out = c.err = -1;
    (void)::send(c.sock, bye.data(), bye.size(), MSG_NOSIGNAL);
    closeClient(c);
  }
  return 0;
}
