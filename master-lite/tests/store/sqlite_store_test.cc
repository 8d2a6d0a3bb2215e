#include <sqlite3.h>

#include <chrono>
#include <thread>

#include "skiff/common/testing/temp_dir.h"
#include "store_conformance.h"

namespace skiff::master::store::testing {
namespace {

struct SqliteFactory {
  static StorePtr make(const std::string& dir, const Options& options) {
    auto s = openSqliteStore(dir + "/store.db", options);
    return s ? std::move(s).value() : nullptr;
  }
};

INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, StoreConformance, ::testing::Types<SqliteFactory>);

// Each test's store file, in a directory of its own that is removed afterwards; no fsync a write.
class SqliteStoreTest : public ::testing::Test {
 protected:
  SqliteStoreTest() { opts_.fsync_every_write = false; }

  skiff::testing::TempDir dir_{"store"};
  const std::string db_ = dir_.path() + "/db";
  Options opts_;
};

// A store made when `kv` was WITHOUT ROWID (before 2026-12) is converted when opened: same keys,
// values and revisions, a watch from before replays as it did, and the table is a rowid table.
TEST_F(SqliteStoreTest, OpensAStoreWhoseKvTableIsWithoutRowid) {
  std::int64_t before = 0;
  {
    auto s = openSqliteStore(db_, opts_);
    ASSERT_TRUE(s);
    ASSERT_TRUE((*s)->create("/k/a", std::string(3000, 'a')));
    before = (*s)->currentRevision();
    ASSERT_TRUE((*s)->create("/k/b", "b"));
    auto b = (*s)->get("/k/b");
    ASSERT_TRUE(b && (*s)->update("/k/b", "b2", b->mod_revision));
  }
  auto rawExec = [&](const char* sql) {
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open(db_.c_str(), &h), SQLITE_OK);
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(h, sql, nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
    sqlite3_free(err);
    sqlite3_close(h);
  };
  rawExec(
      "BEGIN; ALTER TABLE kv RENAME TO kv_new; CREATE TABLE kv(key TEXT PRIMARY KEY, value BLOB "
      "NOT NULL, create_rev INTEGER NOT NULL, mod_rev INTEGER NOT NULL) WITHOUT ROWID; INSERT "
      "INTO kv SELECT key, value, create_rev, mod_rev FROM kv_new; DROP TABLE kv_new; COMMIT");
  auto s = openSqliteStore(db_, opts_);
  ASSERT_TRUE(s) << s.error().message();
  auto l = (*s)->list("/k/");
  ASSERT_TRUE(l);
  ASSERT_EQ(l->items.size(), 2u);
  EXPECT_EQ(l->items[0].value, std::string(3000, 'a'));
  EXPECT_EQ(l->items[1].value, "b2");
  EXPECT_EQ(l->items[1].mod_revision, (*s)->currentRevision());
  EXPECT_EQ(l->items[1].create_revision, before + 1);
  std::vector<Event> replayed;
  auto w = (*s)->watch("/k/", before, [&](const EventPtr& e) { replayed.push_back(*e); });
  ASSERT_TRUE(w);
  ASSERT_EQ(replayed.size(), 2u);
  EXPECT_EQ(replayed[1].prev_value, "b");
  ASSERT_TRUE((*s)->create("/k/c", "c"));  // and it takes writes
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(db_.c_str(), &h), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(
      sqlite3_prepare_v2(h, "SELECT sql FROM sqlite_master WHERE name = 'kv'", -1, &st, nullptr),
      SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  std::string sql = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(h);
  EXPECT_EQ(sql.find("WITHOUT ROWID"), std::string::npos) << sql;
}

TEST_F(SqliteStoreTest, CompactsAutomaticallyBeyondRetainWindow) {
  opts_.retain_revisions = 10;
  auto s = openSqliteStore(db_, opts_);
  ASSERT_TRUE(s);
  for (int i = 0; i < 25; ++i) ASSERT_TRUE((*s)->create("/a/" + std::to_string(i), "v"));
  EXPECT_GE((*s)->compactedRevision(), 10);
  EXPECT_LE((*s)->currentRevision() - (*s)->compactedRevision(), 20);
}

// Checkpoints run on the store's own thread (wal_checkpointer.h): once the WAL passes 1,000
// pages, committed pages reach the database file although no write checkpoints inline (that
// happens only past 16,000 pages), and a reopened store reads every value back.
TEST_F(SqliteStoreTest, CheckpointsTheWalInTheBackground) {
  const std::string value(8192, 'x');  // kv row + log row: about 5 pages a write
  {
    auto s = openSqliteStore(db_, opts_);
    ASSERT_TRUE(s);
    for (int i = 0; i < 600; ++i) ASSERT_TRUE((*s)->create("/a/" + std::to_string(i), value));
    auto size = [&] { return std::filesystem::file_size(db_); };
    for (int i = 0; i < 500 && size() < 4u << 20; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_GE(size(), 4u << 20) << "the WAL's pages never reached the database file";
  }
  auto s = openSqliteStore(db_, opts_);
  ASSERT_TRUE(s);
  auto l = (*s)->list("/a/");
  ASSERT_TRUE(l);
  EXPECT_EQ(l->items.size(), 600u);
  EXPECT_EQ(l->items.front().value, value);
}

// An update's log row names the row holding its previous value (sqlite_store.cc); compaction
// copies that value in before it deletes the row. Replays after a compaction, also after a
// reopen, still carry every previous value.
TEST_F(SqliteStoreTest, ReplayAfterCompactionKeepsPreviousValues) {
  auto replay = [](Store& s, std::int64_t from) {
    std::vector<Event> out;
    auto w = s.watch("/k/", from, [&](const EventPtr& e) { out.push_back(*e); });
    EXPECT_TRUE(w) << w.error().message();
    return out;
  };
  std::int64_t first = 0;
  {
    auto s = openSqliteStore(db_, opts_);
    ASSERT_TRUE(s);
    auto a = (*s)->create("/k/a", "a1");
    ASSERT_TRUE(a);
    first = a->mod_revision;
    ASSERT_TRUE((*s)->update("/k/a", "a2", 0));  // its previous value: row `first`
    ASSERT_TRUE((*s)->create("/k/b", "b1"));
    ASSERT_TRUE((*s)->update("/k/a", "a3", 0));  // row first + 1
    ASSERT_TRUE((*s)->compact(first + 1));       // rows first and first + 1 go; "a2" is kept
    ASSERT_TRUE((*s)->update("/k/a", "a4", 0));  // row first + 3
    ASSERT_TRUE((*s)->remove("/k/b", 0));        // row first + 2
    auto ev = replay(**s, first + 1);
    ASSERT_EQ(ev.size(), 4u);
    EXPECT_EQ(ev[0].kv.value, "b1");
    EXPECT_FALSE(ev[0].prev_value.has_value());
    EXPECT_EQ(ev[1].kv.value, "a3");
    EXPECT_EQ(ev[1].prev_value.value_or("-"), "a2");
    EXPECT_EQ(ev[2].kv.value, "a4");
    EXPECT_EQ(ev[2].prev_value.value_or("-"), "a3");
    EXPECT_EQ(ev[3].type, EventType::Delete);
    EXPECT_EQ(ev[3].prev_value.value_or("-"), "b1");
  }
  auto s = openSqliteStore(db_, opts_);
  ASSERT_TRUE(s);
  ASSERT_TRUE((*s)->compact(first + 3));
  auto ev = replay(**s, first + 3);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].prev_value.value_or("-"), "a3");
  EXPECT_EQ(ev[1].prev_value.value_or("-"), "b1");
}

// A store whose log was written before `prev_rev` existed opens, replays its old rows' previous
// values and goes on writing.
TEST_F(SqliteStoreTest, OpensAStoreWithTheOlderLogSchema) {
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(db_.c_str(), &raw), SQLITE_OK);
    const char* sql =
        "PRAGMA journal_mode=WAL;"
        "CREATE TABLE kv(key TEXT PRIMARY KEY, value BLOB NOT NULL, create_rev INTEGER NOT NULL,"
        " mod_rev INTEGER NOT NULL) WITHOUT ROWID;"
        "CREATE TABLE log(rev INTEGER PRIMARY KEY, key TEXT NOT NULL, deleted INTEGER NOT NULL,"
        " value BLOB NOT NULL, create_rev INTEGER NOT NULL, prev_value BLOB);"
        "CREATE TABLE meta(name TEXT PRIMARY KEY, value INTEGER NOT NULL);"
        "INSERT INTO meta VALUES('rev', 2), ('compacted', 0);"
        // Keys and values are blobs, as the store binds them.
        "INSERT INTO kv VALUES(CAST('/k/a' AS BLOB), CAST('a2' AS BLOB), 1, 2);"
        "INSERT INTO log VALUES(1, CAST('/k/a' AS BLOB), 0, CAST('a1' AS BLOB), 1, NULL),"
        " (2, CAST('/k/a' AS BLOB), 0, CAST('a2' AS BLOB), 1, CAST('a1' AS BLOB));";
    ASSERT_EQ(sqlite3_exec(raw, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(raw);
    sqlite3_close(raw);
  }
  auto s = openSqliteStore(db_, opts_);
  ASSERT_TRUE(s) << s.error().message();
  ASSERT_TRUE((*s)->update("/k/a", "a3", 2));
  std::vector<Event> ev;
  auto w = (*s)->watch("/k/", 0, [&](const EventPtr& e) { ev.push_back(*e); });
  ASSERT_TRUE(w) << w.error().message();
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_FALSE(ev[0].prev_value.has_value());
  EXPECT_EQ(ev[1].prev_value.value_or("-"), "a1");
  EXPECT_EQ(ev[2].kv.value, "a3");
  EXPECT_EQ(ev[2].prev_value.value_or("-"), "a2");
}

}  // namespace
}  // namespace skiff::master::store::testing
