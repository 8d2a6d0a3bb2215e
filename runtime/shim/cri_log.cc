// The CRI log writer: containerd's line format and the kubelet's rotation naming.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "shim.h"

namespace skiff::shim {

void CriLog::write(const char* stream, std::string& buf, const char* data, std::size_t n,
                   bool eof) {
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
  // Output that ends without a newline stays a partial record, as containerd writes it: readers
  // (kubectl logs, a FallbackToLogsOnError termination message) show it without a '\n'.
  if (eof && !buf.empty()) {
    line(stream, 'P', buf.data(), buf.size());
    buf.clear();
  }
}

void CriLog::open() {
  fd_ = ::open(o_.log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  struct stat st {};
  size_ = (fd_ >= 0 && ::fstat(fd_, &st) == 0) ? static_cast<unsigned long long>(st.st_size) : 0;
}

void CriLog::line(const char* stream, char tag, const char* p, std::size_t n) {
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

void CriLog::rotate(const struct tm& tm) {
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

}  // namespace skiff::shim
