// Small I/O helpers of the shim: no allocation-heavy library, nothing that can throw.
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "shim.h"

namespace skiff::shim {

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

}  // namespace skiff::shim
