// The air-gap image directory watcher (see image_import_dir.h).
#include "skiff/agent/image_import_dir.h"

#include <dirent.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "skiff/common/log.h"

namespace skiff::agent {

using skiff::log::kv;

namespace {

bool endsWith(const std::string& s, const char* suffix) {
  std::size_t n = std::strlen(suffix);
  return s.size() > n && s.compare(s.size() - n, n, suffix) == 0;
}

}  // namespace

ImageImportDir::ImageImportDir(std::string dir, ImportFn import, ResultFn on_result)
    : dir_(std::move(dir)), import_(std::move(import)), on_result_(std::move(on_result)) {}

ImageImportDir::~ImageImportDir() { stop(); }

bool ImageImportDir::isArchiveName(const std::string& name) {
  if (name.empty() || name[0] == '.') return false;  // editors' and rsync's temporaries
  return endsWith(name, ".tar") || endsWith(name, ".tar.gz") || endsWith(name, ".tgz") ||
         endsWith(name, ".tar.zst");
}

bool ImageImportDir::importIfChanged(const std::string& name) {
  auto lg = skiff::log::get("agent");
  std::string path = dir_ + "/" + name;
  std::lock_guard lk(mu_);
  struct stat sb {};
  if (::stat(path.c_str(), &sb) != 0 || !S_ISREG(sb.st_mode)) {
    seen_.erase(name);
    return false;
  }
  Version v{sb.st_dev, sb.st_ino, sb.st_size,
            static_cast<std::int64_t>(sb.st_mtim.tv_sec) * 1000000000 + sb.st_mtim.tv_nsec};
  if (auto it = seen_.find(name); it != seen_.end() && it->second == v) return false;
  seen_[name] = v;
  auto imported = import_(path);
  if (imported) {
    for (const auto& image : *imported)
      SKIFF_LOG_INFO(lg, "Imported image from the image import directory", kv("image", image),
                     kv("archive", path));
    if (on_result_) on_result_(path, ok());
  } else {
    SKIFF_LOG_ERROR(lg,
                    "Image archive in the image import directory is not importable; the "
                    "image store is unchanged",
                    kv("archive", path), kv("err", imported.error().message()));
    if (on_result_) on_result_(path, Result<void>(imported.error()));
  }
  return true;
}

int ImageImportDir::scan() {
  DIR* d = ::opendir(dir_.c_str());
  if (d == nullptr) return 0;
  std::vector<std::string> names;
  while (const dirent* e = ::readdir(d)) {
    if (isArchiveName(e->d_name)) names.emplace_back(e->d_name);
  }
  ::closedir(d);
  int n = 0;
  for (const auto& name : names) n += importIfChanged(name) ? 1 : 0;
  return n;
}

Result<void> ImageImportDir::start() {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec)
    return Error(ErrorCode::Internal, "create image import dir '" + dir_ + "': " + ec.message());
  inotify_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd_ < 0) return Error::fromErrno(errno, "inotify_init1");
  // Watch before the first scan, so an archive written in between is not missed.
  if (::inotify_add_watch(inotify_fd_, dir_.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO) < 0) {
    int err = errno;
    stop();
    return Error::fromErrno(err, "watch image import dir '" + dir_ + "'");
  }
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) {
    int err = errno;
    stop();
    return Error::fromErrno(err, "eventfd");
  }
  // The first scan runs here, before start() returns: archives already in the directory are
  // in the store before the first pod sync (as k3s imports at start), and no scan runs beside
  // a writer that the watch will report anyway.
  scan();
  thread_ = std::thread([this] { watchLoop(); });
  return ok();
}

void ImageImportDir::watchLoop() {
  alignas(inotify_event) char buf[16 * 1024];
  while (true) {
    pollfd fds[2] = {{inotify_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    int rc = ::poll(fds, 2, -1);
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0 || (fds[1].revents & POLLIN)) return;
    ssize_t n = ::read(inotify_fd_, buf, sizeof buf);
    if (n <= 0) continue;
    bool overflow = false;
    std::vector<std::string> names;
    for (char* p = buf; p < buf + n;) {
      auto* ev = reinterpret_cast<inotify_event*>(p);
      if (ev->mask & IN_Q_OVERFLOW) overflow = true;
      if (ev->len > 0 && isArchiveName(ev->name)) names.emplace_back(ev->name);
      p += sizeof(inotify_event) + ev->len;
    }
    if (overflow) {
      scan();  // events were lost: look at everything
      continue;
    }
    for (const auto& name : names) importIfChanged(name);
  }
}

void ImageImportDir::stop() {
  if (wake_fd_ >= 0) {
    std::uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof one);
  }
  if (thread_.joinable()) thread_.join();
  if (inotify_fd_ >= 0) ::close(inotify_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
  inotify_fd_ = wake_fd_ = -1;
}

}  // namespace skiff::agent
