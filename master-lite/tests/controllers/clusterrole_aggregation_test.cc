#include <gtest/gtest.h>

#include "harness.h"

namespace skiff::master::testing {
namespace {

const GroupVersionResource kClusterRoles{"rbac.authorization.k8s.io", "v1", "clusterroles"};

json clusterRole(const std::string& name, json labels, json rules) {
  return {{"apiVersion", "rbac.authorization.k8s.io/v1"},
          {"kind", "ClusterRole"},
          {"metadata", {{"name", name}, {"labels", std::move(labels)}}},
          {"rules", std::move(rules)}};
}

json rule(const std::string& verb, const std::string& resource) {
  return {{"verbs", {verb}}, {"apiGroups", {""}}, {"resources", {resource}}};
}

TEST(ClusterRoleAggregationTest, FillsRulesFromSelectedRolesAndFollowsChanges) {
  Harness h;
  h.add(newClusterRoleAggregationController(h.client, h.clock));
  json view = clusterRole("view", json::object(), json::array());
  view["aggregationRule"] = {
      {"clusterRoleSelectors", json::array({{{"matchLabels", {{"agg", "view"}}}}})}};
  ASSERT_TRUE(h.client.create(kClusterRoles, "", view));
  ASSERT_TRUE(h.client.create(
      kClusterRoles, "",
      clusterRole("b-pods", {{"agg", "view"}}, json::array({rule("get", "pods")}))));
  ASSERT_TRUE(
      h.client.create(kClusterRoles, "",
                      clusterRole("a-svc", {{"agg", "view"}},
                                  json::array({rule("get", "services"), rule("get", "pods")}))));
  ASSERT_TRUE(h.client.create(
      kClusterRoles, "",
      clusterRole("other", {{"agg", "edit"}}, json::array({rule("delete", "pods")}))));
  h.start();
  h.settle();
  auto got = h.client.get(kClusterRoles, "", "view");
  ASSERT_TRUE(got);
  // Name order, no repeats, nothing from roles the selector does not match.
  EXPECT_EQ((*got)["rules"], json::array({rule("get", "services"), rule("get", "pods")}));
  // A newly labelled role is added; a deleted one taken away.
  ASSERT_TRUE(h.client.create(
      kClusterRoles, "",
      clusterRole("c-cm", {{"agg", "view"}}, json::array({rule("list", "configmaps")}))));
  h.settle();
  EXPECT_EQ((*h.client.get(kClusterRoles, "", "view"))["rules"].size(), 3u);
  ASSERT_TRUE(h.client.remove(kClusterRoles, "", "a-svc"));
  h.settle();
  EXPECT_EQ((*h.client.get(kClusterRoles, "", "view"))["rules"],
            json::array({rule("get", "pods"), rule("list", "configmaps")}));
}

}  // namespace
}  // namespace skiff::master::testing
