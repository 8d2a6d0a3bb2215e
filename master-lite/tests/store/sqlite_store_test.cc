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

}  // namespace
}  // namespace skiff::master::store::testing
