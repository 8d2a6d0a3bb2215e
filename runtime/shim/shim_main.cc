// skiff-shim: the per-container parent (containerd-shim's job, kept tiny: statically linked, no
// logging or JSON library, a few hundred KiB RSS). It
//   - starts the container (native: clone into new PID + mount namespaces and exec skiff-init;
//     runc: exec `runc create` and adopt the container init as a subreaper),
//   - reports "ok <init pid> <shim pid>" or "error <message>" on the sync fd, then detaches,
//   - pumps the container's stdout/stderr into a CRI log file with size-based rotation,
//   - records the exit status (and OOM kill) in <dir>/exit when the init exits,
// so containers keep running and their exit is never lost when the runtime process dies.
//
// usage: skiff-shim --dir D --log L --log-max-size N --log-max-files N --sync-fd F
//                   [--oom-file P] (--native <skiff-init> <spec.json> | --runc <runc> <root> <bundle> <id>)
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
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

namespace {

struct Options {
  std::string dir, log, oom_file;
  unsigned long long log_max_size = 10ull << 20;
  int log_max_files = 5;
  int sync_fd = -1;
  bool native = true;
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

void writeFileAtomic(const std::string& path, const std::string& data) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return;
  writeAll(fd, data.data(), data.size());
  ::fsync(fd);
  ::close(fd);
  ::rename(tmp.c_str(), path.c_str());
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
    int h = std::snprintf(head, sizeof head, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ %s %c ", tm.tm_year + 1900,
                          tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec, stream, tag);
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
    std::snprintf(suffix, sizeof suffix, ".%04d%02d%02d-%02d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    std::string target = o_.log + suffix;
    for (int i = 1; ::access(target.c_str(), F_OK) == 0; ++i) target = o_.log + suffix + "-" + std::to_string(i);
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
    if (a == "--dir") { if (!next(o.dir)) return false; }
    else if (a == "--log") { if (!next(o.log)) return false; }
    else if (a == "--oom-file") { if (!next(o.oom_file)) return false; }
    else if (a == "--log-max-size") { if (!next(v)) return false; o.log_max_size = std::strtoull(v.c_str(), nullptr, 10); }
    else if (a == "--log-max-files") { if (!next(v)) return false; o.log_max_files = std::atoi(v.c_str()); }
    else if (a == "--sync-fd") { if (!next(v)) return false; o.sync_fd = std::atoi(v.c_str()); }
    else if (a == "--native") { o.native = true; if (!next(o.init_path) || !next(o.spec)) return false; }
    else if (a == "--runc") {
      o.native = false;
      if (!next(o.runc) || !next(o.runc_root) || !next(o.bundle) || !next(o.id)) return false;
    } else return false;
  }
  return !o.dir.empty() && !o.log.empty() && o.sync_fd >= 0 && (o.native ? !o.spec.empty() : !o.id.empty());
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!parseArgs(argc, argv, o)) {
    std::fputs("usage: skiff-shim --dir D --log L --sync-fd F [--oom-file P] [--log-max-size N] [--log-max-files N]\n"
               "                  (--native <skiff-init> <spec.json> | --runc <runc> <root> <bundle> <id>)\n", stderr);
    return 2;
  }
  for (int sig : {SIGHUP, SIGINT, SIGTERM, SIGPIPE, SIGQUIT}) ::signal(sig, SIG_IGN);
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  ::prctl(PR_SET_PDEATHSIG, 0);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &mask, nullptr);
  int sfd = ::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

  int out[2], err[2], errp[2] = {-1, -1};
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) syncError(o, "create pipes: " + std::string(std::strerror(errno)));
  if (o.native && ::pipe2(errp, O_CLOEXEC) != 0) syncError(o, "create pipe: " + std::string(std::strerror(errno)));
  int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);

  auto childStdio = [&] {
    ::dup2(devnull, 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig : {SIGHUP, SIGINT, SIGTERM, SIGPIPE, SIGQUIT}) ::signal(sig, SIG_DFL);
  };

  pid_t init_pid = -1;
  std::string pending_error;
  if (o.native) {
    long pid = ::syscall(SYS_clone, CLONE_NEWPID | CLONE_NEWNS | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
    if (pid < 0) syncError(o, "clone: " + std::string(std::strerror(errno)));
    if (pid == 0) {
      childStdio();
      ::dup2(errp[1], 3);
      const char* args[] = {o.init_path.c_str(), "run", o.spec.c_str(), "3", nullptr};
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
  } else {
    std::string pidfile = o.dir + "/init.pid";
    std::string runclog = o.dir + "/runc.log";
    pid_t pid = ::fork();
    if (pid < 0) syncError(o, "fork: " + std::string(std::strerror(errno)));
    if (pid == 0) {
      childStdio();
      const char* args[] = {o.runc.c_str(), "--root", o.runc_root.c_str(), "--log", runclog.c_str(),
                            "--log-format", "json", "create", "--bundle", o.bundle.c_str(),
                            "--pid-file", pidfile.c_str(), o.id.c_str(), nullptr};
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
  {
    std::string ok = "ok " + std::to_string(init_pid) + " " + std::to_string(::getpid()) + "\n";
    writeAll(o.sync_fd, ok.data(), ok.size());
    ::close(o.sync_fd);
  }

  CriLog log(o);
  std::string obuf, ebuf;
  bool out_open = true, err_open = true, exited = false, errp_open = o.native;
  int status = 0;
  std::int64_t exited_at = 0;
  std::string start_error;
  char buf[32 * 1024];
  while (true) {
    struct pollfd fds[4];
    int n = 0;
    int io = -1, ie = -1, is = -1, ip = -1;
    if (out_open) { io = n; fds[n++] = {out[0], POLLIN, 0}; }
    if (err_open) { ie = n; fds[n++] = {err[0], POLLIN, 0}; }
    if (!exited) { is = n; fds[n++] = {sfd, POLLIN, 0}; }
    if (errp_open) { ip = n; fds[n++] = {errp[0], POLLIN, 0}; }
    if (exited && !out_open && !err_open) break;
    // After the init exits, the pid namespace is gone and the pipes close; bound the drain anyway.
    int timeout = exited ? 2000 : -1;
    int r = ::poll(fds, static_cast<nfds_t>(n), timeout);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) break;
    auto pump = [&](int idx, int fd, const char* stream, std::string& b, bool& open) {
      if (idx < 0 || !(fds[idx].revents & (POLLIN | POLLHUP | POLLERR))) return;
      ssize_t k = ::read(fd, buf, sizeof buf);
      if (k < 0 && errno == EINTR) return;
      if (k <= 0) {
        open = false;
        log.write(stream, b, nullptr, 0, true);
        return;
      }
      log.write(stream, b, buf, static_cast<std::size_t>(k), false);
    };
    pump(io, out[0], "stdout", obuf, out_open);
    pump(ie, err[0], "stderr", ebuf, err_open);
    if (ip >= 0 && (fds[ip].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t k = ::read(errp[0], buf, sizeof buf);
      if (k <= 0) errp_open = false;
      else start_error.append(buf, static_cast<std::size_t>(k));
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
  std::string rec = std::to_string(code) + " " + std::to_string(exited_at) + " " + std::to_string(ooms) + " " +
                    std::to_string(sig) + (start_error.empty() ? "" : " " + start_error) + "\n";
  writeFileAtomic(o.dir + "/exit", rec);
  return 0;
}
