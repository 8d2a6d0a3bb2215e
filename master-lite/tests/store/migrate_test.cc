// skiff-master migrate's core against a real etcd on loopback (skipped without the etcd binary):
// every key copied with its value, revisions above the source's, nothing overwritten, bad
// sources refused before anything is written.
#include "skiff/master/store/migrate.h"

#include <gtest/gtest.h>

#include "skiff/common/testing/temp_dir.h"
#include "skiff/master/testing/etcd_cluster.h"

namespace skiff::master::store {
namespace {

using skiff::master::testing::EtcdCluster;

class MigrateTest : public ::testing::TestWithParam<EtcdTransport> {
 protected:
  void SetUp() override {
    if (std::string why = EtcdCluster::unavailable(); !why.empty()) GTEST_SKIP() << why;
    auto s = openSqliteStore(dir_.path() + "/store.db");
    ASSERT_TRUE(s) << s.error().message();
    sqlite_ = std::move(s).value();
    cluster_ = std::make_unique<EtcdCluster>(dir_.path() + "/etcd", 1);
  }
  void TearDown() override {
    sqlite_.reset();
    cluster_.reset();
  }
  EtcdOptions target() {
    EtcdOptions eo;
    eo.servers = cluster_->clientUrls();
    eo.transport = GetParam();
    return eo;
  }
  StorePtr openTarget(const std::string& prefix) {
    EtcdOptions eo = target();
    eo.prefix = prefix;
    eo.compaction_interval = std::chrono::milliseconds(0);
    auto s = cluster_->open(eo);
    EXPECT_TRUE(s) << s.error().message();
    return s ? std::move(s).value() : nullptr;
  }

  skiff::testing::TempDir dir_{"migrate"};  // first: removed after the stores
  StorePtr sqlite_;
  std::unique_ptr<EtcdCluster> cluster_;
};

TEST_P(MigrateTest, CopiesEveryKeyAboveTheSourcesRevisionAndOnlyOnce) {
  // 150 objects (more than one etcd transaction), some updated and one deleted, so the source's
  // revision (≈ 300) is far above a fresh etcd's.
  for (int i = 0; i < 150; ++i) {
    ASSERT_TRUE(sqlite_->create("/registry/configmaps/default/c" + std::to_string(i), "v0"));
  }
  for (int i = 0; i < 150; i += 2) {
    ASSERT_TRUE(sqlite_->update("/registry/configmaps/default/c" + std::to_string(i), "v1", 0));
  }
  ASSERT_TRUE(sqlite_->remove("/registry/configmaps/default/c149", 0));
  std::string big(300 * 1024, 'x');  // several batches by size as well
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(sqlite_->create("/registry/secrets/kube-system/big" + std::to_string(i), big));
  }
  std::int64_t source_rev = sqlite_->currentRevision();

  MigrateOptions mo;
  mo.to_prefix = "/skiff";  // --etcd-prefix /skiff: keys are moved under it
  auto r = migrateToEtcd(*sqlite_, target(), mo);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->objects, 154u);
  EXPECT_EQ(r->source_revision, source_rev);
  EXPECT_GT(r->first_revision, source_rev);

  auto etcd = openTarget("/skiff");
  ASSERT_TRUE(etcd);
  auto all = etcd->list("/skiff/");
  ASSERT_TRUE(all);
  ASSERT_EQ(all->items.size(), 154u);
  for (const KeyValue& kv : all->items) EXPECT_GT(kv.mod_revision, source_rev) << kv.key;
  EXPECT_EQ(etcd->get("/skiff/configmaps/default/c2")->value, "v1");
  EXPECT_EQ(etcd->get("/skiff/configmaps/default/c3")->value, "v0");
  EXPECT_FALSE(etcd->get("/skiff/configmaps/default/c149"));
  EXPECT_EQ(etcd->get("/skiff/secrets/kube-system/big4")->value, big);
  // c1 was last written before c0's update: the copy keeps that order.
  EXPECT_LE(etcd->get("/skiff/configmaps/default/c1")->mod_revision,
            etcd->get("/skiff/configmaps/default/c0")->mod_revision);
  // A watch from before the copy is Gone (clients relist once).
  auto w = etcd->watch("/skiff/", source_rev, [](const EventPtr&) {});
  ASSERT_FALSE(w);
  EXPECT_TRUE(w.error().is(ErrorCode::Gone));

  // Again into the same etcd: refused, nothing written.
  std::int64_t rev = etcd->currentRevision();
  auto again = migrateToEtcd(*sqlite_, target(), mo);
  ASSERT_FALSE(again);
  EXPECT_TRUE(again.error().is(ErrorCode::AlreadyExists)) << again.error().message();
  EXPECT_NE(again.error().message().find("154 keys under '/skiff/'"), std::string::npos)
      << again.error().message();
  EXPECT_EQ(openTarget("/skiff")->currentRevision(), rev);
}

TEST_P(MigrateTest, RefusesASourceItCannotCopyWholeBeforeWritingAnything) {
  ASSERT_TRUE(sqlite_->create("/registry/pods/default/p", "ok"));
  ASSERT_TRUE(sqlite_->create("/other/thing", "not under /registry"));
  auto r = migrateToEtcd(*sqlite_, target());
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(ErrorCode::Invalid)) << r.error().message();
  ASSERT_TRUE(sqlite_->remove("/other/thing", 0));
  ASSERT_TRUE(sqlite_->create("/registry/configmaps/default/huge", std::string(2 << 20, 'x')));
  r = migrateToEtcd(*sqlite_, target());
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(ErrorCode::TooLarge)) << r.error().message();
  auto etcd = openTarget("/registry");
  ASSERT_TRUE(etcd);
  EXPECT_TRUE(etcd->list("/registry/")->items.empty());
}

INSTANTIATE_TEST_SUITE_P(Transports, MigrateTest,
                         ::testing::Values(EtcdTransport::Gateway, EtcdTransport::Grpc),
                         [](const auto& p) { return std::string(etcdTransportName(p.param)); });

}  // namespace
}  // namespace skiff::master::store
