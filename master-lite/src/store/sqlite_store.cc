// Embedded SQLite implementation of the Store (DESIGN.md "Store").
//
// Schema: `kv` holds the current value of every key; `log` holds one row per revision (the event
// history that watches replay, trimmed by compaction); `meta` holds the current and compacted
// revisions. Every write is one transaction that touches all three (a commit() of several
// writes is one transaction with one revision and one log row per write), so the revision counter,
// the current values and the history can never disagree, also after kill -9 (WAL mode: a
// committed transaction is in the WAL file before sqlite3_step returns).
//
// A log row's previous value (a replayed event's prev_value) is not a second copy: `prev_rev`
// names the log row that wrote it, so an update of a 1 KB object (a quota's charge) logs 1 KB,
// not 2. Compaction copies such a value into `prev_value` before it deletes the row holding it;
// a write whose previous value's row is already compacted stores the value in `prev_value`.
//
// `kv` is an ordinary (rowid) table with an index on key, not WITHOUT ROWID: with 4 KiB pages
// SQLite keeps at most ~1,000 bytes of a WITHOUT ROWID row on its b-tree page, so nearly every
// object (a pod is ~1.5-2 KiB) spilled to an overflow page and every write rewrote two pages.
// A rowid table keeps rows up to ~4 KiB on the page and an update rewrites one (the key, so the
// index, is unchanged). Stores made before are converted once when opened (convertKvToRowid).
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "key_range.h"
#include "skiff/master/store/store.h"
#include "wal_checkpointer.h"

namespace skiff::master::store {
namespace {

struct StmtDeleter {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtDeleter>;

struct DbDeleter {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using Db = std::unique_ptr<sqlite3, DbDeleter>;

std::string columnText(sqlite3_stmt* s, int i) {
  const void* p = sqlite3_column_blob(s, i);
  int n = sqlite3_column_bytes(s, i);
  return p ? std::string(static_cast<const char*>(p), static_cast<std::size_t>(n)) : std::string();
}

class SqliteStore;

struct Watcher {
  std::string prefix;
  WatchHandler handler;
};

class SqliteWatch : public Watch {
 public:
  SqliteWatch(SqliteStore* store, std::uint64_t id) : store_(store), id_(id) {}
  ~SqliteWatch() override { stop(); }
  void stop() override;

 private:
  SqliteStore* store_;
  std::uint64_t id_;
  std::atomic<bool> stopped_{false};
};

class SqliteStore : public Store {
 public:
  SqliteStore(Db db, Options options) : db_(std::move(db)), options_(options) {}

  Result<void> init(const std::string& path) {
    const char* pragmas[] = {
        "PRAGMA journal_mode=WAL",
        // After a burst grew the WAL, the next reset truncates it back to this size.
        "PRAGMA journal_size_limit=16777216",
        options_.fsync_every_write ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL",
        "PRAGMA foreign_keys=OFF",
        "PRAGMA temp_store=MEMORY",
        "PRAGMA cache_size=-8000",  // 8 MiB page cache: keeps RSS small with 10k objects
        kCreateKv,
        kCreateLog,
        "CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
        "INSERT OR IGNORE INTO meta(name, value) VALUES('rev', 0), ('compacted', 0)",
    };
    for (const char* sql : pragmas) SKIFF_TRY(exec(sql));
    SKIFF_TRY(convertKvToRowid());
    // A store written before prev_rev existed: its rows all carry prev_value itself.
    if (!prepare("SELECT prev_rev FROM log LIMIT 0")) {
      SKIFF_TRY(exec("ALTER TABLE log ADD COLUMN prev_rev INTEGER"));
    }
    SKIFF_ASSIGN_OR_RETURN(rev_, readMeta("rev"));
    SKIFF_ASSIGN_OR_RETURN(compacted_, readMeta("compacted"));
    return checkpointer_.start(db_.get(), path);
  }

  Result<KeyValue> get(const std::string& key) override {
    std::lock_guard lock(mu_);
    return getLocked(key);
  }

