// The auditor: which stages are written for a request, what each level carries, annotations
// from authorization and admission, and a watch's ResponseComplete when its stream ends.
#include "skiff/master/audit/auditor.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "collected_audit.h"
#include "skiff/master/api/empty_response_stream.h"

namespace skiff::master::audit {
namespace {

using json = nlohmann::json;

class AuditorTest : public ::testing::Test, protected CollectedAudit {
 protected:
  void make(const char* policy) {
    startAuditor(policy,
                 [] { return std::chrono::system_clock::time_point(std::chrono::seconds(1)); });
  }
  api::HttpRequest createPod() {
    api::HttpRequest r;
    r.method = "POST";
    r.target = "/api/v1/namespaces/default/pods?fieldManager=kubectl-run";
    r.headers = {{"user-agent", "kubectl/v1.32.0"}, {"x-forwarded-for", "10.0.0.9"}};
    r.body = R"({"kind":"Pod","apiVersion":"v1","metadata":{"name":"web"},"spec":{}})";
    r.remote_addr = "127.0.0.1";
    return r;
  }
  api::RequestAuditInfo info(const std::string& verb) {
    api::RequestAuditInfo i;
    i.audit_id = "id-1";
    i.user = {"alice", {"dev", "system:authenticated"}};
    i.verb = verb;
    i.resource_request = true;
    i.api_version = "v1";
    i.resource = "pods";
    i.ns = "default";
    i.path = "/api/v1/namespaces/default/pods";
    return i;
  }
};

TEST_F(AuditorTest, MetadataCreateWritesReceivedAndComplete) {
  make(R"({"apiVersion":"audit.k8s.io/v1","kind":"Policy","rules":[{"level":"Metadata"}]})");
  api::HttpRequest req = createPod();
  api::RequestAuditInfo i = info("create");
  auto rec = auditor_->begin(req, i);
  ASSERT_NE(rec, nullptr);
  i.authz_decision = "allow";
  i.notes.audit_annotations["pod-security.kubernetes.io/enforce-policy"] = "privileged:latest";
  api::HttpResponse resp;
  resp.status = 201;
  resp.body = req.body;
  rec->finish(i, resp);
  auto ev = events();
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0]["stage"], "RequestReceived");
  EXPECT_FALSE(ev[0].contains("annotations"));
  EXPECT_FALSE(ev[0].contains("responseStatus"));
  const json& done = ev[1];
  expectFields(
      done,
      {{"/stage", "ResponseComplete"},
       {"/level", "Metadata"},
       {"/auditID", "id-1"},
       {"/verb", "create"},
       {"/user/username", "alice"},
       {"/sourceIPs", json{"10.0.0.9", "127.0.0.1"}},
       {"/userAgent", "kubectl/v1.32.0"},
       {"/objectRef",
        json{
            {"resource", "pods"}, {"namespace", "default"}, {"name", "web"}, {"apiVersion", "v1"}}},
       {"/responseStatus", json{{"metadata", json::object()}, {"code", 201}}},
       {"/annotations/authorization.k8s.io~1decision", "allow"},
       {"/annotations/authorization.k8s.io~1reason", ""},
       {"/annotations/pod-security.kubernetes.io~1enforce-policy", "privileged:latest"},
       {"/requestReceivedTimestamp", "1970-01-01T00:00:01.000000Z"}});
  EXPECT_FALSE(done.contains("requestObject"));
  EXPECT_FALSE(done.contains("responseObject"));
}

