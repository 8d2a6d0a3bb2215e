// Background WAL checkpoints for the SQLite store (wal_checkpointer.h).
#include "wal_checkpointer.h"

namespace skiff::master::store {

WalCheckpointer::~WalCheckpointer() {
  if (!thread_.joinable()) return;
  sqlite3_wal_hook(writer_, nullptr, nullptr);
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
  sqlite3_close_v2(conn_);
}

Result<void> WalCheckpointer::start(sqlite3* writer, const std::string& path) {
  // NOMUTEX: only this object's thread uses the connection.
  int rc =
      sqlite3_open_v2(path.c_str(), &conn_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string why = conn_ ? sqlite3_errmsg(conn_) : "out of memory";
    sqlite3_close_v2(conn_);
    conn_ = nullptr;
    return Error(ErrorCode::Internal, "open checkpoint connection: " + why);
  }
  // A connection learns the journal mode when it first reads the database; until then a
  // checkpoint is a no-op ("not in WAL mode").
  if (sqlite3_exec(conn_, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr) != SQLITE_OK) {
    std::string why = sqlite3_errmsg(conn_);
    sqlite3_close_v2(conn_);
    conn_ = nullptr;
    return Error(ErrorCode::Internal, "checkpoint connection: " + why);
  }
  // The connection's default synchronous=FULL: a checkpoint syncs the WAL before copying and the
  // database file before the WAL may be reused, so a power loss cannot lose what was committed.
  // Installing the hook also turns off SQLite's checkpoint-on-commit for `writer`.
  writer_ = writer;
  sqlite3_wal_hook(writer, &WalCheckpointer::onCommit, this);
  thread_ = std::thread([this] { run(); });
  return ok();
}

// On the committing thread, under the store's write lock: must stay cheap.
int WalCheckpointer::onCommit(void* self, sqlite3* db, const char* schema, int pages) {
  auto* c = static_cast<WalCheckpointer*>(self);
  if (pages >= kInlineCheckpointPages) {
    // The background thread has fallen far behind: bound the WAL as SQLite itself would.
    sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  } else if (pages >= kBackgroundCheckpointPages) {
    {
      std::lock_guard lock(c->mu_);
      c->pending_ = true;
    }
    c->cv_.notify_one();
  }
  return SQLITE_OK;
}

void WalCheckpointer::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return pending_ || stop_; });
    if (stop_) return;
    pending_ = false;
    lock.unlock();
    // PASSIVE: copies what no reader still needs and never waits for the writer. A busy result
    // (another checkpoint running) is retried on the next signal.
    sqlite3_wal_checkpoint_v2(conn_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    lock.lock();
  }
}

}  // namespace skiff::master::store