  Result<ListResult> list(const std::string& prefix, const std::string& start_after,
                          std::int64_t limit) override {
    std::lock_guard lock(mu_);
    // Strictly after start_after (so that LIMIT counts only returned rows), else from prefix.
    bool after = !start_after.empty() && start_after >= prefix;
    std::string lower = after ? start_after : prefix;
    std::string upper = prefixEnd(prefix);
    // Four shapes (after start_after or from the prefix; bounded above or not), each prepared
    // once; the limit is bound (-1: none).
    static const char* const kListSql[2][2] = {
        {"SELECT key, value, create_rev, mod_rev FROM kv WHERE key >= ?1 ORDER BY key LIMIT ?3",
         "SELECT key, value, create_rev, mod_rev FROM kv WHERE key >= ?1 AND key < ?2 ORDER BY "
         "key LIMIT ?3"},
        {"SELECT key, value, create_rev, mod_rev FROM kv WHERE key > ?1 ORDER BY key LIMIT ?3",
         "SELECT key, value, create_rev, mod_rev FROM kv WHERE key > ?1 AND key < ?2 ORDER BY "
         "key LIMIT ?3"}};
    bool bounded = !upper.empty();
    SKIFF_ASSIGN_OR_RETURN(sqlite3_stmt * s,
                           cached(list_stmts_[after][bounded], kListSql[after][bounded]));
    bindText(s, 1, lower);
    if (bounded) bindText(s, 2, upper);
    sqlite3_bind_int64(s, 3, limit > 0 ? limit + 1 : -1);
    ListResult out;
    out.revision = rev_;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      KeyValue kv{columnText(s, 0), columnText(s, 1), sqlite3_column_int64(s, 2),
                  sqlite3_column_int64(s, 3)};
      if (limit > 0 && static_cast<std::int64_t>(out.items.size()) == limit) {
        out.more = true;
        break;
      }
      out.items.push_back(std::move(kv));
    }
    sqlite3_reset(s);  // ends the statement's read now, not at its next use
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return dbError("list keys");
    return out;
  }

  // The current values are read and the preconditions checked inside the write transaction
  // (applyLocked): each read on its own would open and close a read transaction of its own,
  // with its WAL read-lock calls, for every key a write touches.
  Result<KeyValue> create(const std::string& key, const std::string& value) override {
    std::lock_guard lock(mu_);
    return writeLocked([&](std::vector<Pending>& writes) -> Result<void> {
      auto existing = getLocked(key);
      if (existing) return Error(ErrorCode::AlreadyExists, "key '" + key + "' already exists");
      if (!existing.error().is(ErrorCode::NotFound)) return std::move(existing).error();
      writes.push_back(Pending{key, value, false, std::nullopt});
      return ok();
    });
  }

  Result<KeyValue> update(const std::string& key, const std::string& value,
                          std::int64_t expected) override {
    std::lock_guard lock(mu_);
    return writeLocked([&](std::vector<Pending>& writes) -> Result<void> {
      SKIFF_ASSIGN_OR_RETURN(KeyValue cur, getLocked(key));
      if (expected != 0 && cur.mod_revision != expected) {
        return Error(ErrorCode::Conflict, "key '" + key + "' was modified");
      }
      writes.push_back(Pending{key, value, false, std::move(cur)});
      return ok();
    });
  }

  Result<KeyValue> remove(const std::string& key, std::int64_t expected) override {
    std::lock_guard lock(mu_);
    return writeLocked([&](std::vector<Pending>& writes) -> Result<void> {
      SKIFF_ASSIGN_OR_RETURN(KeyValue cur, getLocked(key));
      if (expected != 0 && cur.mod_revision != expected) {
        return Error(ErrorCode::Conflict, "key '" + key + "' was modified");
      }
      std::string last = cur.value;
      writes.push_back(Pending{key, std::move(last), true, std::move(cur)});
      return ok();
    });
  }

