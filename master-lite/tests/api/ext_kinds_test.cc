// Issue 20's built-in kinds through the registry: defaults, validation messages as upstream's,
// table rows, discovery.
#include <gtest/gtest.h>

#include "../../src/api/strict_fields.h"
#include "skiff/master/api/discovery.h"
#include "skiff/master/api/registry.h"
#include "skiff/master/api/tables.h"
#include "skiff/master/testing/registry_fixture.h"

namespace skiff::master::api {
namespace {

using json = nlohmann::json;

class ExtKindsTest : public ::skiff::master::testing::RegistryFixture {
 protected:
  void setUpRegistry() override { opts_.user = {"admin", {"system:masters"}}; }
  const ResourceInfo& res(const std::string& g, const std::string& r) {
    const ResourceInfo* info = findResource(g, "v1", r);
    EXPECT_NE(info, nullptr) << g << "/" << r;
    return *info;
  }
  Result<WriteResult> create(const std::string& g, const std::string& r, const json& obj,
                             const std::string& ns = "default") {
    return reg_->create(res(g, r), ns, obj, opts_);
  }

  WriteOptions opts_;
};

json webhookConfig(json hook) {
  return {{"metadata", {{"name", "hooks"}}}, {"webhooks", json::array({hook})}};
}

json goodHook() {
  return {{"name", "pods.hooks.example.com"},
          {"clientConfig", {{"service", {{"namespace", "default"}, {"name", "hook"}}}}},
          {"rules", json::array({{{"operations", {"CREATE"}},
                                  {"apiGroups", {""}},
                                  {"apiVersions", {"v1"}},
                                  {"resources", {"pods"}}}})},
          {"sideEffects", "None"},
          {"admissionReviewVersions", {"v1"}}};
}

TEST_F(ExtKindsTest, WebhookConfigurationsGetUpstreamDefaults) {
  auto m = create("admissionregistration.k8s.io", "mutatingwebhookconfigurations",
                  webhookConfig(goodHook()), "");
  ASSERT_TRUE(m) << m.error().message();
  const json& w = m->object["webhooks"][0];
  EXPECT_EQ(w["failurePolicy"], "Fail");
  EXPECT_EQ(w["matchPolicy"], "Equivalent");
  EXPECT_EQ(w["namespaceSelector"], json::object());
  EXPECT_EQ(w["objectSelector"], json::object());
  EXPECT_EQ(w["timeoutSeconds"], 10);
  EXPECT_EQ(w["reinvocationPolicy"], "Never");
  EXPECT_EQ(w["rules"][0]["scope"], "*");
  EXPECT_EQ(w["clientConfig"]["service"]["port"], 443);
  auto v = create("admissionregistration.k8s.io", "validatingwebhookconfigurations",
                  webhookConfig(goodHook()), "");
  ASSERT_TRUE(v) << v.error().message();
  EXPECT_FALSE(v->object["webhooks"][0].contains("reinvocationPolicy"));
}

TEST_F(ExtKindsTest, WebhookConfigurationValidationMessages) {
  json h = goodHook();
  h.erase("sideEffects");
  h["timeoutSeconds"] = 31;
  h["clientConfig"] = {{"url", "http://example.com/x"}};
  auto r = create("admissionregistration.k8s.io", "validatingwebhookconfigurations",
                  webhookConfig(h), "");
  ASSERT_FALSE(r);
  std::string msg = r.error().message();
  for (const char* part :
       {"ValidatingWebhookConfiguration.admissionregistration.k8s.io \"hooks\" is invalid: [",
        "webhooks[0].sideEffects: Required value: must specify one of None, NoneOnDryRun",
        "webhooks[0].timeoutSeconds: Invalid value: 31: the timeout value must be between 1 and 30 "
        "seconds",
        "webhooks[0].clientConfig.url: Invalid value: \"http://example.com/x\": 'https' is the "
        "only allowed URL scheme"}) {
    EXPECT_NE(msg.find(part), std::string::npos) << msg;
  }
  json two = webhookConfig(goodHook());
  two["webhooks"].push_back(goodHook());
  auto d = create("admissionregistration.k8s.io", "validatingwebhookconfigurations", two, "");
  ASSERT_FALSE(d);
  EXPECT_NE(
      d.error().message().find("webhooks[1].name: Duplicate value: \"pods.hooks.example.com\""),
      std::string::npos);
}

TEST_F(ExtKindsTest, IngressValidationAndTable) {
  json ing = {
      {"metadata", {{"name", "web"}}},
      {"spec",
       {{"ingressClassName", "nginx"},
        {"rules",
         json::array(
             {{{"host", "a.example.com"},
               {"http",
                {{"paths",
                  json::array(
                      {{{"path", "/"},
                        {"pathType", "Prefix"},
                        {"backend",
                         {{"service", {{"name", "web"}, {"port", {{"number", 80}}}}}}}}})}}}}})}}}};
  auto ok = create("networking.k8s.io", "ingresses", ing);
  ASSERT_TRUE(ok) << ok.error().message();
  json row = tableRow(res("networking.k8s.io", "ingresses"), ok->object, Clock::now(),
                      TableObject::None)["cells"];
  EXPECT_EQ(row[0], "web");
  EXPECT_EQ(row[1], "nginx");
  EXPECT_EQ(row[2], "a.example.com");
  EXPECT_EQ(row[4], "80");
  json bad = ing;
  bad["metadata"]["name"] = "bad";
  bad["spec"]["rules"][0]["http"]["paths"][0].erase("pathType");
  bad["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"].erase("port");
  auto r = create("networking.k8s.io", "ingresses", bad);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("spec.rules[0].http.paths[0].pathType: Required value: "
                                     "pathType must be specified"),
            std::string::npos)
      << r.error().message();
  EXPECT_NE(r.error().message().find("spec.rules[0].http.paths[0].backend.service.port: Required "
                                     "value: port name or number is required"),
            std::string::npos);
  json empty = {{"metadata", {{"name", "empty"}}}, {"spec", json::object()}};
  auto e = create("networking.k8s.io", "ingresses", empty);
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message().find("either `defaultBackend` or `rules` must be specified"),
            std::string::npos);
}

