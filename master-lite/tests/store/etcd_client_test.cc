// The etcd client itself, through each transport, against a real one-member etcd on loopback
// (skipped without the etcd binary): both give the gateway's JSON, compaction is Gone, leases,
// watch streams and their close(), client TLS, and a member that is not there.
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "etcd_client.h"
#include "skiff/common/base64.h"
#include "skiff/common/testing/temp_dir.h"
#include "skiff/master/testing/etcd_cluster.h"

namespace skiff::master::store {
namespace {

using json = nlohmann::json;
using skiff::master::testing::EtcdCluster;

class EtcdClientTest : public ::testing::TestWithParam<EtcdTransport> {
 protected:
  void SetUp() override {
    if (std::string why = EtcdCluster::unavailable(); !why.empty()) GTEST_SKIP() << why;
    cluster_ = std::make_unique<EtcdCluster>(dir_.path() + "/etcd", 1);
    client_ = open(GetParam());
    // The first answer waits for the member to elect itself.
    Result<json> r = Error(ErrorCode::Internal, "not tried");
    for (int i = 0; i < 200 && !r; ++i) {
      r = client_->call("/v3/kv/range", {{"key", base64Encode("/")}}, true);
      if (!r) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_TRUE(r) << r.error().message();
  }
  std::unique_ptr<EtcdClient> open(EtcdTransport t) {
    EtcdClientOptions o;
    o.servers = cluster_->clientUrls();
    o.transport = t;
    o.request_timeout = std::chrono::milliseconds(3000);
    auto c = newEtcdClient(o);
    EXPECT_TRUE(c) << c.error().message();
    return c ? std::move(c).value() : nullptr;
  }
  std::int64_t put(const std::string& key, const std::string& value, std::int64_t lease = 0) {
    json req = {{"key", base64Encode(key)}, {"value", base64Encode(value)}};
    if (lease != 0) req["lease"] = std::to_string(lease);
    auto r = client_->call("/v3/kv/put", req, false);
    EXPECT_TRUE(r) << r.error().message();
    return r ? etcdHeaderRevision(*r) : 0;
  }

  skiff::testing::TempDir dir_{"etcd-client"};  // first: removed after the cluster
  std::unique_ptr<EtcdCluster> cluster_;
  std::unique_ptr<EtcdClient> client_;
};

// The store reads one JSON shape whichever transport carries it: the gateway's.
TEST_P(EtcdClientTest, RepliesAreTheGatewaysJson) {
  put("/a", "1");
  put("/b", std::string("\0\xff", 2));
  json req = {{"key", base64Encode("/")}, {"range_end", base64Encode("0")}};
  auto mine = client_->call("/v3/kv/range", req, true);
  auto gateway = open(EtcdTransport::Gateway)->call("/v3/kv/range", req, true);
  ASSERT_TRUE(mine && gateway);
  EXPECT_EQ(*mine, *gateway);
  EXPECT_EQ((*mine)["kvs"][1]["value"], base64Encode(std::string("\0\xff", 2)));
  EXPECT_TRUE((*mine)["kvs"][0]["mod_revision"].is_string());
  EXPECT_FALSE(mine->contains("more"));  // zero values are omitted, as the gateway does
}

TEST_P(EtcdClientTest, CompactedRevisionsAreGone) {
  std::int64_t first = put("/k", "1");
  std::int64_t second = put("/k", "2");
  ASSERT_TRUE(client_->call("/v3/kv/compaction", {{"revision", std::to_string(second)}}, true));
  auto old = client_->call(
      "/v3/kv/range", {{"key", base64Encode("/k")}, {"revision", std::to_string(first)}}, true);
  ASSERT_FALSE(old);
  EXPECT_TRUE(old.error().is(ErrorCode::Gone)) << old.error().message();
  auto again = client_->call("/v3/kv/compaction", {{"revision", std::to_string(first)}}, true);
  ASSERT_FALSE(again);
  EXPECT_TRUE(again.error().is(ErrorCode::Gone)) << again.error().message();

  auto w = client_->watch({{"key", base64Encode("/k")}, {"start_revision", std::to_string(first)}});
  ASSERT_TRUE(w) << w.error().message();
  std::int64_t compact = 0;
  for (int i = 0; i < 3 && compact == 0; ++i) {
    auto r = (*w)->next();
    ASSERT_TRUE(r) << r.error().message();
    compact = etcdInt(*r, "compact_revision");
  }
  EXPECT_EQ(compact, second);
}

TEST_P(EtcdClientTest, LeasedKeysGoWithTheirLease) {
  auto grant = client_->call("/v3/lease/grant", {{"TTL", "60"}}, false);
  ASSERT_TRUE(grant) << grant.error().message();
  std::int64_t id = etcdInt(*grant, "ID");
  ASSERT_NE(id, 0);
  EXPECT_EQ(etcdInt(*grant, "TTL"), 60);
  put("/leased", "x", id);
  auto got = client_->call("/v3/kv/range", {{"key", base64Encode("/leased")}}, true);
  ASSERT_TRUE(got);
  EXPECT_EQ(etcdInt((*got)["kvs"][0], "lease"), id);
  ASSERT_TRUE(client_->call("/v3/lease/revoke", {{"ID", std::to_string(id)}}, false));
  got = client_->call("/v3/kv/range", {{"key", base64Encode("/leased")}}, true);
  ASSERT_TRUE(got);
  EXPECT_FALSE(got->contains("kvs"));
}

TEST_P(EtcdClientTest, WatchDeliversEventsAndCloseUnblocksNext) {
  auto w = client_->watch(
      {{"key", base64Encode("/w/")}, {"range_end", base64Encode("/w0")}, {"prev_kv", true}});
  ASSERT_TRUE(w) << w.error().message();
  auto created = (*w)->next();
  ASSERT_TRUE(created) << created.error().message();
  EXPECT_TRUE(created->value("created", false));
  put("/w/x", "1");
  put("/w/x", "2");
  std::vector<json> events;
  while (events.size() < 2) {
    auto r = (*w)->next();
    ASSERT_TRUE(r) << r.error().message();
    for (const auto& e : (*r)["events"]) events.push_back(e);
  }
  EXPECT_FALSE(events[0].contains("type"));  // PUT is the zero value
  EXPECT_EQ(events[1]["prev_kv"]["value"], base64Encode("1"));

  std::thread closer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    (*w)->close();
  });
  auto blocked = (*w)->next();  // nothing more comes: only close() ends this
  closer.join();
  ASSERT_FALSE(blocked);
  EXPECT_TRUE(blocked.error().is(ErrorCode::Cancelled)) << blocked.error().message();
}

INSTANTIATE_TEST_SUITE_P(Transports, EtcdClientTest,
                         ::testing::Values(EtcdTransport::Gateway, EtcdTransport::Grpc),
                         [](const auto& p) { return std::string(etcdTransportName(p.param)); });

// The files README's several-masters setup makes with openssl: a CA, the member's pair (its
// address as subjectAltName, no extendedKeyUsage: etcd's gateway dials the member's own gRPC
// with it as a client certificate) and a client pair. Empty on success, else the failure.
std::string makeTlsFiles(const std::string& d) {
  std::string script =
      "set -e; cd '" + d +
      "';"
      "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2"
      "  -subj /CN=etcd-ca;"
      "for n in etcd client; do"
      "  openssl req -new -newkey rsa:2048 -nodes -keyout $n.key -out $n.csr -subj /CN=$n;"
      "  echo subjectAltName=IP:127.0.0.1 > $n.ext;"
      "  openssl x509 -req -in $n.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2"
      "    -extfile $n.ext -out $n.crt;"
      "done";
  std::ofstream(d + "/make-tls.sh") << script;
  int rc = std::system(("bash '" + d + "/make-tls.sh' >'" + d + "/openssl.log' 2>&1").c_str());
  return rc == 0 ? "" : "openssl failed, see " + d + "/openssl.log";
}

// etcd serving https with --client-cert-auth, as README's several-masters setup has it: the
// client verifies the member against --etcd-cafile and presents --etcd-certfile/--etcd-keyfile.
class EtcdClientTlsTest : public ::testing::TestWithParam<EtcdTransport> {
 protected:
  void SetUp() override {
    if (std::string why = EtcdCluster::unavailable(); !why.empty()) GTEST_SKIP() << why;
    ASSERT_EQ(makeTlsFiles(dir_.path()), "");
    testing::EtcdClusterTls tls{file("etcd.crt"), file("etcd.key"), file("ca.crt")};
    cluster_ = std::make_unique<EtcdCluster>(dir_.path() + "/etcd", 1, &tls);
  }
  std::string file(const char* name) { return dir_.path() + "/" + name; }
  EtcdOptions options() {
    EtcdOptions eo;
    eo.transport = GetParam();
    eo.ca_file = file("ca.crt");
    eo.cert_file = file("client.crt");
    eo.key_file = file("client.key");
    eo.compaction_interval = std::chrono::milliseconds(0);
    eo.request_timeout = std::chrono::milliseconds(2000);
    return eo;
  }

