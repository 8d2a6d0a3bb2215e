// ResourceQuota arithmetic against upstream's behaviour (pkg/quota/v1, evaluator/core).
#include "skiff/master/quota/quota.h"

#include <gtest/gtest.h>

namespace skiff::master::quota {
namespace {

json pod(const std::string& name, json resources = json::object(), std::string phase = "Running") {
  return {{"metadata", {{"name", name}}},
          {"spec", {{"containers", {{{"name", "c"}, {"resources", resources}}}}}},
          {"status", {{"phase", phase}}}};
}

json quotaWith(json hard, json used) {
  return {{"metadata", {{"name", "q"}}},
          {"spec", {{"hard", hard}}},
          {"status", {{"hard", hard}, {"used", used}}}};
}

TEST(QuotaUsage, PodChargesPodsCountAndCompute) {
  auto u = usageOf("", "pods",
                   pod("p", {{"requests", {{"cpu", "250m"}, {"memory", "64Mi"}}},
                             {"limits", {{"cpu", "500m"}, {"memory", "128Mi"}}}}));
  EXPECT_EQ(prettyPrint(u),
            "count/pods=1,cpu=250m,limits.cpu=500m,limits.memory=128Mi,memory=64Mi,pods=1,"
            "requests.cpu=250m,requests.memory=64Mi");
}

TEST(QuotaUsage, TerminalPodChargesOnlyItsObjectCount) {
  EXPECT_EQ(prettyPrint(usageOf("", "pods", pod("p", json::object(), "Succeeded"))),
            "count/pods=1");
}

TEST(QuotaUsage, ObjectCountsAndServices) {
  EXPECT_EQ(prettyPrint(usageOf("", "configmaps", json::object())),
            "configmaps=1,count/configmaps=1");
  EXPECT_EQ(prettyPrint(usageOf("apps", "deployments", json::object())),
            "count/deployments.apps=1");
  json svc = {{"spec", {{"type", "NodePort"}, {"ports", {{{"port", 80}}, {{"port", 443}}}}}}};
  EXPECT_EQ(prettyPrint(usageOf("", "services", svc)),
            "count/services=1,services=1,services.nodeports=2");
}

TEST(QuotaCharge, RefusesWithUpstreamMessage) {
  json q = quotaWith({{"pods", "3"}}, {{"pods", "3"}});
  Charge c = charge("q", q, usageOf("", "pods", pod("p4")));
  EXPECT_EQ(c.error, "exceeded quota: q, requested: pods=1, used: pods=3, limited: pods=3");
}

TEST(QuotaCharge, AdmitsAndChargesOnlyTrackedResources) {
  json q =
      quotaWith({{"pods", "3"}, {"requests.cpu", "1"}}, {{"pods", "1"}, {"requests.cpu", "250m"}});
  Charge c = charge("q", q, usageOf("", "pods", pod("p", {{"requests", {{"cpu", "500m"}}}})));
  EXPECT_EQ(c.error, "");
  EXPECT_EQ(prettyPrint(c.used), "pods=2,requests.cpu=750m");
}

TEST(QuotaCharge, ListsEveryExceededResource) {
  json q =
      quotaWith({{"pods", "1"}, {"requests.cpu", "1"}}, {{"pods", "1"}, {"requests.cpu", "1"}});
  Charge c = charge("q", q, usageOf("", "pods", pod("p", {{"requests", {{"cpu", "1"}}}})));
  EXPECT_EQ(c.error,
            "exceeded quota: q, requested: pods=1,requests.cpu=1, used: pods=1,requests.cpu=1, "
            "limited: pods=1,requests.cpu=1");
}

TEST(QuotaConstraints, ComputeQuotaRequiresLimits) {
  EXPECT_EQ(podConstraints(pod("p"), {"limits.cpu", "limits.memory", "pods"}),
            "must specify limits.cpu for: c; limits.memory for: c");
  EXPECT_EQ(podConstraints(pod("p", {{"limits", {{"cpu", "1"}}}}), {"limits.cpu"}), "");
  EXPECT_EQ(podConstraints(pod("p"), {"pods"}), "");
}

TEST(QuotaScopes, BestEffortAndTerminating) {
  json be = {{"spec", {{"scopes", {"BestEffort"}}}}};
  EXPECT_TRUE(matchesScopes(be, "pods", pod("p")));
  EXPECT_FALSE(matchesScopes(be, "pods", pod("p", {{"requests", {{"cpu", "1"}}}})));
  json term = {{"spec", {{"scopes", {"Terminating"}}}}};
  json p = pod("p");
  EXPECT_FALSE(matchesScopes(term, "pods", p));
  p["spec"]["activeDeadlineSeconds"] = 30;
  EXPECT_TRUE(matchesScopes(term, "pods", p));
  json pc = {
      {"spec",
       {{"scopeSelector",
         {{"matchExpressions",
           {{{"scopeName", "PriorityClass"}, {"operator", "In"}, {"values", {"high"}}}}}}}}}};
  p["spec"]["priorityClassName"] = "high";
  EXPECT_TRUE(matchesScopes(pc, "pods", p));
  p["spec"]["priorityClassName"] = "low";
  EXPECT_FALSE(matchesScopes(pc, "pods", p));
}

TEST(QuotaTracks, MatchingResources) {
  EXPECT_EQ(matchingResources("", "pods", {"pods", "secrets", "requests.cpu", "count/pods"}),
            (std::vector<std::string>{"pods", "requests.cpu", "count/pods"}));
  EXPECT_EQ(matchingResources("", "secrets", {"pods", "secrets", "count/secrets"}),
            (std::vector<std::string>{"secrets", "count/secrets"}));
}

}  // namespace
}  // namespace skiff::master::quota