TEST_F(ExtKindsTest, NetworkPolicyDefaultsPolicyTypesAndProtocol) {
  json np = {{"metadata", {{"name", "deny"}}},
             {"spec",
              {{"podSelector", {{"matchLabels", {{"app", "db"}}}}},
               {"egress", json::array({{{"ports", json::array({{{"port", 53}}})}}})}}}};
  auto r = create("networking.k8s.io", "networkpolicies", np);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->object["spec"]["policyTypes"], json::array({"Ingress", "Egress"}));
  EXPECT_EQ(r->object["spec"]["egress"][0]["ports"][0]["protocol"], "TCP");
  json row = tableRow(res("networking.k8s.io", "networkpolicies"), r->object, Clock::now(),
                      TableObject::None)["cells"];
  EXPECT_EQ(row[1], "app=db");
  np["metadata"]["name"] = "bad";
  np["spec"]["policyTypes"] = {"Sideways"};
  auto b = create("networking.k8s.io", "networkpolicies", np);
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().message().find("spec.policyTypes[0]: Unsupported value: \"Sideways\": "
                                     "supported values: \"Egress\", \"Ingress\""),
            std::string::npos);
}

TEST_F(ExtKindsTest, RuntimeClassAndIngressClassImmutability) {
  auto rc = create("node.k8s.io", "runtimeclasses",
                   {{"metadata", {{"name", "runc"}}}, {"handler", "runc"}}, "");
  ASSERT_TRUE(rc) << rc.error().message();
  json changed = rc->object;
  changed["handler"] = "native";
  auto u = reg_->update(res("node.k8s.io", "runtimeclasses"), "", "runc", changed, opts_);
  ASSERT_FALSE(u);
  EXPECT_NE(u.error().message().find("handler: Invalid value: \"native\": field is immutable"),
            std::string::npos)
      << u.error().message();
  auto missing = create("node.k8s.io", "runtimeclasses", {{"metadata", {{"name", "none"}}}}, "");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message().find("handler: Required value"), std::string::npos);
  auto ic = create("networking.k8s.io", "ingressclasses",
                   {{"metadata", {{"name", "x"}}}, {"spec", {{"controller", "bad"}}}}, "");
  ASSERT_FALSE(ic);
  EXPECT_NE(ic.error().message().find("must be a domain-prefixed path"), std::string::npos);
}