  Result<std::vector<KeyValue>> commit(const std::vector<TxnOp>& ops) override {
    if (ops.empty()) return Error(ErrorCode::Invalid, "commit: no operations");
    std::lock_guard lock(mu_);
    for (std::size_t i = 0; i < ops.size(); ++i) {
      for (std::size_t j = 0; j < i; ++j) {
        if (ops[j].key == ops[i].key) {
          return Error(ErrorCode::Invalid, "commit: key '" + ops[i].key + "' twice");
        }
      }
    }
    return applyLocked([&](std::vector<Pending>& writes) -> Result<void> {
      writes.reserve(ops.size());
      for (const auto& op : ops) {
        auto cur = getLocked(op.key);
        if (!cur && !cur.error().is(ErrorCode::NotFound)) return std::move(cur).error();
        if (op.kind == TxnOp::Kind::Create) {
          if (cur) return Error(ErrorCode::AlreadyExists, "key '" + op.key + "' already exists");
          writes.push_back(Pending{op.key, op.value, false, std::nullopt});
          continue;
        }
        if (!cur) return std::move(cur).error();
        if (op.expected_mod_revision != 0 && cur->mod_revision != op.expected_mod_revision) {
          return Error(ErrorCode::Conflict, "key '" + op.key + "' was modified");
        }
        writes.push_back(Pending{op.key, op.value, false, std::move(cur).value()});
      }
      return ok();
    });
  }

  Result<WatchPtr> watch(const std::string& prefix, std::int64_t from,
                         WatchHandler handler) override {
    std::lock_guard lock(mu_);
    if (from < compacted_) {
      return Error(ErrorCode::Gone, "too old resource version: " + std::to_string(from) + " (" +
                                        std::to_string(compacted_ + 1) + ")");
    }
    if (from < rev_) {
      // Replay history under the lock so that no live event can slip between replay and
      // registration.
      std::string upper = prefixEnd(prefix);
      std::string sql =
          "SELECT l.rev, l.key, l.deleted, l.value, l.create_rev, COALESCE(l.prev_value, p.value) "
          "FROM log AS l LEFT JOIN log AS p ON p.rev = l.prev_rev WHERE l.rev > ?1 AND "
          "l.key >= ?2";
      if (!upper.empty()) sql += " AND l.key < ?3";
      sql += " ORDER BY l.rev";
      SKIFF_ASSIGN_OR_RETURN(Stmt s, prepare(sql));
      sqlite3_bind_int64(s.get(), 1, from);
      bindText(s.get(), 2, prefix);
      if (!upper.empty()) bindText(s.get(), 3, upper);
      int rc;
      while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
        auto ev = std::make_shared<Event>(
            Event{sqlite3_column_int(s.get(), 2) ? EventType::Delete : EventType::Put,
                  KeyValue{columnText(s.get(), 1), columnText(s.get(), 3),
                           sqlite3_column_int64(s.get(), 4), sqlite3_column_int64(s.get(), 0)},
                  std::nullopt});
        if (sqlite3_column_type(s.get(), 5) != SQLITE_NULL) ev->prev_value = columnText(s.get(), 5);
        handler(ev);
      }
      if (rc != SQLITE_DONE) return dbError("replay history");
    }
    std::uint64_t id = next_watch_id_++;
    watchers_.emplace_back(id, Watcher{prefix, std::move(handler)});
    return WatchPtr(std::make_unique<SqliteWatch>(this, id));
  }

  std::int64_t currentRevision() override {
    std::lock_guard lock(mu_);
    return rev_;
  }
  std::int64_t compactedRevision() override {
    std::lock_guard lock(mu_);
    return compacted_;
  }

  Result<void> compact(std::int64_t revision) override {
    std::lock_guard lock(mu_);
    return compactLocked(revision);
  }

  void removeWatcher(std::uint64_t id) {
    std::lock_guard lock(mu_);
    std::erase_if(watchers_, [&](const auto& w) { return w.first == id; });
  }

 private:
  static constexpr const char* kCreateKv =
      "CREATE TABLE IF NOT EXISTS kv(key TEXT PRIMARY KEY, value BLOB NOT NULL,"
      " create_rev INTEGER NOT NULL, mod_rev INTEGER NOT NULL)";
  // Every revision's write, for watches from a past revision; prev_rev names the row holding the
  // previous value while it is not compacted (prev_value holds it after).
  static constexpr const char* kCreateLog =
      "CREATE TABLE IF NOT EXISTS log(rev INTEGER PRIMARY KEY, key TEXT NOT NULL,"
      " deleted INTEGER NOT NULL, value BLOB NOT NULL, create_rev INTEGER NOT NULL,"
      " prev_value BLOB, prev_rev INTEGER)";

