// The audit policy: parsing, validation messages and rule matching as kube-apiserver's checker.
#include "skiff/master/audit/policy.h"

#include <gtest/gtest.h>

namespace skiff::master::audit {
namespace {

using json = nlohmann::json;

Policy parse(const char* text) {
  auto p = parsePolicy(json::parse(text));
  EXPECT_TRUE(p) << (p ? "" : p.error().message());
  return p ? *p : Policy{};
}

RequestAttributes res(const std::string& verb, const std::string& group,
                      const std::string& resource, const std::string& ns = "default",
                      const std::string& name = "", const std::string& sub = "") {
  RequestAttributes a;
  a.user = "alice";
  a.groups = {"dev", "system:authenticated"};
  a.verb = verb;
  a.resource_request = true;
  a.api_group = group;
  a.resource = resource;
  a.ns = ns;
  a.name = name;
  a.subresource = sub;
  return a;
}

TEST(AuditPolicyTest, FirstMatchingRuleWinsAndDefaultIsNone) {
  Policy p = parse(R"({"apiVersion":"audit.k8s.io/v1","kind":"Policy","rules":[
    {"level":"None","users":["system:kube-proxy"]},
    {"level":"RequestResponse","resources":[{"group":"","resources":["pods"]}]},
    {"level":"Metadata","verbs":["create"]}]})");
  EXPECT_EQ(evaluatePolicy(p, res("create", "", "pods")).level, Level::RequestResponse);
  EXPECT_EQ(evaluatePolicy(p, res("create", "apps", "deployments")).level, Level::Metadata);
  EXPECT_EQ(evaluatePolicy(p, res("get", "apps", "deployments")).level, Level::None);
  RequestAttributes proxy = res("create", "", "pods");
  proxy.user = "system:kube-proxy";
  EXPECT_EQ(evaluatePolicy(p, proxy).level, Level::None);
}

TEST(AuditPolicyTest, UserGroupsNamespacesAndResourceNames) {
  Policy p = parse(R"({"apiVersion":"audit.k8s.io/v1","kind":"Policy","rules":[
    {"level":"Request","userGroups":["dev"],"namespaces":["prod"]},
    {"level":"Metadata","resources":[{"group":"","resources":["configmaps"],
                                      "resourceNames":["cfg"]}]}]})");
  EXPECT_EQ(evaluatePolicy(p, res("get", "", "pods", "prod")).level, Level::Request);
  EXPECT_EQ(evaluatePolicy(p, res("get", "", "pods", "dev")).level, Level::None);
  EXPECT_EQ(evaluatePolicy(p, res("get", "", "configmaps", "x", "cfg")).level, Level::Metadata);
  EXPECT_EQ(evaluatePolicy(p, res("get", "", "configmaps", "x", "other")).level, Level::None);
}

TEST(AuditPolicyTest, SubresourceWildcards) {
  Policy p = parse(R"({"apiVersion":"audit.k8s.io/v1","kind":"Policy","rules":[
    {"level":"Request","resources":[{"group":"","resources":["pods/log"]}]},
    {"level":"Metadata","resources":[{"group":"apps","resources":["*/scale"]}]},
    {"level":"RequestResponse","resources":[{"group":"","resources":["nodes/*"]}]}]})");
  EXPECT_EQ(evaluatePolicy(p, res("get", "", "pods", "d", "p", "log")).level, Level::Request);
  EXPECT_EQ(evaluatePolicy(p, res("get", "", "pods", "d", "p")).level, Level::None);
  EXPECT_EQ(evaluatePolicy(p, res("update", "apps", "deployments", "d", "x", "scale")).level,
            Level::Metadata);
  EXPECT_EQ(evaluatePolicy(p, res("get", "", "nodes", "", "n", "status")).level,
            Level::RequestResponse);
}

TEST(AuditPolicyTest, NonResourceUrls) {
  Policy p = parse(R"({"apiVersion":"audit.k8s.io/v1","kind":"Policy","rules":[
    {"level":"None","nonResourceURLs":["/healthz*","/version"]},
    {"level":"Metadata"}]})");
  RequestAttributes a;
  a.verb = "get";
  a.path = "/healthz/ready";
  EXPECT_EQ(evaluatePolicy(p, a).level, Level::None);
  a.path = "/version";
  EXPECT_EQ(evaluatePolicy(p, a).level, Level::None);
  a.path = "/apis";
  EXPECT_EQ(evaluatePolicy(p, a).level, Level::Metadata);
  // A resource request never matches a nonResourceURLs rule.
  EXPECT_EQ(evaluatePolicy(p, res("get", "", "pods")).level, Level::Metadata);
}

TEST(AuditPolicyTest, OmitStagesAndManagedFields) {
  Policy p = parse(R"({"apiVersion":"audit.k8s.io/v1","kind":"Policy",
    "omitStages":["RequestReceived"],"omitManagedFields":true,"rules":[
    {"level":"Metadata","verbs":["watch"],"omitStages":["ResponseStarted"],
     "omitManagedFields":false},
    {"level":"Metadata"}]})");
  Decision w = evaluatePolicy(p, res("watch", "", "pods"));
  EXPECT_EQ(w.omit_stages, (std::set<Stage>{Stage::RequestReceived, Stage::ResponseStarted}));
  EXPECT_FALSE(w.omit_managed_fields);
  Decision g = evaluatePolicy(p, res("get", "", "pods"));
  EXPECT_EQ(g.omit_stages, (std::set<Stage>{Stage::RequestReceived}));
  EXPECT_TRUE(g.omit_managed_fields);
}

TEST(AuditPolicyTest, RejectsBadPolicies) {
  auto bad_level = parsePolicy(json::parse(
      R"({"apiVersion":"audit.k8s.io/v1","kind":"Policy","rules":[{"level":"Everything"}]})"));
  ASSERT_FALSE(bad_level);
  EXPECT_NE(bad_level.error().message().find(
                "rules[0].level: Unsupported value: \"Everything\": supported values: \"None\", "
                "\"Metadata\", \"Request\", \"RequestResponse\""),
            std::string::npos);
  EXPECT_FALSE(parsePolicy(json::parse(R"({"apiVersion":"audit.k8s.io/v1","kind":"Policy"})")));
  EXPECT_FALSE(parsePolicy(json::parse(
      R"({"apiVersion":"audit.k8s.io/v1","kind":"Policy","rules":[{"level":"Metadata",
          "omitStages":["Sometime"]}]})")));
  EXPECT_FALSE(parsePolicy(json::parse(
      R"({"apiVersion":"audit.k8s.io/v1","kind":"Policy","rules":[{"level":"Metadata",
          "nonResourceURLs":["/x"],"resources":[{"group":""}]}]})")));
  EXPECT_FALSE(parsePolicy(json::parse(R"({"apiVersion":"v1","kind":"ConfigMap"})")));
}

}  // namespace
}  // namespace skiff::master::audit
