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

TEST(QuotaUsage, DeletingPodChargesOnlyItsObjectCount) {
  json p = pod("p", {{"requests", {{"cpu", "1"}}}});
  p["metadata"]["deletionTimestamp"] = "2026-12-07T16:00:00Z";
  EXPECT_EQ(prettyPrint(usageOf("", "pods", p)), "count/pods=1");
}

TEST(QuotaJson, TextIsTheJsonDump) {
  // toJsonText is spliced into stored quotas: byte for byte what the json serialiser writes.
  for (const json& used : {json::object(), json{{"pods", "2"}},
                           json{{"requests.cpu", "1500m"},
                                {"limits.memory", "1Gi"},
                                {"count/pods", "0"},
                                {"example.com/gpu", "3"},
                                {"requests.storage", "1e3"},
                                {"cpu", "-1"}}}) {
    ResourceList list = parseList(used);
    EXPECT_EQ(toJsonText(list), toJson(list).dump());
  }
  // A name json must escape (validation never stores one) is escaped the same way.
  ResourceList odd{{"a\"b", Quantity::fromInt(1)}, {"tab\t", Quantity::fromInt(2)}};
  EXPECT_EQ(toJsonText(odd), toJson(odd).dump());
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
  // A request satisfies requests.<name> and the bare <name>; a limit only limits.<name>.
  json requests_memory = pod("p", {{"requests", {{"memory", "1Gi"}}}, {"limits", {{"cpu", "1"}}}});
  EXPECT_EQ(podConstraints(requests_memory, {"memory", "requests.memory", "limits.cpu"}), "");
  EXPECT_EQ(podConstraints(requests_memory, {"cpu", "requests.cpu", "limits.memory"}),
            "must specify cpu for: c; limits.memory for: c; requests.cpu for: c");
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

json service(const std::string& type, int ports, const std::string& rv = "7") {
  json p = json::array();
  for (int i = 0; i < ports; ++i) p.push_back({{"port", 80 + i}});
  return {{"metadata", {{"name", "s"}, {"resourceVersion", rv}}},
          {"spec", {{"type", type}, {"ports", p}}}};
}

json claim(const std::string& size, const std::string& rv = "7") {
  return {{"metadata", {{"name", "data"}, {"resourceVersion", rv}}},
          {"spec", {{"resources", {{"requests", {{"storage", size}}}}}}}};
}

TEST(QuotaUpdate, OnlyServicesAndClaimsAreChargedOnUpdate) {
  EXPECT_TRUE(handlesUpdate("", "services"));
  EXPECT_TRUE(handlesUpdate("", "persistentvolumeclaims"));
  EXPECT_FALSE(handlesUpdate("", "pods"));
  EXPECT_FALSE(handlesUpdate("", "configmaps"));
  EXPECT_FALSE(handlesUpdate("apps", "deployments"));
}

TEST(QuotaUpdate, ServiceTypeChangeChargesTheDelta) {
  json old = service("ClusterIP", 2);
  EXPECT_EQ(prettyPrint(requestDelta("", "services", service("NodePort", 2), &old)),
            "services.nodeports=2");
  EXPECT_EQ(prettyPrint(requestDelta("", "services", service("LoadBalancer", 2), &old)),
            "services.loadbalancers=1,services.nodeports=2");
  // Nothing changes, or usage shrinks: nothing to charge.
  EXPECT_TRUE(requestDelta("", "services", service("ClusterIP", 2), &old).empty());
  json np = service("NodePort", 3);
  EXPECT_TRUE(requestDelta("", "services", service("ClusterIP", 3), &np).empty());
  // One port more on a NodePort Service: one node port more.
  EXPECT_EQ(prettyPrint(requestDelta("", "services", service("NodePort", 4), &np)),
            "services.nodeports=1");
  // An old object without a resourceVersion (create on update) is billed in full.
  json unstored = service("ClusterIP", 2, "");
  EXPECT_EQ(prettyPrint(requestDelta("", "services", service("NodePort", 2), &unstored)),
            "count/services=1,services=1,services.nodeports=2");
}

TEST(QuotaUpdate, ServiceTurnedNodePortRefusedWithUpstreamMessage) {
  json q = quotaWith({{"services", "10"}, {"services.nodeports", "2"}},
                     {{"services", "3"}, {"services.nodeports", "1"}});
  json old = service("ClusterIP", 2);
  Charge c = charge("q", q, requestDelta("", "services", service("NodePort", 2), &old));
  EXPECT_EQ(c.error,
            "exceeded quota: q, requested: services.nodeports=2, used: services.nodeports=1, "
            "limited: services.nodeports=2");
}

TEST(QuotaUpdate, GrownClaimChargesTheIncrease) {
  json old = claim("1Gi");
  auto delta = requestDelta("", "persistentvolumeclaims", claim("3Gi"), &old);
  EXPECT_EQ(prettyPrint(delta), "requests.storage=2Gi");
  json q = quotaWith({{"requests.storage", "5Gi"}, {"persistentvolumeclaims", "5"}},
                     {{"requests.storage", "4Gi"}, {"persistentvolumeclaims", "2"}});
  Charge c = charge("q", q, delta);
  EXPECT_EQ(c.error,
            "exceeded quota: q, requested: requests.storage=2Gi, used: requests.storage=4Gi, "
            "limited: requests.storage=5Gi");
  json roomy = quotaWith({{"requests.storage", "10Gi"}}, {{"requests.storage", "4Gi"}});
  Charge ok = charge("q", roomy, delta);
  EXPECT_EQ(ok.error, "");
  EXPECT_EQ(prettyPrint(ok.used), "requests.storage=6Gi");
}

TEST(QuotaUpdate, ZeroDeltaIsNotCheckedAgainstAnOverfullQuota) {
  // The quota was lowered below its use: an update that adds nothing still passes.
  json old = service("NodePort", 2);
  auto delta = requestDelta("", "services", service("NodePort", 2), &old);
  EXPECT_TRUE(delta.empty());
  EXPECT_TRUE(isZero(delta));
}

TEST(QuotaUpdate, NegativeUsageNamed) {
  ResourceList l = {{"requests.storage", Quantity::parse("-1Gi").value()},
                    {"pods", Quantity::parse("1").value()}};
  EXPECT_EQ(negative(l), (std::vector<std::string>{"requests.storage"}));
}

}  // namespace
}  // namespace skiff::master::quota
