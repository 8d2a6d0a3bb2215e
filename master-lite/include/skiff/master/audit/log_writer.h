#pragma once

// Where audit events go: a file rotated as kube-apiserver's lumberjack logger rotates it
// (--audit-log-maxsize/-maxbackup/-maxage), or stdout for "-"; and the asynchronous, bounded
// queue in front of it so that requests never wait for the disk.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "skiff/common/result.h"
#include "skiff/common/unique_fd.h"

namespace skiff::master::audit {

using SystemClock = std::function<std::chrono::system_clock::time_point()>;

struct RotationOptions {
  std::string path;                          // "-" = stdout
  int max_size_mb = 0;                       // 0 = lumberjack's default, 100 MB
  int max_backups = 0;                       // 0 = keep all
  int max_age_days = 0;                      // 0 = no age limit
  std::int64_t max_size_bytes_for_test = 0;  // overrides max_size_mb when > 0
  SystemClock now;                           // default: system_clock::now
};

// A lumberjack-compatible rotating file. When a write would make the file larger than the
// limit, the file is renamed to <name>-<UTC 2006-01-02T15-04-05.000><ext> beside it, a new one
// is opened (mode 0600), and backups beyond max_backups or older than max_age_days (by the time
// in their names) are deleted. Not thread-safe (the AsyncWriter's thread owns it).
class RotatingFile {
 public:
  static Result<std::unique_ptr<RotatingFile>> open(RotationOptions options);
  // Appends `data` (one or more whole lines), rotating first when needed. A single write larger
  // than the limit is an error, as in lumberjack.
  Result<void> write(const std::string& data);
  // Backup file names in the log's directory, oldest first.
  std::vector<std::string> backupsForTest() const;

 private:
  explicit RotatingFile(RotationOptions o) : opts_(std::move(o)) {}
  Result<void> openExistingOrNew(std::size_t write_len);
  Result<void> openNew();
  Result<void> rotate();
  void removeOldBackups();
  std::int64_t maxBytes() const;

  RotationOptions opts_;
  UniqueFd fd_;
  std::int64_t size_ = 0;
};

// A bounded queue drained by one thread into a sink. push() never blocks: when `capacity`
// events are waiting, the event is dropped and counted. A line may be queued as a function that
// makes it, so that the work of building it (parsing and encoding bodies) is done on the
// writer's thread, not the request's.
class AsyncWriter {
 public:
  using Sink = std::function<Result<void>(const std::string& line)>;
  using MakeLine = std::function<std::string()>;
  AsyncWriter(Sink sink, std::size_t capacity);
  ~AsyncWriter();  // writes what is queued, then joins
  // False when the queue was full and the line was dropped.
  bool push(std::string line);
  bool push(MakeLine make);
  // Blocks until everything pushed so far was handed to the sink.
  void flush();
  std::uint64_t dropped() const;
  std::uint64_t writeErrors() const;

 private:
  void run();

  Sink sink_;
  std::size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable cv_, idle_cv_;
  std::deque<MakeLine> queue_;
  bool stopping_ = false, busy_ = false;
  std::uint64_t dropped_ = 0, write_errors_ = 0;
  std::thread thread_;
};

}  // namespace skiff::master::audit