TEST_F(ExtKindsTest, APIServiceNameAndLocalAvailability) {
  json local = {{"metadata", {{"name", "v1.example.com"}}},
                {"spec",
                 {{"group", "example.com"},
                  {"version", "v1"},
                  {"groupPriorityMinimum", 1000},
                  {"versionPriority", 15}}}};
  auto r = create("apiregistration.k8s.io", "apiservices", local, "");
  ASSERT_TRUE(r) << r.error().message();
  json row = tableRow(res("apiregistration.k8s.io", "apiservices"), r->object, Clock::now(),
                      TableObject::None)["cells"];
  EXPECT_EQ(row[1], "Local");
  EXPECT_EQ(row[2], "True");
  json bad = local;
  bad["metadata"]["name"] = "v2.example.com";
  bad["spec"]["service"] = {{"namespace", "kube-system"}, {"name", "m"}};
  bad["spec"]["versionPriority"] = 0;
  auto b = create("apiregistration.k8s.io", "apiservices", bad, "");
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().message().find("metadata.name: Invalid value: \"v2.example.com\": must be "
                                     "`spec.version+\".\"+spec.group`: \"v1.example.com\""),
            std::string::npos)
      << b.error().message();
  EXPECT_NE(b.error().message().find(
                "spec.versionPriority: Invalid value: 0: must be positive and less than 1000"),
            std::string::npos);
}

TEST_F(ExtKindsTest, PodTemplateDefaultedAndValidated) {
  json pt = {{"metadata", {{"name", "t"}}},
             {"template",
              {{"metadata", {{"labels", {{"app", "x"}}}}},
               {"spec", {{"containers", json::array({{{"name", "c"}, {"image", "busybox"}}})}}}}}};
  auto r = create("", "podtemplates", pt);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->object["template"]["spec"]["containers"][0]["imagePullPolicy"], "Always");
  json row = tableRow(res("", "podtemplates"), r->object, Clock::now(), TableObject::None)["cells"];
  EXPECT_EQ(row, json::array({"t", "c", "busybox", "app=x"}));
  pt["metadata"]["name"] = "bad";
  pt["template"]["spec"]["containers"] = json::array();
  EXPECT_FALSE(create("", "podtemplates", pt));
}

TEST_F(ExtKindsTest, DiscoveryListsTheNewGroups) {
  json groups = apiGroupList();
  std::set<std::string> names;
  for (const auto& g : groups["groups"]) names.insert(g["name"].get<std::string>());
  for (const char* g : {"networking.k8s.io", "node.k8s.io", "admissionregistration.k8s.io",
                        "apiregistration.k8s.io"})
    EXPECT_TRUE(names.count(g)) << g;
  json list = apiResourceList("networking.k8s.io", "v1");
  std::set<std::string> res;
  for (const auto& r : list["resources"]) res.insert(r["name"].get<std::string>());
  EXPECT_TRUE(res.count("ingresses/status"));
  EXPECT_TRUE(res.count("networkpolicies"));
}

// kubectl apply validates strictly by default: the kinds without a spec must not have their
// fields reported as unknown.
TEST_F(ExtKindsTest, StrictFieldValidationKnowsTheTopLevelFields) {
  json cfg = webhookConfig(goodHook());
  cfg["apiVersion"] = "admissionregistration.k8s.io/v1";
  cfg["kind"] = "ValidatingWebhookConfiguration";
  EXPECT_TRUE(
      unknownFields(res("admissionregistration.k8s.io", "validatingwebhookconfigurations"), cfg)
          .empty());
  json rc = {{"metadata", {{"name", "r"}}}, {"handler", "runc"}, {"overhead", json::object()}};
  EXPECT_TRUE(unknownFields(res("node.k8s.io", "runtimeclasses"), rc).empty());
  json pt = {
      {"metadata", {{"name", "t"}}},
      {"template", {{"spec", {{"containers", json::array({{{"name", "c"}, {"imag", "x"}}})}}}}}};
  EXPECT_EQ(unknownFields(res("", "podtemplates"), pt),
            std::vector<std::string>{"template.spec.containers[0].imag"});
}

}  // namespace
}  // namespace skiff::master::api
