// Admission webhooks against a small in-test HTTPS server (testing/hook_server.h): deny and patch
// through a Service and a URL, caBundle verification, failurePolicy Ignore/Fail, timeouts,
// selectors, reinvocation.
#include "skiff/master/admission/webhook.h"

#include "skiff/master/admission/runtimeclass.h"
#include "skiff/master/aggregator/aggregator.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <thread>

#include "skiff/common/base64.h"
#include "skiff/master/testing/hook_server.h"
#include "skiff/master/testing/registry_fixture.h"

namespace skiff::master::admission {
namespace {

using json = nlohmann::json;
namespace net = boost::asio;
using tcp = net::ip::tcp;

using testing::HookServer;

json allow(const json& review, json patch = json()) {
  json resp = {{"uid", review["request"]["uid"]}, {"allowed", true}};
  if (!patch.is_null()) {
    resp["patchType"] = "JSONPatch";
    resp["patch"] = base64Encode(patch.dump());
  }
  return {{"apiVersion", "admission.k8s.io/v1"}, {"kind", "AdmissionReview"}, {"response", resp}};
}

json deny(const json& review, const std::string& message) {
  return {{"apiVersion", "admission.k8s.io/v1"},
          {"kind", "AdmissionReview"},
          {"response",
           {{"uid", review["request"]["uid"]},
            {"allowed", false},
            {"status", {{"code", 403}, {"message", message}}}}}};
}

class WebhookTest : public ::skiff::master::testing::RegistryFixture {
 protected:
  void setUpRegistry() override {
    ASSERT_TRUE(pki_.make(dir_)) << "openssl failed";
    ca_ = pki_.ca;
    other_ca_ = pki_.other_ca;
    reg_->addAdmissionPlugin(newWebhookAdmission(*reg_));
    opts_.user = {"admin", {"system:masters"}};
    server_ = std::make_unique<HookServer>(
        pki_.cert, pki_.key, [this](const std::string& p, const json& r) { return handle(p, r); });
  }
  void TearDown() override {
    server_.reset();
    RegistryFixture::TearDown();
  }

  json handle(const std::string& path, const json& review) {
    if (path == "/apis/example.com/v1")
      return {{"kind", "APIResourceList"},
              {"apiVersion", "v1"},
              {"groupVersion", "example.com/v1"},
              {"resources", json::array({{{"name", "widgets"},
                                          {"singularName", "widget"},
                                          {"namespaced", true},
                                          {"kind", "Widget"},
                                          {"verbs", {"get", "list"}}}})}};
    if (path.rfind("/apis/example.com/v1/", 0) == 0)
      return {{"kind", "WidgetList"}, {"apiVersion", "example.com/v1"}, {"items", json::array()}};
    const json& pod = review["request"]["object"];
    if (path == "/noattach") {
      last_connect_review_ = review["request"];
      if (pod["stdin"] == true && pod["container"] == "c")
        return deny(review, "attaching to pod 'p' is not allowed");
      return allow(review);
    }
    if (path == "/nodelete") {
      last_delete_review_ = review["request"];
      const json& old = review["request"]["oldObject"];
      if (review["request"]["operation"] == "DELETE" && old["metadata"]["name"] == "keep")
        return deny(review, "pods named keep stay");
      return allow(review);
    }
    if (path == "/validate") {
      if (pod["metadata"]["name"] == "bad") return deny(review, "no pods named bad");
      return allow(review);
    }
    if (path == "/mutate")
      return allow(
          review,
          json::array(
              {{{"op", "add"}, {"path", "/metadata/labels"}, {"value", {{"mutated", "yes"}}}}}));
    if (path == "/addinit")
      return allow(review, json::array({{{"op", "add"},
                                         {"path", "/spec/initContainers"},
                                         {"value", {{{"name", "init"}, {"image", "busybox"}}}}}}));
    if (path == "/hang") {
      std::this_thread::sleep_for(std::chrono::seconds(3));
      return allow(review);
    }
    if (path == "/garbage") return "this is not json";
    if (path == "/second") {
      if (pod["metadata"].contains("annotations")) return allow(review);
      return allow(
          review,
          json::array(
              {{{"op", "add"}, {"path", "/metadata/annotations"}, {"value", {{"second", "1"}}}}}));
    }
    return allow(review);
  }