  // A store made when `kv` was WITHOUT ROWID gets the rowid table, rows unchanged, in one
  // transaction: a failure (or kill -9) leaves the old table as it was, to be converted next time.
  Result<void> convertKvToRowid() {
    std::string sql;
    {
      SKIFF_ASSIGN_OR_RETURN(Stmt s,
                             prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND "
                                     "name = 'kv'"));
      if (sqlite3_step(s.get()) == SQLITE_ROW) sql = columnText(s.get(), 0);
    }
    if (sql.find("WITHOUT ROWID") == std::string::npos) return ok();
    SKIFF_TRY(begin());
    auto body = [&]() -> Result<void> {
      SKIFF_TRY(exec("ALTER TABLE kv RENAME TO kv_without_rowid"));
      SKIFF_TRY(exec(kCreateKv));
      SKIFF_TRY(
          exec("INSERT INTO kv(key, value, create_rev, mod_rev) SELECT key, value, create_rev, "
               "mod_rev FROM kv_without_rowid ORDER BY key"));
      return exec("DROP TABLE kv_without_rowid");
    }();
    if (!body) {
      rollback();
      return std::move(body).error().wrap("convert the kv table to a rowid table");
    }
    return commitTxn();
  }

  Result<void> exec(const char* sql) {
    char* msg = nullptr;
    if (sqlite3_exec(db_.get(), sql, nullptr, nullptr, &msg) != SQLITE_OK) {
      std::string m = msg ? msg : "unknown error";
      sqlite3_free(msg);
      return Error(ErrorCode::Internal, std::string("sqlite '") + sql + "': " + m);
    }
    return ok();
  }

  Error dbError(const std::string& what) {
    return Error(ErrorCode::Internal, what + ": " + sqlite3_errmsg(db_.get()));
  }