  skiff::testing::TempDir dir_{"etcd-tls"};
  std::unique_ptr<EtcdCluster> cluster_;
};

TEST_P(EtcdClientTlsTest, StoreWorksOverClientTls) {
  auto s = cluster_->open(options());
  ASSERT_TRUE(s) << s.error().message();
  ASSERT_TRUE((*s)->create("/registry/pods/default/a", "a"));
  EXPECT_EQ((*s)->get("/registry/pods/default/a")->value, "a");
}

TEST_P(EtcdClientTlsTest, MemberRefusesAClientWithoutCertificate) {
  ASSERT_TRUE(cluster_->open(options()));  // up and serving
  EtcdOptions eo = options();
  eo.servers = cluster_->clientUrls();
  eo.cert_file.clear();
  eo.key_file.clear();
  auto s = openEtcdStore(eo);
  ASSERT_FALSE(s);
  EXPECT_TRUE(s.error().is(ErrorCode::Unavailable) || s.error().is(ErrorCode::Timeout))
      << s.error().message();
}

INSTANTIATE_TEST_SUITE_P(Transports, EtcdClientTlsTest,
                         ::testing::Values(EtcdTransport::Gateway, EtcdTransport::Grpc),
                         [](const auto& p) { return std::string(etcdTransportName(p.param)); });

class EtcdClientUnreachableTest : public ::testing::TestWithParam<EtcdTransport> {};

TEST_P(EtcdClientUnreachableTest, NoMemberListeningIsUnavailable) {
  EtcdOptions eo;
  eo.transport = GetParam();
  eo.servers = {"http://127.0.0.1:" + std::to_string(skiff::master::testing::freeLoopbackPort())};
  eo.request_timeout = std::chrono::milliseconds(1000);
  auto s = openEtcdStore(eo);
  ASSERT_FALSE(s);
  EXPECT_TRUE(s.error().is(ErrorCode::Unavailable)) << s.error().message();
  EXPECT_NE(s.error().message().find("connection refused"), std::string::npos)
      << s.error().message();
}

INSTANTIATE_TEST_SUITE_P(Transports, EtcdClientUnreachableTest,
                         ::testing::Values(EtcdTransport::Gateway, EtcdTransport::Grpc),
                         [](const auto& p) { return std::string(etcdTransportName(p.param)); });

}  // namespace
}  // namespace skiff::master::store