  const api::ResourceInfo& res(const std::string& g, const std::string& r) {
    return *api::findResource(g, "v1", r);
  }
  json hook(const std::string& name, const std::string& path, json extra = json::object()) {
    json w = {{"name", name},
              {"clientConfig",
               {{"url", "https://127.0.0.1:" + std::to_string(server_->port()) + path},
                {"caBundle", ca_}}},
              {"rules", json::array({{{"operations", {"CREATE", "UPDATE"}},
                                      {"apiGroups", {""}},
                                      {"apiVersions", {"v1"}},
                                      {"resources", {"pods"}}}})},
              {"sideEffects", "None"},
              {"admissionReviewVersions", {"v1"}}};
    w.update(extra);
    return w;
  }
  void configure(bool mutating, json hooks) {
    std::string r = mutating ? "mutatingwebhookconfigurations" : "validatingwebhookconfigurations";
    auto c = reg_->create(
        res("admissionregistration.k8s.io", r), "",
        {{"metadata", {{"name", "cfg-" + std::to_string(++n_)}}}, {"webhooks", std::move(hooks)}},
        opts_);
    ASSERT_TRUE(c) << c.error().message();
  }
  // A Service "hook" in default whose Endpoints are the test server.
  void hookService() {
    auto svc = reg_->create(
        res("", "services"), "default",
        {{"metadata", {{"name", "hook"}}},
         {"spec", {{"ports", json::array({{{"port", 443}, {"targetPort", server_->port()}}})}}}},
        opts_);
    ASSERT_TRUE(svc) << svc.error().message();
    auto eps = reg_->create(
        res("", "endpoints"), "default",
        {{"metadata", {{"name", "hook"}}},
         {"subsets", json::array({{{"addresses", json::array({{{"ip", "127.0.0.1"}}})},
                                   {"ports", json::array({{{"port", server_->port()}}})}}})}},
        opts_);
    ASSERT_TRUE(eps) << eps.error().message();
  }
  Result<api::WriteResult> createPod(const std::string& name, json labels = json::object()) {
    json pod = {{"metadata", {{"name", name}}},
                {"spec", {{"containers", json::array({{{"name", "c"}, {"image", "busybox"}}})}}}};
    if (!labels.empty()) pod["metadata"]["labels"] = labels;
    return reg_->create(res("", "pods"), "default", pod, opts_);
  }

  testing::HookPki pki_;
  std::string ca_, other_ca_;
  api::WriteOptions opts_;
  std::unique_ptr<HookServer> server_;
  int n_ = 0;
  json last_delete_review_;
  json last_connect_review_;
};

TEST_F(WebhookTest, ValidatingWebhookThroughAServiceDenies) {
  hookService();
  json w = hook("deny.example.com", "");
  w["clientConfig"] = {
      {"service", {{"namespace", "default"}, {"name", "hook"}, {"path", "/validate"}}},
      {"caBundle", ca_}};
  configure(false, json::array({w}));
  auto bad = createPod("bad");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(),
            "admission webhook \"deny.example.com\" denied the request: no pods named bad");
  EXPECT_TRUE(bad.error().is(ErrorCode::Forbidden));
  EXPECT_FALSE(reg_->get(res("", "pods"), "default", "bad"));
  auto good = createPod("good");
  ASSERT_TRUE(good) << good.error().message();
  EXPECT_EQ(server_->calls("/validate"), 2);
}

// A DELETE goes through validating webhooks whose rules name it, with the stored object as
// oldObject and no object (as upstream), and a denial leaves the object in place.
TEST_F(WebhookTest, ValidatingWebhookCanDenyADelete) {
  json w = hook("nodelete.example.com", "/nodelete");
  w["rules"][0]["operations"] = {"DELETE"};
  ASSERT_TRUE(createPod("keep"));
  ASSERT_TRUE(createPod("go"));
  configure(false, json::array({w}));
  auto& pods = res("", "pods");
  auto refused = reg_->remove(pods, "default", "keep", {}, opts_);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message(),
            "admission webhook \"nodelete.example.com\" denied the request: pods named keep stay");
  EXPECT_TRUE(reg_->get(pods, "default", "keep"));
  EXPECT_EQ(last_delete_review_["operation"], "DELETE");
  EXPECT_TRUE(last_delete_review_["object"].is_null());
  EXPECT_EQ(last_delete_review_["oldObject"]["metadata"]["name"], "keep");
  EXPECT_EQ(last_delete_review_["options"]["kind"], "DeleteOptions");
  ASSERT_TRUE(reg_->remove(pods, "default", "go", {}, opts_));
  // Creates are not sent to a hook that names only DELETE.
  ASSERT_TRUE(createPod("new"));
  EXPECT_EQ(server_->calls("/nodelete"), 2);
}

