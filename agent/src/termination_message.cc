#include "skiff/agent/termination_message.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>

#include "skiff/agent/cri_log.h"
#include "skiff/common/file.h"

namespace skiff::agent {

namespace fs = std::filesystem;

namespace {

// How much of the end of a container log the fallback reads: 80 lines of containerd's longest
// record (16 KiB) and their headers.
constexpr std::size_t kLogTailWindow = 80 * (16 * 1024 + 64);

// Go's text of an errno ("no such file or directory"): kubelet's messages carry it.
std::string errnoText(int e) {
  std::string s = std::strerror(e);
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

std::string randomHex8() {
  static thread_local std::mt19937 gen{std::random_device{}()};
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", static_cast<unsigned>(gen()));
  return buf;
}

// kubelet's readLastStringFromContainerLogs: ReadLogs with tailLines 80 into a 2 KiB circular
// buffer, so the last 2048 bytes of the last 80 lines.
std::string lastStringFromLog(const std::string& path) {
  auto tail = readTail(path, kLogTailWindow);
  if (!tail) {
    return "Error on reading termination message from logs: failed to open log file \"" + path +
           "\": " + tail.error().message();
  }
  std::string_view text = *tail;
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  if (!ec && size > text.size()) {
    // The window starts inside a record: drop that cut one.
    auto nl = text.find('\n');
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
  }
  LogOptions opts;
  opts.tail_lines = kMaxTerminationMessageLogLines;
  std::string out = renderCriLog(text, opts);
  if (out.size() > kMaxTerminationMessageLogLength) {
    out.erase(0, out.size() - kMaxTerminationMessageLogLength);
  }
  return out;
}

std::string annotation(const ContainerInfo& c, const char* key) {
  auto it = c.annotations.find(key);
  return it == c.annotations.end() ? "" : it->second;
}

}  // namespace

std::string absoluteContainerPath(const std::string& path) {
  std::string p = fs::path("/" + path).lexically_normal().string();
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

Result<std::string> createTerminationMessageFile(const std::string& container_dir) {
  std::error_code ec;
  fs::create_directories(container_dir, ec);
  if (ec) {
    return Error(ErrorCode::Internal, "create '" + container_dir + "': " + ec.message());
  }
  ::chmod(container_dir.c_str(), 0750);
  for (int tries = 0; tries < 8; ++tries) {
    std::string path = container_dir + "/" + randomHex8();
    int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0666);
    if (fd < 0 && errno == EEXIST) continue;
    if (fd < 0) {
      int e = errno;
      return Error(ErrorCode::Internal, e,
                   "error on creating termination-log file '" + path + "': " + errnoText(e));
    }
    // open() applied the umask; the container's user may not be ours.
    int rc = ::fchmod(fd, 0666);
    int saved = errno;
    ::close(fd);
    if (rc != 0) {
      ::unlink(path.c_str());
      return Error(
          ErrorCode::Internal, saved,
          "unable to set termination-log file permissions '" + path + "': " + errnoText(saved));
    }
    return path;
  }
  return Error(ErrorCode::AlreadyExists,
               "error on creating termination-log file in '" + container_dir + "': name taken");
}

Result<std::string> readTail(const std::string& path, std::size_t max) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    return Error(e == ENOENT ? ErrorCode::NotFound : ErrorCode::Internal, e,
                 "open " + path + ": " + errnoText(e));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    return Error(ErrorCode::Internal, e, "stat " + path + ": " + errnoText(e));
  }
  auto size = static_cast<std::size_t>(st.st_size);
  std::size_t want = size < max ? size : max;
  std::string out(want, '\0');
  std::size_t got = 0;
  while (got < want) {
    ssize_t n = ::pread(fd, out.data() + got, want - got, static_cast<off_t>(size - want + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      return Error(ErrorCode::Internal, e, "read " + path + ": " + errnoText(e));
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  out.resize(got);
  return out;
}

std::string readTerminationMessage(const ContainerInfo& c) {
  std::string path = annotation(c, kAnnotationTerminationMessagePath);
  bool fallback = annotation(c, kAnnotationTerminationMessagePolicy) == "FallbackToLogsOnError" &&
                  c.exit_code != 0 && c.reason != "StartError" && c.reason != "ContainerCannotRun";
  std::string file = annotation(c, kAnnotationTerminationMessageFile);
  std::string message;
  bool check_logs = fallback;
  if (!path.empty() && !file.empty()) {
    auto data = readTail(file, kMaxTerminationMessageLength);
    if (data) {
      message = std::move(*data);
      check_logs = fallback && message.empty();
    } else if (!data.error().is(ErrorCode::NotFound)) {
      return "Error on reading termination log " + file + ": " + data.error().message();
    }
  }
  if (check_logs && !c.log_path.empty()) message = lastStringFromLog(c.log_path);
  return message;
}

void addTerminationMessage(ContainerInfo& c) {
  if (c.state != ContainerState::Exited) return;
  std::string m = readTerminationMessage(c);
  if (m.empty()) return;
  if (!c.message.empty()) c.message += ": ";
  c.message += m;
}

std::size_t terminationMessageBudget(std::size_t containers) {
  return containers == 0 ? kMaxPodTerminationMessageLength
                         : kMaxPodTerminationMessageLength / containers;
}

namespace {

// Length of the valid UTF-8 sequence at s[i] (Go's utf8.DecodeRuneInString rules: no overlong
// forms, no surrogates, nothing above U+10FFFF); 0 if invalid.
std::size_t utf8Sequence(std::string_view s, std::size_t i) {
  auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  unsigned char c = b(0);
  if (c < 0x80) return 1;
  std::size_t n = c >= 0xC2 && c <= 0xDF   ? 2
                  : c >= 0xE0 && c <= 0xEF ? 3
                  : c >= 0xF0 && c <= 0xF4 ? 4
                                           : 0;
  if (n == 0 || i + n > s.size()) return 0;
  unsigned char lo = 0x80, hi = 0xBF;  // the second byte's range
  if (c == 0xE0) lo = 0xA0;
  if (c == 0xED) hi = 0x9F;
  if (c == 0xF0) lo = 0x90;
  if (c == 0xF4) hi = 0x8F;
  if (b(1) < lo || b(1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k) {
    if (b(k) < 0x80 || b(k) > 0xBF) return 0;
  }
  return n;
}

}  // namespace

std::string statusMessage(std::string message, std::size_t budget) {
  if (message.size() > budget) message.resize(budget);
  std::string out;
  out.reserve(message.size());
  for (std::size_t i = 0; i < message.size();) {
    std::size_t n = utf8Sequence(message, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    out.append(message, i, n);
    i += n;
  }
  return out;
}

}  // namespace skiff::agent
