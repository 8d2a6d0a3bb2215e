#include "skiff/agent/dns/record_index.h"

#include <gtest/gtest.h>

#include "dns_test_util.h"

namespace skiff::agent::dns {
namespace {

using namespace testing;

std::shared_ptr<const RecordIndex> sample() {
  std::vector<json> svcs = {
      service("default", "kubernetes", "10.96.0.1",
              json::array({{{"name", "https"}, {"port", 443}}})),
      service("default", "web", "10.96.5.5",
              json::array({{{"name", "http"}, {"port", 80}, {"protocol", "TCP"}}, {{"port", 81}}})),
      service("db", "pg", "None"),
      externalName("default", "ext", "Example.COM."),
  };
  std::vector<json> slices = {
      slice("db", "pg",
            json::array({endpoint("10.244.1.5", true, "pg-0"), endpoint("10.244.2.6", true, "pg-1"),
                         endpoint("10.244.2.7", false, "pg-2"), endpoint("10.244.3.8")}),
            json::array({{{"name", "sql"}, {"port", 5432}, {"protocol", "TCP"}}})),
      slice("default", "web", json::array({endpoint("10.244.9.9")})),
  };
  return RecordIndex::build(svcs, slices, "cluster.local.");
}

TEST(RecordIndexTest, ClusterIpServiceHasOneARecordAndPtr) {
  auto idx = sample();
  const NameRecords* r = idx->find("web.default.svc.cluster.local");
  ASSERT_NE(r, nullptr);
  ASSERT_EQ(r->a.size(), 1u);
  EXPECT_EQ(r->a[0], (std::array<std::uint8_t, 4>{10, 96, 5, 5}));
  const NameRecords* ptr = idx->find("5.5.96.10.in-addr.arpa");
  ASSERT_NE(ptr, nullptr);
  EXPECT_EQ(ptr->ptr, std::vector<std::string>{"web.default.svc.cluster.local"});
  // ClusterIP Services publish no endpoint names.
  EXPECT_EQ(idx->find("10-244-9-9.web.default.svc.cluster.local"), nullptr);
}

TEST(RecordIndexTest, SrvOnlyForNamedPorts) {
  auto idx = sample();
  const NameRecords* r = idx->find("_http._tcp.web.default.svc.cluster.local");
  ASSERT_NE(r, nullptr);
  ASSERT_EQ(r->srv.size(), 1u);
  EXPECT_EQ(r->srv[0].port, 80);
  EXPECT_EQ(r->srv[0].target, "web.default.svc.cluster.local");
  EXPECT_EQ(idx->find("_81._tcp.web.default.svc.cluster.local"), nullptr);
  EXPECT_TRUE(idx->exists("_tcp.web.default.svc.cluster.local"));  // empty non-terminal
}

TEST(RecordIndexTest, HeadlessServiceListsReadyEndpointsByHostnameOrDashedIp) {
  auto idx = sample();
  const NameRecords* r = idx->find("pg.db.svc.cluster.local");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->a.size(), 3u);  // pg-2 is not ready
  ASSERT_NE(idx->find("pg-0.pg.db.svc.cluster.local"), nullptr);
  ASSERT_NE(idx->find("pg-1.pg.db.svc.cluster.local"), nullptr);
  EXPECT_EQ(idx->find("pg-2.pg.db.svc.cluster.local"), nullptr);
  ASSERT_NE(idx->find("10-244-3-8.pg.db.svc.cluster.local"), nullptr);
  const NameRecords* srv = idx->find("_sql._tcp.pg.db.svc.cluster.local");
  ASSERT_NE(srv, nullptr);
  ASSERT_EQ(srv->srv.size(), 3u);
  EXPECT_EQ(srv->srv[0].port, 5432);
  EXPECT_EQ(srv->srv[0].weight, 33);
  const NameRecords* ptr = idx->find("5.1.244.10.in-addr.arpa");
  ASSERT_NE(ptr, nullptr);
  EXPECT_EQ(ptr->ptr, std::vector<std::string>{"pg-0.pg.db.svc.cluster.local"});
}

TEST(RecordIndexTest, PublishNotReadyAddressesIncludesNotReadyEndpoints) {
  json svc = service("db", "pg", "None");
  svc["spec"]["publishNotReadyAddresses"] = true;
  std::vector<json> svcs{svc};
  std::vector<json> slices;
  slices.push_back(slice("db", "pg", json::array({endpoint("10.1.1.1", false)})));
  auto idx = RecordIndex::build(svcs, slices, "cluster.local");
  ASSERT_NE(idx->find("pg.db.svc.cluster.local"), nullptr);
  EXPECT_EQ(idx->find("pg.db.svc.cluster.local")->a.size(), 1u);
}

TEST(RecordIndexTest, ExternalNameIsACanonicalCname) {
  auto idx = sample();
  const NameRecords* r = idx->find("ext.default.svc.cluster.local");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->cname, "example.com");
}

TEST(RecordIndexTest, ZoneNonTerminalsAndVersion) {
  auto idx = sample();
  EXPECT_TRUE(idx->exists("cluster.local"));
  EXPECT_TRUE(idx->exists("svc.cluster.local"));
  EXPECT_TRUE(idx->exists("db.svc.cluster.local"));
  EXPECT_FALSE(idx->exists("nosuch.svc.cluster.local"));
  EXPECT_TRUE(idx->inZone("a.b.cluster.local"));
  EXPECT_FALSE(idx->inZone("xcluster.local"));
  EXPECT_FALSE(idx->inZone("example.com"));
  ASSERT_NE(idx->find("dns-version.cluster.local"), nullptr);
  EXPECT_EQ(idx->find("dns-version.cluster.local")->txt, "1.1.0");
  EXPECT_EQ(idx->services(), 4u);
}

TEST(RecordIndexTest, ObjectsWithoutNamesAreSkippedNotFatal) {
  auto idx = RecordIndex::build({json::object(), json{{"metadata", 3}}}, {json::object()},
                                "cluster.local");
  EXPECT_EQ(idx->skipped(), 2u);
  EXPECT_EQ(idx->services(), 0u);
}

TEST(RecordIndexTest, ReverseNames) {
  EXPECT_EQ(reverseName("10.96.0.10"), "10.0.96.10.in-addr.arpa");
  EXPECT_EQ(reverseName("::1").substr(0, 4), "1.0.");
  EXPECT_EQ(reverseName("nope"), "");
  EXPECT_EQ(canonicalName("Foo.Bar."), "foo.bar");
}

}  // namespace
}  // namespace skiff::agent::dns