// exec/attach/portforward are CONNECTs on the pods subresource, admitted with their options as
// the object (what the agnhost webhook of "deny attaching pod" decodes).
TEST_F(WebhookTest, ValidatingWebhookCanDenyAnAttach) {
  json w = hook("noattach.example.com", "/noattach");
  w["rules"][0]["operations"] = {"CONNECT"};
  w["rules"][0]["resources"] = {"pods/attach"};
  configure(false, json::array({w}));
  auto& pods = res("", "pods");
  json attach = {{"kind", "PodAttachOptions"},
                 {"apiVersion", "v1"},
                 {"stdin", true},
                 {"stdout", true},
                 {"stderr", true},
                 {"tty", false},
                 {"container", "c"}};
  auto refused = reg_->admitConnect(pods, "default", "p", "attach", attach, opts_);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message(),
            "admission webhook \"noattach.example.com\" denied the request: attaching to pod 'p' "
            "is not allowed");
  EXPECT_EQ(last_connect_review_["operation"], "CONNECT");
  EXPECT_EQ(last_connect_review_["kind"]["kind"], "PodAttachOptions");
  EXPECT_EQ(last_connect_review_["resource"]["resource"], "pods");
  EXPECT_EQ(last_connect_review_["subResource"], "attach");
  EXPECT_EQ(last_connect_review_["name"], "p");
  EXPECT_TRUE(last_connect_review_["options"].is_null());
  attach["stdin"] = false;
  EXPECT_TRUE(reg_->admitConnect(pods, "default", "p", "attach", attach, opts_));
  // An exec is another subresource: the hook is not called.
  json exec = {{"kind", "PodExecOptions"},
               {"apiVersion", "v1"},
               {"stdin", true},
               {"container", "c"},
               {"command", {"sh"}}};
  EXPECT_TRUE(reg_->admitConnect(pods, "default", "p", "exec", exec, opts_));
  EXPECT_EQ(server_->calls("/noattach"), 2);
}

TEST_F(WebhookTest, MutatingWebhookPatchesBeforeStorage) {
  configure(true, json::array({hook("label.example.com", "/mutate")}));
  auto p = createPod("p");
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ(p->object["metadata"]["labels"]["mutated"], "yes");
  auto stored = reg_->get(res("", "pods"), "default", "p");
  ASSERT_TRUE(stored);
  EXPECT_EQ((*stored)["metadata"]["labels"]["mutated"], "yes");
}

// The conformance test "should mutate pod and apply defaults after mutation": what a webhook
// adds is defaulted as the rest of the object.
TEST_F(WebhookTest, WhatAMutatingWebhookAddsIsDefaulted) {
  configure(true, json::array({hook("init.example.com", "/addinit")}));
  auto p = createPod("p");
  ASSERT_TRUE(p) << p.error().message();
  const json& init = p->object["spec"]["initContainers"][0];
  EXPECT_EQ(init["terminationMessagePolicy"], "File");
  EXPECT_EQ(init["terminationMessagePath"], "/dev/termination-log");
  EXPECT_EQ(init["imagePullPolicy"], "Always");
}

