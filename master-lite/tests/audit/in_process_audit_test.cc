// In-process calls in the audit log, as kube-apiserver records the requests of
// kube-controller-manager and its own loopback client: a controller's create, a refused call
// (403, decision forbid) and a watch (ResponseStarted, then ResponseComplete when it stops).
#include <gtest/gtest.h>

#include "collected_audit.h"
#include "skiff/master/api/handler.h"
#include "skiff/master/audit/auditor.h"

namespace skiff::master::audit {
namespace {

using json = nlohmann::json;

class InProcessAuditTest : public AuditedRegistryFixture {
 protected:
  void setUpRegistry() override {
    startAuditor(
        R"({"apiVersion":"audit.k8s.io/v1","kind":"Policy","omitStages":["RequestReceived"],
            "rules":[{"level":"Request","resources":[{"resources":["configmaps"]}]},
                     {"level":"None"}]})");
  }
};

const GroupVersionResource kConfigMaps{"", "v1", "configmaps"};

TEST_F(InProcessAuditTest, AControllersCallIsAuditedAsItsRequest) {
  auto client = api::newInProcessClient(*reg_, api::apiServerIdentity(), auditor_.get());
  json cm = {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "a"}}}};
  ASSERT_TRUE(client->create(kConfigMaps, "default", cm));
  ASSERT_TRUE(client->get(kConfigMaps, "default", "a"));
  auto ev = events();
  ASSERT_EQ(ev.size(), 2u);
  const json& c = ev[0];
  expectFields(c, {{"/stage", "ResponseComplete"},
                   {"/level", "Request"},
                   {"/verb", "create"},
                   {"/requestURI", "/api/v1/namespaces/default/configmaps"},
                   {"/user/username", "system:apiserver"},
                   {"/sourceIPs", json::array({"127.0.0.1"})},
                   {"/objectRef/name", "a"},
                   {"/responseStatus/code", 201},
                   {"/requestObject/metadata/name", "a"},
                   {"/annotations/authorization.k8s.io~1decision", "allow"}});
  EXPECT_EQ(c["userAgent"].get<std::string>().rfind("kube-apiserver/v1.", 0), 0u);
  EXPECT_EQ(ev[1]["verb"], "get");
  EXPECT_EQ(ev[1]["requestURI"], "/api/v1/namespaces/default/configmaps/a");
  EXPECT_EQ(ev[1]["responseStatus"]["code"], 200);
  EXPECT_NE(c["auditID"], ev[1]["auditID"]);
}

TEST_F(InProcessAuditTest, ARefusedCallIsAuditedAs403) {
  // A controller identity with no role for ConfigMaps in kube-public.
  auto client =
      api::newInProcessClient(*reg_, api::componentIdentity("ttl-controller"), auditor_.get());
  json cm = {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "b"}}}};
  auto r = client->create(kConfigMaps, "kube-public", cm);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(ErrorCode::Forbidden)) << r.error().message();
  auto ev = events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0]["user"]["username"], "system:serviceaccount:kube-system:ttl-controller");
  EXPECT_NE(ev[0]["userAgent"].get<std::string>().find("/ttl-controller"), std::string::npos);
  EXPECT_EQ(ev[0]["responseStatus"]["code"], 403);
  EXPECT_EQ(ev[0]["annotations"]["authorization.k8s.io/decision"], "forbid");
}

TEST_F(InProcessAuditTest, AWatchEndsItsRecordWhenItStops) {
  auto client = api::newInProcessClient(*reg_, api::apiServerIdentity(), auditor_.get());
  auto w = client->watch(kConfigMaps, "default", {}, [](const WatchEvent&) {});
  ASSERT_TRUE(w);
  auto started = events();
  ASSERT_EQ(started.size(), 1u);
  EXPECT_EQ(started[0]["stage"], "ResponseStarted");
  EXPECT_EQ(started[0]["verb"], "watch");
  EXPECT_EQ(started[0]["requestURI"], "/api/v1/namespaces/default/configmaps?watch=true");
  (*w)->stop();
  auto all = events();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1]["stage"], "ResponseComplete");
  EXPECT_EQ(all[1]["auditID"], started[0]["auditID"]);
}

}  // namespace
}  // namespace skiff::master::audit
