#include <chrono>
#include <thread>

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

TEST(SqliteStoreTest, CompactsAutomaticallyBeyondRetainWindow) {
  char tmpl[] = "/tmp/skiff-store-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  Options o;
  o.retain_revisions = 10;
  o.fsync_every_write = false;
  auto s = openSqliteStore(std::string(tmpl) + "/db", o);
  ASSERT_TRUE(s);
  for (int i = 0; i < 25; ++i) ASSERT_TRUE((*s)->create("/a/" + std::to_string(i), "v"));
  EXPECT_GE((*s)->compactedRevision(), 10);
  EXPECT_LE((*s)->currentRevision() - (*s)->compactedRevision(), 20);
  std::filesystem::remove_all(tmpl);
}

// Checkpoints run on the store's own thread (wal_checkpointer.h): once the WAL passes 1,000
// pages, committed pages reach the database file although no write checkpoints inline (that
// happens only past 16,000 pages), and a reopened store reads every value back.
TEST(SqliteStoreTest, CheckpointsTheWalInTheBackground) {
  char tmpl[] = "/tmp/skiff-store-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string db = std::string(tmpl) + "/db";
  Options o;
  o.fsync_every_write = false;
  const std::string value(8192, 'x');  // kv row + log row: about 5 pages a write
  {
    auto s = openSqliteStore(db, o);
    ASSERT_TRUE(s);
    for (int i = 0; i < 600; ++i) ASSERT_TRUE((*s)->create("/a/" + std::to_string(i), value));
    auto size = [&] { return std::filesystem::file_size(db); };
    for (int i = 0; i < 500 && size() < 4u << 20; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_GE(size(), 4u << 20) << "the WAL's pages never reached the database file";
  }
  auto s = openSqliteStore(db, o);
  ASSERT_TRUE(s);
  auto l = (*s)->list("/a/");
  ASSERT_TRUE(l);
  EXPECT_EQ(l->items.size(), 600u);
  EXPECT_EQ(l->items.front().value, value);
  std::filesystem::remove_all(tmpl);
}

}  // namespace
}  // namespace skiff::master::store::testing