TEST_F(WebhookTest, FailurePolicyIgnoreAndFailWhenTheWebhookIsDown) {
  int dead = 0;
  {
    net::io_context io;
    tcp::acceptor a(io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    dead = a.local_endpoint().port();
  }
  json down = hook("down.example.com", "/x", {{"failurePolicy", "Ignore"}});
  down["clientConfig"]["url"] = "https://127.0.0.1:" + std::to_string(dead) + "/x";
  configure(false, json::array({down}));
  ASSERT_TRUE(createPod("ignored"));
  down["name"] = "fail.example.com";
  down["failurePolicy"] = "Fail";
  configure(false, json::array({down}));
  auto r = createPod("failed");
  ASSERT_FALSE(r);
  std::string port = std::to_string(dead);
  EXPECT_EQ(r.error().message(),
            "Internal error occurred: failed calling webhook \"fail.example.com\": failed to call "
            "webhook: Post \"https://127.0.0.1:" +
                port + "/x?timeout=10s\": dial tcp 127.0.0.1:" + port +
                ": connect: connection refused");
  EXPECT_TRUE(r.error().is(ErrorCode::Internal));
}

TEST_F(WebhookTest, AHangingWebhookCostsAtMostItsTimeout) {
  configure(false, json::array({hook("hang.example.com", "/hang", {{"timeoutSeconds", 1}})}));
  auto start = std::chrono::steady_clock::now();
  auto r = createPod("slow");
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("/hang?timeout=1s\": context deadline exceeded"),
            std::string::npos)
      << r.error().message();
  EXPECT_LT(took, std::chrono::milliseconds(2000));
}

TEST_F(WebhookTest, CaBundleIsVerifiedAndGarbageIsAFailure) {
  json wrong = hook("ca.example.com", "/validate");
  wrong["clientConfig"]["caBundle"] = other_ca_;
  configure(false, json::array({wrong}));
  auto r = createPod("p");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("x509: certificate signed by unknown authority"),
            std::string::npos)
      << r.error().message();
  EXPECT_EQ(server_->calls("/validate"), 0);
}

TEST_F(WebhookTest, GarbageAnswerIsAnInternalError) {
  configure(false, json::array({hook("garbage.example.com", "/garbage")}));
  auto r = createPod("p");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(),
            "Internal error occurred: failed calling webhook \"garbage.example.com\": received "
            "invalid webhook response: the response is not JSON");
}

TEST_F(WebhookTest, SelectorsAndRulesDecideWhoIsCalled) {
  configure(false,
            json::array({hook("obj.example.com", "/validate",
                              {{"objectSelector", {{"matchLabels", {{"hooked", "yes"}}}}}}),
                         hook("ns.example.com", "/validate",
                              {{"namespaceSelector", {{"matchLabels", {{"team", "x"}}}}}})}));
  ASSERT_TRUE(createPod("bad"));  // neither selector matches: not called
  EXPECT_EQ(server_->calls("/validate"), 0);
  auto r = createPod("bad", {{"hooked", "yes"}});
  ASSERT_FALSE(r);
  EXPECT_EQ(server_->calls("/validate"), 1);
  // A ConfigMap is not in the rules.
  ASSERT_TRUE(
      reg_->create(res("", "configmaps"), "default", {{"metadata", {{"name", "bad"}}}}, opts_));
  EXPECT_EQ(server_->calls("/validate"), 1);
}

TEST_F(WebhookTest, ReinvocationIfNeeded) {
  configure(true,
            json::array({hook("a.example.com", "/mutate", {{"reinvocationPolicy", "IfNeeded"}}),
                         hook("b.example.com", "/second")}));
  auto p = createPod("p");
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ(p->object["metadata"]["annotations"]["second"], "1");
  EXPECT_EQ(server_->calls("/mutate"), 2);  // b changed the object after a saw it
  EXPECT_EQ(server_->calls("/second"), 1);
}

TEST_F(WebhookTest, MatchConditionsAreAcceptedWithAWarning) {
  api::AdmissionNotes notes;
  api::WriteOptions o = opts_;
  o.notes = &notes;
  json w = hook("cel.example.com", "/validate");
  w["matchConditions"] = json::array({{{"name", "not-bad"}, {"expression", "true"}}});
  auto c = reg_->create(res("admissionregistration.k8s.io", "validatingwebhookconfigurations"), "",
                        {{"metadata", {{"name", "cel"}}}, {"webhooks", json::array({w})}}, o);
  ASSERT_TRUE(c) << c.error().message();
  ASSERT_EQ(notes.warnings.size(), 1u);
  EXPECT_NE(notes.warnings[0].find("skiff does not evaluate CEL"), std::string::npos);
  EXPECT_FALSE(createPod("bad"));  // called as if the conditions matched
}

