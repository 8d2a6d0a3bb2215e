#include "skiff/common/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "skiff/common/unique_fd.h"

namespace skiff {

Result<std::string> readFile(const std::string& path, std::size_t max_bytes) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Error::fromErrno(errno, "read '" + path + "'");
  std::string out;
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::fromErrno(errno, "read '" + path + "'");
    }
    if (n == 0) break;
    if (out.size() + static_cast<std::size_t>(n) > max_bytes) {
      return Error(ErrorCode::TooLarge,
                   "read '" + path + "': larger than " + std::to_string(max_bytes) + " bytes");
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

Result<void> writeAll(int fd, std::string_view data, const std::string& what) {
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::fromErrno(errno, "write '" + what + "'");
    }
    off += static_cast<std::size_t>(n);
  }
  return {};
}

namespace {
// Writes `data` to `tmp`, optionally fsyncs it, sets `mode` (whatever the umask) and renames it
// over `path`; on any failure the temporary is removed.
Result<void> replaceViaTemp(const std::string& path, const std::string& tmp, std::string_view data,
                            unsigned mode, bool sync) {
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd) return Error::fromErrno(errno, "create '" + tmp + "'");
  if (auto written = writeAll(fd.get(), data, tmp); !written) {
    ::unlink(tmp.c_str());
    return written;
  }
  if ((sync && ::fsync(fd.get()) != 0) || ::fchmod(fd.get(), mode) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return Error::fromErrno(e, "sync '" + tmp + "'");
  }
  fd.reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return Error::fromErrno(e, "rename '" + tmp + "' to '" + path + "'");
  }
  return {};
}

// The temporary is named for the writing thread: two threads replacing the same path each
// rename a whole file of their own (the last one wins) instead of one renaming the other's.
std::string tempNameFor(const std::string& path) {
  return path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(::gettid());
}
}  // namespace

Result<void> writeFileAtomic(const std::string& path, std::string_view data, unsigned mode) {
  return replaceViaTemp(path, tempNameFor(path), data, mode, true);
}

Result<void> writeFileReplace(const std::string& path, std::string_view data, unsigned mode) {
  return replaceViaTemp(path, tempNameFor(path), data, mode, false);
}

Result<void> makePipe(UniqueFd& read_end, UniqueFd& write_end, const std::string& what) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return Error::fromErrno(errno, what);
  read_end.reset(p[0]);
  write_end.reset(p[1]);
  return ok();
}

std::string joinRoot(std::string_view root, std::string_view abs_path) {
  std::string out(root);
  while (!out.empty() && out.back() == '/') out.pop_back();
  if (abs_path.empty() || abs_path.front() != '/') out += '/';
  out += abs_path;
  return out;
}

}  // namespace skiff