TEST_F(AuditorTest, LevelsDecideTheBodies) {
  make(R"({"apiVersion":"audit.k8s.io/v1","kind":"Policy","omitStages":["RequestReceived"],
           "rules":[{"level":"None","resources":[{"group":"","resources":["events"]}]},
                    {"level":"Request","verbs":["create"]},
                    {"level":"RequestResponse","verbs":["update"]}]})");
  api::HttpRequest req = createPod();
  api::HttpResponse resp;
  resp.status = 201;
  resp.body = R"({"kind":"Pod","metadata":{"name":"web","managedFields":[{}]}})";
  auditor_->begin(req, info("create"))->finish(info("create"), resp);
  api::HttpRequest put = createPod();
  put.method = "PUT";
  auditor_->begin(put, info("update"))->finish(info("update"), resp);
  api::RequestAuditInfo ev_info = info("create");
  ev_info.resource = "events";
  EXPECT_EQ(auditor_->begin(req, ev_info), nullptr);
  auto ev = events();
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0]["level"], "Request");
  EXPECT_EQ(ev[0]["requestObject"]["metadata"]["name"], "web");
  EXPECT_FALSE(ev[0].contains("responseObject"));
  EXPECT_EQ(ev[1]["level"], "RequestResponse");
  EXPECT_EQ(ev[1]["responseObject"]["metadata"]["managedFields"].size(), 1u);
}

TEST_F(AuditorTest, FailureCarriesTheStatus) {
  make(R"({"apiVersion":"audit.k8s.io/v1","kind":"Policy","rules":[{"level":"Metadata",
           "omitStages":["RequestReceived"]}]})");
  api::HttpRequest req = createPod();
  api::HttpResponse resp;
  resp.status = 403;
  resp.body = R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
    "message":"pods \"web\" is forbidden: violates PodSecurity \"restricted:latest\": x",
    "reason":"Forbidden","details":{"name":"web","kind":"pods"},"code":403})";
  auditor_->begin(req, info("create"))->finish(info("create"), resp);
  auto ev = events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0]["responseStatus"]["code"], 403);
  EXPECT_EQ(ev[0]["responseStatus"]["reason"], "Forbidden");
  EXPECT_EQ(ev[0]["responseStatus"]["status"], "Failure");
}

TEST_F(AuditorTest, WatchStartsThenCompletesWhenTheStreamEnds) {
  make(R"({"apiVersion":"audit.k8s.io/v1","kind":"Policy","rules":[{"level":"Metadata"}]})");
  api::HttpRequest req;
  req.method = "GET";
  req.target = "/api/v1/pods?watch=1";
  api::RequestAuditInfo i = info("watch");
  api::HttpResponse resp;
  resp.stream = std::make_unique<api::EmptyResponseStream>();
  auditor_->begin(req, i)->finish(i, resp);
  EXPECT_EQ(events().size(), 2u);
  resp.stream.reset();
  auto ev = events();
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0]["stage"], "RequestReceived");
  EXPECT_EQ(ev[1]["stage"], "ResponseStarted");
  EXPECT_EQ(ev[2]["stage"], "ResponseComplete");
  EXPECT_EQ(ev[2]["responseStatus"]["code"], 200);
}

TEST_F(AuditorTest, ThrowingHandlerEndsWithPanic) {
  make(R"({"apiVersion":"audit.k8s.io/v1","kind":"Policy","rules":[{"level":"Metadata",
           "omitStages":["RequestReceived"]}]})");
  api::HttpRequest req = createPod();
  try {
    auto rec = auditor_->begin(req, info("create"));
    throw std::runtime_error("boom");
  } catch (const std::runtime_error&) {
  }
  auto ev = events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0]["stage"], "Panic");
  EXPECT_EQ(ev[0]["responseStatus"]["code"], 500);
  EXPECT_EQ(ev[0]["responseStatus"]["reason"], "InternalError");
}

TEST(NewAuditorTest, FlagsValidated) {
  AuditOptions o;
  auto none = newAuditor(o);
  ASSERT_TRUE(none);
  EXPECT_EQ(none->get(), nullptr);
  o.log.path = "-";
  EXPECT_FALSE(newAuditor(o));
  o.policy_file = "/nonexistent/policy.yaml";
  EXPECT_FALSE(newAuditor(o));
}

}  // namespace
}  // namespace skiff::master::audit