  // `flags`: sqlite3_prepare_v3's (SQLITE_PREPARE_PERSISTENT for statements kept for reuse).
  Result<Stmt> prepare(const std::string& sql, unsigned flags = 0) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v3(db_.get(), sql.c_str(), -1, flags, &s, nullptr) != SQLITE_OK) {
      return dbError("prepare '" + sql + "'");
    }
    return Stmt(s);
  }

  // Cached statements for the hot paths, prepared once and reset for each use.
  Result<sqlite3_stmt*> cached(Stmt& slot, const char* sql) {
    if (!slot) {
      SKIFF_ASSIGN_OR_RETURN(slot, prepare(sql, SQLITE_PREPARE_PERSISTENT));
    }
    sqlite3_reset(slot.get());
    sqlite3_clear_bindings(slot.get());
    return slot.get();
  }

  static void bindText(sqlite3_stmt* s, int i, const std::string& v) {
    sqlite3_bind_blob(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }

  Result<std::int64_t> readMeta(const char* name) {
    SKIFF_ASSIGN_OR_RETURN(Stmt s, prepare("SELECT value FROM meta WHERE name = ?1"));
    sqlite3_bind_text(s.get(), 1, name, -1, SQLITE_STATIC);
    if (sqlite3_step(s.get()) != SQLITE_ROW) return dbError(std::string("read meta ") + name);
    return sqlite3_column_int64(s.get(), 0);
  }

  Result<KeyValue> getLocked(const std::string& key) {
    SKIFF_ASSIGN_OR_RETURN(
        sqlite3_stmt * s,
        cached(get_stmt_, "SELECT value, create_rev, mod_rev FROM kv WHERE key = ?1"));
    bindText(s, 1, key);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) return Error(ErrorCode::NotFound, "key '" + key + "' not found");
    if (rc != SQLITE_ROW) return dbError("get '" + key + "'");
    KeyValue kv{key, columnText(s, 0), sqlite3_column_int64(s, 1), sqlite3_column_int64(s, 2)};
    sqlite3_reset(s);
    return kv;
  }

  Result<void> step(sqlite3_stmt* s, const std::string& what) {
    if (sqlite3_step(s) != SQLITE_DONE) return dbError(what);
    return ok();
  }

  // BEGIN IMMEDIATE, COMMIT and ROLLBACK of the write path, from prepared statements: through
  // sqlite3_exec each write parsed them again (4 % of a pod create's time in the store).
  Result<void> begin() {
    SKIFF_ASSIGN_OR_RETURN(sqlite3_stmt * s, cached(begin_stmt_, "BEGIN IMMEDIATE"));
    return step(s, "begin");
  }
  Result<void> commitTxn() {
    SKIFF_ASSIGN_OR_RETURN(sqlite3_stmt * s, cached(commit_stmt_, "COMMIT"));
    return step(s, "commit");
  }
  void rollback() {
    if (auto s = cached(rollback_stmt_, "ROLLBACK")) (void)step(*s, "rollback");
  }

  struct Pending {
    std::string key;
    std::string value;
    bool deleted;
    std::optional<KeyValue> prev;
  };

  // Reads what a write of one key needs (`prepare`), then writes it (applyLocked).
  using Prepare = std::function<Result<void>(std::vector<Pending>&)>;
  Result<KeyValue> writeLocked(const Prepare& prepare) {
    SKIFF_ASSIGN_OR_RETURN(auto out, applyLocked(prepare));
    return std::move(out.front());
  }

  // One transaction: `prepare` reads the current values and checks the preconditions (an error
  // rolls back, with nothing written), then per write its kv row and its log row (consecutive
  // revisions), then the revision. Watchers are notified after the commit, in write order.
  Result<std::vector<KeyValue>> applyLocked(const Prepare& prepare) {
    std::vector<Pending> writes;
    std::vector<KeyValue> out;
    SKIFF_TRY(begin());
    auto body = [&]() -> Result<void> {
      SKIFF_TRY(prepare(writes));
      out.reserve(writes.size());
      std::int64_t rev = rev_;
      for (const auto& w : writes) {
        ++rev;
        out.push_back(KeyValue{w.key, w.value, w.prev ? w.prev->create_revision : rev, rev});
        SKIFF_TRY(stageLocked(w, out.back()));
      }
      SKIFF_ASSIGN_OR_RETURN(sqlite3_stmt * m,
                             cached(rev_stmt_, "UPDATE meta SET value = ?1 WHERE name = 'rev'"));
      sqlite3_bind_int64(m, 1, rev);
      return step(m, "bump revision");
    }();
    if (!body) {
      rollback();
      return std::move(body).error();
    }
    SKIFF_TRY(commitTxn());
    rev_ = out.back().mod_revision;
    for (std::size_t i = 0; i < writes.size(); ++i) {
      // The event takes the staged key and value over (`out` has its own copies).
      Pending& w = writes[i];
      auto ev = std::make_shared<const Event>(
          Event{w.deleted ? EventType::Delete : EventType::Put,
                KeyValue{std::move(w.key), std::move(w.value), out[i].create_revision,
                         out[i].mod_revision},
                w.prev ? std::optional<std::string>(std::move(w.prev->value)) : std::nullopt});
      const std::string& key = ev->kv.key;
      for (auto& [id, watcher] : watchers_) {
        if (key.compare(0, watcher.prefix.size(), watcher.prefix) == 0) watcher.handler(ev);
      }
    }
    if (options_.retain_revisions > 0 && rev_ - compacted_ > 2 * options_.retain_revisions) {
      // Amortised: compact in batches of retain_revisions.
      (void)compactLocked(rev_ - options_.retain_revisions);
    }
    return out;
  }

  // Inside an open transaction: the write's kv row (or its removal) and its log row.
  Result<void> stageLocked(const Pending& w, const KeyValue& kv) {
    if (w.deleted) {
      SKIFF_ASSIGN_OR_RETURN(sqlite3_stmt * d, cached(del_stmt_, "DELETE FROM kv WHERE key = ?1"));
      bindText(d, 1, w.key);
      SKIFF_TRY(step(d, "delete '" + w.key + "'"));
    } else {
      SKIFF_ASSIGN_OR_RETURN(
          sqlite3_stmt * p,
          cached(put_stmt_,
                 "INSERT INTO kv(key, value, create_rev, mod_rev) VALUES(?1,?2,?3,?4) ON "
                 "CONFLICT(key) DO UPDATE SET value = excluded.value, create_rev = "
                 "excluded.create_rev, mod_rev = excluded.mod_rev"));
      bindText(p, 1, w.key);
      bindText(p, 2, w.value);
      sqlite3_bind_int64(p, 3, kv.create_revision);
      sqlite3_bind_int64(p, 4, kv.mod_revision);
      SKIFF_TRY(step(p, "put '" + w.key + "'"));
    }
    SKIFF_ASSIGN_OR_RETURN(
        sqlite3_stmt * l,
        cached(log_stmt_,
               "INSERT INTO log(rev, key, deleted, value, create_rev, prev_value, prev_rev) "
               "VALUES(?1,?2,?3,?4,?5,?6,?7)"));
    sqlite3_bind_int64(l, 1, kv.mod_revision);
    bindText(l, 2, w.key);
    sqlite3_bind_int(l, 3, w.deleted ? 1 : 0);
    bindText(l, 4, w.value);
    sqlite3_bind_int64(l, 5, kv.create_revision);
    if (w.prev) {
      // The log row of the revision that wrote the previous value holds it while not compacted.
      if (w.prev->mod_revision > compacted_) {
        sqlite3_bind_int64(l, 7, w.prev->mod_revision);
      } else {
        bindText(l, 6, w.prev->value);
      }
    }
    return step(l, "append log");
  }

  Result<void> compactLocked(std::int64_t revision) {
    revision = std::min(revision, rev_);
    if (revision <= compacted_) return ok();
    SKIFF_TRY(begin());
    auto body = [&]() -> Result<void> {
      // Previous values that live in rows about to go are copied into the rows that need them.
      SKIFF_ASSIGN_OR_RETURN(
          Stmt c, prepare("UPDATE log SET prev_value = (SELECT p.value FROM log AS p WHERE p.rev ="
                          " log.prev_rev), prev_rev = NULL WHERE rev > ?1 AND prev_rev <= ?1"));
      sqlite3_bind_int64(c.get(), 1, revision);
      SKIFF_TRY(step(c.get(), "keep previous values"));
      SKIFF_ASSIGN_OR_RETURN(Stmt d, prepare("DELETE FROM log WHERE rev <= ?1"));
      sqlite3_bind_int64(d.get(), 1, revision);
      SKIFF_TRY(step(d.get(), "compact log"));
      SKIFF_ASSIGN_OR_RETURN(Stmt m,
                             prepare("UPDATE meta SET value = ?1 WHERE name = 'compacted'"));
      sqlite3_bind_int64(m.get(), 1, revision);
      return step(m.get(), "record compaction");
    }();
    if (!body) {
      rollback();
      return std::move(body).error();
    }
    SKIFF_TRY(commitTxn());
    compacted_ = revision;
    return ok();
  }

  std::mutex mu_;
  Db db_;
  WalCheckpointer checkpointer_;  // after db_: stops before the connection closes
  Options options_;
  std::int64_t rev_ = 0;
  std::int64_t compacted_ = 0;
  Stmt get_stmt_, put_stmt_, del_stmt_, log_stmt_, rev_stmt_;
  Stmt begin_stmt_, commit_stmt_, rollback_stmt_;
  Stmt list_stmts_[2][2];  // [after start_after][bounded above]
  std::uint64_t next_watch_id_ = 1;
  std::vector<std::pair<std::uint64_t, Watcher>> watchers_;
};

void SqliteWatch::stop() {
  if (!stopped_.exchange(true)) store_->removeWatcher(id_);
}

}  // namespace

Result<StorePtr> openSqliteStore(const std::string& path, const Options& options) {
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  Db db(raw);
  if (rc != SQLITE_OK) {
    return Error(ErrorCode::Internal,
                 "open store '" + path + "': " + (raw ? sqlite3_errmsg(raw) : "out of memory"));
  }
  sqlite3_busy_timeout(raw, 5000);
  auto store = std::make_unique<SqliteStore>(std::move(db), options);
  if (auto r = store->init(path); !r) return std::move(r).error().wrap("open store '" + path + "'");
  return StorePtr(std::move(store));
}

}  // namespace skiff::master::store
