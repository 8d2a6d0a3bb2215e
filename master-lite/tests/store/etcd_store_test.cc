// The Store conformance suite against a real etcd (one member, and three on three loopback
// ports), started by the test in its temporary directory, through each transport (gRPC and the
// JSON gateway); plus what only etcd has: several stores on one etcd, member loss, and the
// client's input checks.
#include <map>

#include "etcd_client.h"
#include "skiff/master/testing/etcd_cluster.h"
#include "store_conformance.h"

namespace skiff::master::store::testing {
namespace {

using skiff::master::testing::EtcdCluster;

// One cluster per conformance directory: make() again with the same dir reopens (a new store on
// the same etcd); clusters whose directory the fixture removed are stopped on the next make().
template <int Members, EtcdTransport Transport>
struct EtcdFactory {
  static std::string unavailable() { return EtcdCluster::unavailable(); }
  static StorePtr make(const std::string& dir, const Options& options) {
    auto& all = clusters();
    std::erase_if(all, [](const auto& e) { return !std::filesystem::exists(e.first); });
    auto it = all.find(dir);
    if (it == all.end()) it = all.emplace(dir, std::make_unique<EtcdCluster>(dir, Members)).first;
    EtcdOptions eo;
    eo.transport = Transport;
    eo.prefix = "/";
    eo.compaction_interval = std::chrono::milliseconds(0);
    auto s = it->second->open(eo, options);
    if (!s) ADD_FAILURE() << s.error().message();
    return s ? std::move(s).value() : nullptr;
  }
  static std::map<std::string, std::unique_ptr<EtcdCluster>>& clusters() {
    static std::map<std::string, std::unique_ptr<EtcdCluster>> m;
    return m;
  }
};

using Etcd1 = EtcdFactory<1, EtcdTransport::Gateway>;
using Etcd3 = EtcdFactory<3, EtcdTransport::Gateway>;
using Etcd1Grpc = EtcdFactory<1, EtcdTransport::Grpc>;
using Etcd3Grpc = EtcdFactory<3, EtcdTransport::Grpc>;
INSTANTIATE_TYPED_TEST_SUITE_P(Etcd1, StoreConformance, ::testing::Types<Etcd1>);
INSTANTIATE_TYPED_TEST_SUITE_P(Etcd3, StoreConformance, ::testing::Types<Etcd3>);
INSTANTIATE_TYPED_TEST_SUITE_P(Etcd1Grpc, StoreConformance, ::testing::Types<Etcd1Grpc>);
INSTANTIATE_TYPED_TEST_SUITE_P(Etcd3Grpc, StoreConformance, ::testing::Types<Etcd3Grpc>);

class EtcdStoreTest : public ::testing::TestWithParam<EtcdTransport> {
 protected:
  void SetUp() override {
    if (std::string why = EtcdCluster::unavailable(); !why.empty()) GTEST_SKIP() << why;
    char tmpl[] = "/tmp/skiff-etcd-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    cluster_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  StorePtr open(int members, EtcdOptions eo = {}) {
    if (!cluster_) cluster_ = std::make_unique<EtcdCluster>(dir_, members);
    eo.transport = GetParam();
    eo.compaction_interval = std::chrono::milliseconds(0);
    auto s = cluster_->open(eo);
    EXPECT_TRUE(s) << s.error().message();
    return s ? std::move(s).value() : nullptr;
  }
  std::string dir_;
  std::unique_ptr<EtcdCluster> cluster_;
};

// Two masters on one etcd: a write through one reaches the other's watches, and each sees the
// other's conflicts.
TEST_P(EtcdStoreTest, TwoStoresOnOneEtcdSeeEachOthersWrites) {
  auto a = open(1);
  auto b = open(1);
  ASSERT_TRUE(a && b);
  WatchRecorder rec;
  auto w = b->watch("/registry/configmaps/", b->currentRevision(), rec.handler());
  ASSERT_TRUE(w);
  auto c = a->create("/registry/configmaps/default/x", "1");
  ASSERT_TRUE(c);
  EXPECT_EQ(rec.waitFor(1).size(), 1u);
  auto dup = b->create("/registry/configmaps/default/x", "2");
  ASSERT_FALSE(dup);
  EXPECT_TRUE(dup.error().is(ErrorCode::AlreadyExists));
  ASSERT_TRUE(b->update("/registry/configmaps/default/x", "3", c->mod_revision));
  auto stale = a->update("/registry/configmaps/default/x", "4", c->mod_revision);
  ASSERT_FALSE(stale);
  EXPECT_TRUE(stale.error().is(ErrorCode::Conflict));
  EXPECT_EQ(a->get("/registry/configmaps/default/x")->value, "3");
  EXPECT_EQ(rec.waitFor(2).size(), 2u);
}

// Stopping the member a store talks to: reads, writes and the watch go on through the others.
TEST_P(EtcdStoreTest, WritesAndWatchSurviveLossOfOneMember) {
  auto s = open(3);
  ASSERT_TRUE(s);
  WatchRecorder rec;
  auto w = s->watch("/registry/", s->currentRevision(), rec.handler());
  ASSERT_TRUE(w);
  ASSERT_TRUE(s->create("/registry/pods/default/a", "a"));
  cluster_->kill9(0);
  Result<KeyValue> b = Error(ErrorCode::Internal, "not tried");
  for (int i = 0; i < 100 && !b; ++i) {
    b = s->create("/registry/pods/default/b", "b");
    if (!b && b.error().is(ErrorCode::AlreadyExists)) b = s->get("/registry/pods/default/b");
    if (!b) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(b) << b.error().message();
  EXPECT_EQ(s->list("/registry/pods/")->items.size(), 2u);
  EXPECT_EQ(rec.waitFor(2).size(), 2u);
  std::lock_guard l(rec.mu);
  EXPECT_EQ(rec.events.back().kv.key, "/registry/pods/default/b");
}

// With two of three members gone there is no quorum: a write fails with a clear error within
// the request timeout instead of hanging, and works again when a member returns.
TEST_P(EtcdStoreTest, WritesFailClearlyWithoutQuorumAndRecover) {
  EtcdOptions eo;
  eo.request_timeout = std::chrono::milliseconds(2000);
  auto s = open(3, eo);
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->create("/registry/pods/default/a", "a"));
  cluster_->stop(1);
  cluster_->stop(2);
  auto t0 = std::chrono::steady_clock::now();
  auto r = s->create("/registry/pods/default/b", "b");
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(ErrorCode::Timeout) || r.error().is(ErrorCode::Unavailable))
      << r.error().message();
  EXPECT_LT(took, std::chrono::seconds(10));
  cluster_->restart(1);
  Result<KeyValue> again = Error(ErrorCode::Internal, "not tried");
  for (int i = 0; i < 150 && !again; ++i) {
    again = s->create("/registry/pods/default/c", "c");
    if (!again && again.error().is(ErrorCode::AlreadyExists)) break;
    if (!again) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(s->get("/registry/pods/default/c")) << "no write after quorum came back";
}

TEST_P(EtcdStoreTest, KeyNamespaceKeepsStoresApart) {
  EtcdOptions eo;
  eo.key_namespace = "/tenant-a";
  auto a = open(1, eo);
  auto plain = open(1);
  ASSERT_TRUE(a && plain);
  ASSERT_TRUE(a->create("/registry/pods/default/x", "1"));
  EXPECT_TRUE(plain->get("/registry/pods/default/x").error().is(ErrorCode::NotFound));
  EXPECT_TRUE(plain->get("/tenant-a/registry/pods/default/x"));
  auto l = a->list("/registry/");
  ASSERT_TRUE(l);
  ASSERT_EQ(l->items.size(), 1u);
  EXPECT_EQ(l->items[0].key, "/registry/pods/default/x");
}

INSTANTIATE_TEST_SUITE_P(Transports, EtcdStoreTest,
                         ::testing::Values(EtcdTransport::Gateway, EtcdTransport::Grpc),
                         [](const auto& p) { return std::string(etcdTransportName(p.param)); });

TEST(EtcdClientTest, EndpointsAreCheckedBeforeUse) {
  EXPECT_TRUE(parseEtcdEndpoint("http://127.0.0.1:2379"));
  auto tls = parseEtcdEndpoint("https://etcd-a.example:2379");
  ASSERT_TRUE(tls);
  EXPECT_TRUE(tls->tls);
  EXPECT_EQ(tls->host, "etcd-a.example");
  EXPECT_EQ(parseEtcdEndpoint("http://[::1]:2380")->host, "::1");
  EXPECT_EQ(parseEtcdEndpoint("http://h")->port, "2379");
  for (const char* bad :
       {"127.0.0.1:2379", "ftp://a:1", "http://a:port", "http://", "http://a:1/x"}) {
    auto r = parseEtcdEndpoint(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_TRUE(r.error().is(ErrorCode::Invalid));
  }
  EtcdOptions eo;
  eo.servers = {"http://127.0.0.1:1"};
  eo.cert_file = "/x.crt";
  auto half = openEtcdStore(eo);
  ASSERT_FALSE(half);
  EXPECT_NE(half.error().message().find("--etcd-keyfile"), std::string::npos);
}

}  // namespace
}  // namespace skiff::master::store::testing