TEST_F(WebhookTest, RuntimeClassAdmissionSetsOverheadAndRejectsUnknownClasses) {
  reg_->addAdmissionPlugin(newRuntimeClassAdmission(*reg_));
  ASSERT_TRUE(reg_->create(res("node.k8s.io", "runtimeclasses"), "",
                           {{"metadata", {{"name", "runc"}}},
                            {"handler", "runc"},
                            {"overhead", {{"podFixed", {{"memory", "10Mi"}}}}},
                            {"scheduling", {{"nodeSelector", {{"runtime", "runc"}}}}}},
                           opts_));
  json pod = {{"metadata", {{"name", "p"}}},
              {"spec",
               {{"runtimeClassName", "runc"},
                {"containers", json::array({{{"name", "c"}, {"image", "busybox"}}})}}}};
  auto ok = reg_->create(res("", "pods"), "default", pod, opts_);
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_EQ(ok->object["spec"]["overhead"]["memory"], "10Mi");
  EXPECT_EQ(ok->object["spec"]["nodeSelector"]["runtime"], "runc");
  pod["metadata"]["name"] = "q";
  pod["spec"]["runtimeClassName"] = "gvisor";
  auto bad = reg_->create(res("", "pods"), "default", pod, opts_);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(),
            "pods \"q\" is forbidden: pod rejected: RuntimeClass \"gvisor\" not found");
  EXPECT_TRUE(bad.error().is(ErrorCode::Forbidden));
}

TEST_F(WebhookTest, AggregatorProbesAndProxiesAnAPIService) {
  hookService();
  json apisvc = {{"metadata", {{"name", "v1.example.com"}}},
                 {"spec",
                  {{"group", "example.com"},
                   {"version", "v1"},
                   {"groupPriorityMinimum", 100},
                   {"versionPriority", 10},
                   {"caBundle", ca_},
                   {"service", {{"namespace", "default"}, {"name", "hook"}}}}}};
  ASSERT_TRUE(reg_->create(res("apiregistration.k8s.io", "apiservices"), "", apisvc, opts_));
  auto agg = aggregator::newApiAggregator(
      *reg_, aggregator::AggregatorOptions{std::chrono::seconds(1), "", ""});
  std::string available;
  for (int i = 0; i < 50 && available != "True"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto a = reg_->get(res("apiregistration.k8s.io", "apiservices"), "", "v1.example.com");
    ASSERT_TRUE(a);
    for (const auto& c : (*a)["status"].value("conditions", json::array()))
      if (c["type"] == "Available") available = c["status"];
  }
  EXPECT_EQ(available, "True");
  EXPECT_TRUE(agg->serves("example.com", "v1"));
  EXPECT_FALSE(agg->serves("apps", "v1"));
  auto groups = agg->groups();
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].name, "example.com");
  EXPECT_EQ(agg->resourceList("example.com", "v1")["resources"][0]["name"], "widgets");
  api::HttpRequest req;
  req.method = "GET";
  req.target = "/apis/example.com/v1/namespaces/default/widgets";
  // The backend learns the user from the front proxy's headers: every group (each its own
  // X-Remote-Group header) and the extras, the key escaped as client-go does.
  api::UserInfo user{"kubernetes-admin", {"system:masters", "system:authenticated"}};
  user.extra["scopes.example/x y"] = {"a", "b"};
  api::HttpResponse r = agg->proxy(req, "example.com", "v1", user);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["kind"], "WidgetList");
  const std::string path = "/apis/example.com/v1/namespaces/default/widgets";
  EXPECT_EQ(server_->lastHeader(path, "X-Remote-User"),
            std::vector<std::string>{"kubernetes-admin"});
  EXPECT_EQ(server_->lastHeader(path, "X-Remote-Group"),
            (std::vector<std::string>{"system:masters", "system:authenticated"}));
  EXPECT_EQ(server_->lastHeader(path, "X-Remote-Extra-scopes.example%2Fx%20y"),
            (std::vector<std::string>{"a", "b"}));
}

}  // namespace
}  // namespace skiff::master::admission
