// The audit log's file (lumberjack's rotation, as kube-apiserver uses it) and the queue and
// thread that write to it.
#include "skiff/master/audit/log_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <optional>

#include "skiff/common/file.h"

namespace skiff::master::audit {
namespace {

namespace fs = std::filesystem;
using std::chrono::system_clock;

constexpr std::int64_t kMegabyte = 1024 * 1024;
constexpr std::int64_t kDefaultMaxSizeMb = 100;

// lumberjack's backupTimeFormat "2006-01-02T15-04-05.000", in UTC.
std::string backupTimestamp(system_clock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d-%02d-%02d.%03d", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

// The time in a backup's name, or nullopt when the name is not one.
std::optional<system_clock::time_point> parseBackupTimestamp(const std::string& s) {
  std::tm tm{};
  int ms = 0;
  if (s.size() != 23 ||
      std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d-%2d-%2d.%3d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7)
    return std::nullopt;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  std::time_t secs = ::timegm(&tm);
  return system_clock::from_time_t(secs) + std::chrono::milliseconds(ms);
}

struct Backup {
  system_clock::time_point t;
  fs::path path;
};

}  // namespace

Result<std::unique_ptr<RotatingFile>> RotatingFile::open(RotationOptions options) {
  if (!options.now) options.now = [] { return system_clock::now(); };
  std::unique_ptr<RotatingFile> f(new RotatingFile(std::move(options)));
  SKIFF_TRY(f->openExistingOrNew(0));
  return f;
}

std::int64_t RotatingFile::maxBytes() const {
  if (opts_.max_size_bytes_for_test > 0) return opts_.max_size_bytes_for_test;
  return (opts_.max_size_mb > 0 ? opts_.max_size_mb : kDefaultMaxSizeMb) * kMegabyte;
}

Result<void> RotatingFile::openExistingOrNew(std::size_t write_len) {
  struct stat st {};
  if (::stat(opts_.path.c_str(), &st) != 0) return openNew();
  if (st.st_size + static_cast<std::int64_t>(write_len) >= maxBytes()) return rotate();
  int fd = ::open(opts_.path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) return openNew();  // lumberjack: could not open the existing file, start anew
  fd_.reset(fd);
  size_ = st.st_size;
  return ok();
}

Result<void> RotatingFile::openNew() {
  fs::path p(opts_.path);
  std::error_code ec;
  if (p.has_parent_path()) fs::create_directories(p.parent_path(), ec);
  mode_t mode = 0600;
  struct stat st {};
  if (::stat(opts_.path.c_str(), &st) == 0) {
    mode = st.st_mode & 07777;
    std::string backup = (p.parent_path() / (p.stem().string() + "-" +
                                             backupTimestamp(opts_.now()) + p.extension().string()))
                             .string();
    if (::rename(opts_.path.c_str(), backup.c_str()) != 0)
      return Error::fromErrno(errno, "rename audit log '" + opts_.path + "' to '" + backup + "'");
  }
  int fd = ::open(opts_.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return Error::fromErrno(errno, "open audit log '" + opts_.path + "'");
  fd_.reset(fd);
  size_ = 0;
  return ok();
}

Result<void> RotatingFile::rotate() {
  fd_.reset();
  SKIFF_TRY(openNew());
  removeOldBackups();
  return ok();
}

std::vector<std::string> RotatingFile::backupsForTest() const {
  fs::path p(opts_.path);
  std::vector<std::string> out;
  std::error_code ec;
  std::string prefix = p.stem().string() + "-", ext = p.extension().string();
  for (const auto& e :
       fs::directory_iterator(p.parent_path().empty() ? "." : p.parent_path(), ec)) {
    std::string n = e.path().filename().string();
    if (n.rfind(prefix, 0) == 0 && n.size() > prefix.size() + ext.size() &&
        n.compare(n.size() - ext.size(), ext.size(), ext) == 0)
      out.push_back(n);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// lumberjack's millRunOnce without compression: keep the newest max_backups, drop those older
// than max_age_days.
void RotatingFile::removeOldBackups() {
  if (opts_.max_backups <= 0 && opts_.max_age_days <= 0) return;
  fs::path p(opts_.path);
  std::string prefix = p.stem().string() + "-", ext = p.extension().string();
  std::vector<Backup> backups;
  for (const std::string& n : backupsForTest()) {
    auto t = parseBackupTimestamp(n.substr(prefix.size(), n.size() - prefix.size() - ext.size()));
    if (t) backups.push_back({*t, p.parent_path() / n});
  }
  std::sort(backups.begin(), backups.end(),
            [](const Backup& a, const Backup& b) { return a.t > b.t; });
  std::vector<fs::path> remove;
  if (opts_.max_backups > 0 && backups.size() > static_cast<std::size_t>(opts_.max_backups)) {
    for (std::size_t i = opts_.max_backups; i < backups.size(); ++i)
      remove.push_back(backups[i].path);
    backups.resize(opts_.max_backups);
  }
  if (opts_.max_age_days > 0) {
    auto cutoff = opts_.now() - std::chrono::hours(24) * opts_.max_age_days;
    for (const Backup& b : backups)
      if (b.t < cutoff) remove.push_back(b.path);
  }
  std::error_code ec;
  for (const fs::path& r : remove) fs::remove(r, ec);
}

Result<void> RotatingFile::write(const std::string& data) {
  auto len = static_cast<std::int64_t>(data.size());
  if (len > maxBytes()) {
    return Error(ErrorCode::TooLarge, "write length " + std::to_string(len) +
                                          " exceeds maximum file size " +
                                          std::to_string(maxBytes()));
  }
  if (!fd_) SKIFF_TRY(openExistingOrNew(data.size()));
  if (size_ + len > maxBytes()) SKIFF_TRY(rotate());
  SKIFF_TRY(writeAll(fd_.get(), data, "audit log '" + opts_.path + "'"));
  size_ += len;
  return ok();
}

AsyncWriter::AsyncWriter(Sink sink, std::size_t capacity)
    : sink_(std::move(sink)), capacity_(capacity), thread_([this] { run(); }) {}

AsyncWriter::~AsyncWriter() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

bool AsyncWriter::push(std::string line) {
  return push(MakeLine([l = std::move(line)]() mutable { return std::move(l); }));
}

bool AsyncWriter::push(MakeLine make) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (queue_.size() >= capacity_) {
      ++dropped_;
      return false;
    }
    queue_.push_back(std::move(make));
  }
  cv_.notify_one();
  return true;
}

void AsyncWriter::flush() {
  std::unique_lock<std::mutex> lk(mu_);
  idle_cv_.wait(lk, [&] { return queue_.empty() && !busy_; });
}

std::uint64_t AsyncWriter::dropped() const {
  std::lock_guard<std::mutex> lk(mu_);
  return dropped_;
}

std::uint64_t AsyncWriter::writeErrors() const {
  std::lock_guard<std::mutex> lk(mu_);
  return write_errors_;
}

// Takes everything queued at once and makes and writes the lines outside the lock, so request
// threads only ever contend for a push onto the deque.
void AsyncWriter::run() {
  std::unique_lock<std::mutex> lk(mu_);
  for (;;) {
    cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty() && stopping_) return;
    std::deque<MakeLine> batch;
    batch.swap(queue_);
    busy_ = true;
    lk.unlock();
    std::uint64_t errors = 0;
    for (MakeLine& make : batch) {
      if (!sink_(make())) ++errors;
    }
    lk.lock();
    busy_ = false;
    write_errors_ += errors;
    if (queue_.empty()) idle_cv_.notify_all();
  }
}

}  // namespace skiff::master::audit
