#include "process_util.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>

#include "skiff/common/file.h"
#include "skiff/common/spawn.h"

namespace skiff::runtime {
namespace {

constexpr std::size_t kMaxCapture = 16u << 20;

}  // namespace

Result<void> mkdirs(const std::string& path, unsigned mode) {
  std::size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    std::string cur = path.substr(0, pos);
    if (cur.empty()) continue;
    if (::mkdir(cur.c_str(), mode) != 0 && errno != EEXIST)
      return Error::fromErrno(errno, "create directory '" + cur + "'");
  }
  return ok();
}

std::int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string randomId() {
  unsigned char b[32];
  std::size_t got = 0;
  while (got < sizeof b) {
    ssize_t n = ::getrandom(b + got, sizeof b - got, 0);
    if (n > 0) got += static_cast<std::size_t>(n);
  }
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (unsigned char c : b) {
    s += hex[c >> 4];
    s += hex[c & 15];
  }
  return s;
}

std::uint64_t processStartTime(int pid) {
  if (pid <= 0) return 0;
  auto t = readFile("/proc/" + std::to_string(pid) + "/stat", 4096);
  if (!t) return 0;
  // comm may contain spaces and ')': fields resume after the last ')'.
  auto p = t->rfind(')');
  if (p == std::string::npos) return 0;
  const char* s = t->c_str() + p + 2;
  // Field 3 (state) is first here; starttime is field 22 -> skip 19 more fields.
  int field = 3;
  while (*s && field < 22) {
    if (*s == ' ') ++field;
    ++s;
  }
  if (t->c_str()[p + 2] == 'Z') return 0;  // a zombie has exited
  return std::strtoull(s, nullptr, 10);
}

bool processAlive(int pid, std::uint64_t start_time) {
  std::uint64_t st = processStartTime(pid);
  return st != 0 && (start_time == 0 || st == start_time);
}

Result<std::string> readUntilEof(int fd, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string out;
  char buf[4096];
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Error(ErrorCode::Timeout, "timed out waiting for the shim");
    struct pollfd p {
      fd, POLLIN, 0
    };
    int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Error::fromErrno(errno, "poll");
    if (r == 0) continue;
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return out;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > kMaxCapture) return Error(ErrorCode::TooLarge, "shim message too large");
  }
}

Result<void> spawnDetached(const std::vector<std::string>& argv, int pass_fd) {
  SpawnOptions o{.new_session = true};
  if (pass_fd >= 0) o.extra_fds.push_back(pass_fd);
  SKIFF_ASSIGN_OR_RETURN(pid_t pid, spawnProcess(argv, o));
  int code = waitForExit(pid);
  if (code != 0)
    return Error(ErrorCode::Internal,
                 "spawn '" + argv[0] + "': exited with status " + std::to_string(code));
  return ok();
}

Result<int> runInVforkChild(const std::function<int()>& fn) {
  constexpr std::size_t kStackSize = 64 << 10;
  auto stack = std::make_unique<char[]>(kStackSize);
  // The stack grows down from its 16-byte aligned top (the end rounded down to 16 bytes, by
  // pointer arithmetic rather than an integer-to-pointer cast).
  char* end = stack.get() + kStackSize;
  char* top = end - (reinterpret_cast<std::uintptr_t>(end) & std::uintptr_t{15});
  sigset_t all, old;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  auto trampoline = [](void* f) { return (*static_cast<const std::function<int()>*>(f))(); };
  pid_t pid = ::clone(trampoline, top, CLONE_VM | CLONE_VFORK | SIGCHLD,
                      const_cast<std::function<int()>*>(&fn));
  int clone_errno = errno;
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (pid < 0) return Error::fromErrno(clone_errno, "clone");
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

Result<void> writeFileNew(const std::string& path, std::string_view data, unsigned mode) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (!fd) return Error::fromErrno(errno, "create '" + path + "'");
  return writeAll(fd.get(), data, path);
}

}  // namespace skiff::runtime
