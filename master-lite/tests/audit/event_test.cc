// The Event JSON line: kube-apiserver's field order, omitempty and microsecond timestamps.
#include "skiff/master/audit/event.h"

#include <gtest/gtest.h>

namespace skiff::master::audit {
namespace {

using json = nlohmann::json;

std::chrono::system_clock::time_point at(long long micros) {
  return std::chrono::system_clock::time_point(std::chrono::microseconds(micros));
}

TEST(AuditEventTest, MetadataEventLine) {
  Event ev;
  ev.level = Level::Metadata;
  ev.audit_id = "0b8e5b4c-0c0b-4d42-9d0e-1e2f3a4b5c6d";
  ev.stage = Stage::ResponseComplete;
  ev.request_uri = "/api/v1/namespaces/default/pods?fieldManager=kubectl-create";
  ev.verb = "create";
  ev.user = {"kubernetes-admin", {"system:masters", "system:authenticated"}};
  ev.source_ips = {"127.0.0.1"};
  ev.user_agent = "kubectl/v1.32.0";
  ev.object_ref = ObjectRef{"pods", "default", "web", "", "", "v1", "", ""};
  ev.response_status = responseStatusOf(201, json());
  ev.request_received = at(1700000000123456);
  ev.stage_time = at(1700000000223400);
  ev.annotations = {{"authorization.k8s.io/decision", "allow"},
                    {"authorization.k8s.io/reason", ""}};
  EXPECT_EQ(
      encodeEvent(ev),
      R"({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"0b8e5b4c-0c0b-4d42-9d0e-1e2f3a4b5c6d","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/pods?fieldManager=kubectl-create","verb":"create","user":{"username":"kubernetes-admin","groups":["system:masters","system:authenticated"]},"sourceIPs":["127.0.0.1"],"userAgent":"kubectl/v1.32.0","objectRef":{"resource":"pods","namespace":"default","name":"web","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":201},"requestReceivedTimestamp":"2023-11-14T22:13:20.123456Z","stageTimestamp":"2023-11-14T22:13:20.223400Z","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":""}})"
      "\n");
}

TEST(AuditEventTest, FailureStatusKeepsBoundedFields) {
  json status = {{"kind", "Status"},
                 {"apiVersion", "v1"},
                 {"metadata", json::object()},
                 {"status", "Failure"},
                 {"message", "pods \"p\" is forbidden: x"},
                 {"reason", "Forbidden"},
                 {"details", {{"name", "p"}, {"kind", "pods"}}},
                 {"code", 403}};
  EXPECT_EQ(
      responseStatusOf(403, status).dump(),
      R"({"metadata":{},"status":"Failure","message":"pods \"p\" is forbidden: x","reason":"Forbidden","details":{"kind":"pods","name":"p"},"code":403})");
}

TEST(AuditEventTest, RequestReceivedHasNoStatusAndBodiesWhenSet) {
  Event ev;
  ev.stage = Stage::RequestReceived;
  ev.request_object = {{"kind", "Pod"}};
  ev.impersonated_user = EventUser{"bob", {}};
  json j = json::parse(encodeEvent(ev));
  EXPECT_FALSE(j.contains("responseStatus"));
  EXPECT_FALSE(j.contains("responseObject"));
  EXPECT_FALSE(j.contains("objectRef"));
  EXPECT_EQ(j["requestObject"]["kind"], "Pod");
  EXPECT_EQ(j["impersonatedUser"]["username"], "bob");
  EXPECT_EQ(j["stage"], "RequestReceived");
}

TEST(AuditEventTest, OmitManagedFieldsInListsToo) {
  json list = {{"metadata", {{"managedFields", 1}}},
               {"items", json::array({{{"metadata", {{"managedFields", 1}, {"name", "a"}}}}})}};
  omitManagedFields(list);
  EXPECT_FALSE(list["metadata"].contains("managedFields"));
  EXPECT_EQ(list["items"][0]["metadata"], (json{{"name", "a"}}));
}

}  // namespace
}  // namespace skiff::master::audit
