// The handler's audit hook end to end in process: a pod create through api::Handler with the
// PodSecurity plugin and an auditor: the Warning header, the Audit-Id header naming the event,
// and the event's authorization and PodSecurity annotations; a denied create is audited as 403.
#include <gtest/gtest.h>

#include <filesystem>

#include "collected_audit.h"
#include "skiff/master/admission/pod_security.h"
#include "skiff/master/api/handler.h"
#include "skiff/master/audit/auditor.h"

namespace skiff::master::audit {
namespace {

using json = nlohmann::json;

class HandlerAuditTest : public AuditedRegistryFixture {
 protected:
  void setUpRegistry() override {
    reg_->addAdmissionPlugin(admission::newPodSecurityAdmission(*reg_, {}));
    authn_ = std::make_unique<api::Authenticator>(*reg_, std::map<std::string, api::TokenEntry>{});
    handler_ = std::make_unique<api::Handler>(*reg_, *authn_, api::HandlerOptions{});
    startAuditor(
        R"({"apiVersion":"audit.k8s.io/v1","kind":"Policy","omitStages":["RequestReceived"],
                     "rules":[{"level":"Metadata"}]})");
    if (HasFatalFailure()) return;
    handler_->setAuditor(auditor_.get());
  }
  void TearDown() override {
    handler_.reset();
    authn_.reset();
    AuditedRegistryFixture::TearDown();
  }
  api::HttpResponse send(const std::string& method, const std::string& target, json body) {
    api::HttpRequest r;
    r.method = method;
    r.target = target;
    r.headers = {{"content-type", "application/json"}, {"user-agent", "kubectl/v1.32.0"}};
    r.body = body.dump();
    r.cert_user = api::UserInfo{"kubernetes-admin", {"system:masters"}};
    r.remote_addr = "127.0.0.1";
    return handler_->handle(r);
  }
  static std::string header(const api::HttpResponse& r, const std::string& name) {
    for (const auto& [k, v] : r.headers)
      if (k == name) return v;
    return "";
  }

  std::unique_ptr<api::Authenticator> authn_;
  std::unique_ptr<api::Handler> handler_;
};

json privilegedPod(const std::string& name) {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", {{"name", name}}},
          {"spec",
           {{"containers", json::array({{{"name", "c"},
                                         {"image", "busybox"},
                                         {"securityContext", {{"privileged", true}}}}})}}}};
}

TEST_F(HandlerAuditTest, WarnHeaderAuditIdAndAnnotations) {
  json ns = {{"apiVersion", "v1"},
             {"kind", "Namespace"},
             {"metadata",
              {{"name", "w"},
               {"labels",
                {{"pod-security.kubernetes.io/warn", "baseline"},
                 {"pod-security.kubernetes.io/audit", "baseline"}}}}}};
  ASSERT_EQ(send("POST", "/api/v1/namespaces", ns).status, 201);
  api::HttpResponse r = send("POST", "/api/v1/namespaces/w/pods", privilegedPod("p"));
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(header(r, "Warning"),
            "299 - \"would violate PodSecurity \\\"baseline:latest\\\": privileged (container "
            "\\\"c\\\" must not set securityContext.privileged=true)\"");
  std::string id = header(r, "Audit-Id");
  ASSERT_FALSE(id.empty());
  auto ev = events();
  ASSERT_EQ(ev.size(), 2u);
  const json& e = ev[1];
  EXPECT_EQ(e["auditID"], id);
  EXPECT_EQ(e["verb"], "create");
  EXPECT_EQ(e["objectRef"]["name"], "p");
  EXPECT_EQ(e["responseStatus"]["code"], 201);
  EXPECT_EQ(e["annotations"]["authorization.k8s.io/decision"], "allow");
  EXPECT_EQ(e["annotations"]["pod-security.kubernetes.io/enforce-policy"], "privileged:latest");
  EXPECT_EQ(e["annotations"]["pod-security.kubernetes.io/audit-violations"],
            "would violate PodSecurity \"baseline:latest\": privileged (container \"c\" must not "
            "set securityContext.privileged=true)");
}

TEST_F(HandlerAuditTest, EnforcedDenialIsAuditedAs403) {
  json ns = {{"apiVersion", "v1"},
             {"kind", "Namespace"},
             {"metadata",
              {{"name", "r"}, {"labels", {{"pod-security.kubernetes.io/enforce", "restricted"}}}}}};
  ASSERT_EQ(send("POST", "/api/v1/namespaces", ns).status, 201);
  api::HttpResponse r = send("POST", "/api/v1/namespaces/r/pods", privilegedPod("priv"));
  EXPECT_EQ(r.status, 403);
  auto ev = events();
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[1]["responseStatus"]["code"], 403);
  EXPECT_EQ(ev[1]["responseStatus"]["reason"], "Forbidden");
  EXPECT_EQ(ev[1]["annotations"]["pod-security.kubernetes.io/enforce-policy"], "restricted:latest");
}

}  // namespace
}  // namespace skiff::master::audit
