#pragma once

// Moves SQLite's WAL checkpoints off the write path. By default SQLite checkpoints from inside
// the commit that takes the WAL past 1,000 pages: that write copies the WAL into the database
// file and fsyncs it, 5-10 ms on this machine's disk, so one write in a few hundred stalls (and
// every request queued behind the store's lock with it). Here the committing thread only signals;
// a thread with its own connection runs PASSIVE checkpoints, which never block writers or
// readers. A committed transaction is durable in the WAL either way: a checkpoint only copies.
//
// Should the checkpointer fall behind (writes faster than the disk), the commit that takes the
// WAL past kInlineCheckpointPages checkpoints itself, as SQLite would have, so the WAL stays
// bounded.

#include <sqlite3.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "skiff/common/result.h"

namespace skiff::master::store {

class WalCheckpointer {
 public:
  static constexpr int kBackgroundCheckpointPages = 1000;  // SQLite's own autocheckpoint
  static constexpr int kInlineCheckpointPages = 16 * kBackgroundCheckpointPages;

  WalCheckpointer() = default;
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;
  ~WalCheckpointer();

  // Opens a second connection to `path` and takes over checkpointing for `writer` (whose WAL
  // hook it installs). `writer` must outlive this object.
  Result<void> start(sqlite3* writer, const std::string& path);

 private:
  static int onCommit(void* self, sqlite3* db, const char* schema, int pages);
  void run();

  sqlite3* writer_ = nullptr;
  sqlite3* conn_ = nullptr;
  std::mutex mu_;
  std::condition_variable cv_;
  bool pending_ = false;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace skiff::master::store
