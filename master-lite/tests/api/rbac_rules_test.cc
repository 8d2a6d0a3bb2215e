#include "skiff/master/rbac/rules.h"

#include <gtest/gtest.h>

#include "skiff/master/rbac/policy_index.h"

namespace skiff::master::rbac {
namespace {

Attributes res(std::string verb, std::string group, std::string resource, std::string sub = "",
               std::string ns = "default", std::string name = "") {
  Attributes a;
  a.verb = std::move(verb);
  a.api_group = std::move(group);
  a.resource = std::move(resource);
  a.subresource = std::move(sub);
  a.ns = std::move(ns);
  a.name = std::move(name);
  return a;
}

Attributes path(std::string verb, std::string p) {
  Attributes a;
  a.resource_request = false;
  a.verb = std::move(verb);
  a.path = std::move(p);
  return a;
}

TEST(RbacRulesTest, VerbGroupResourceAndWildcards) {
  PolicyRule r{{"get", "list"}, {""}, {"pods"}, {}, {}};
  EXPECT_TRUE(ruleAllows(res("get", "", "pods"), r));
  EXPECT_FALSE(ruleAllows(res("create", "", "pods"), r));
  EXPECT_FALSE(ruleAllows(res("get", "apps", "pods"), r));
  EXPECT_FALSE(ruleAllows(res("get", "", "pods", "log"), r));  // subresources are separate
  PolicyRule all{{"*"}, {"*"}, {"*"}, {}, {}};
  EXPECT_TRUE(ruleAllows(res("delete", "apps", "deployments", "scale"), all));
  EXPECT_TRUE(ruleAllows(res("*", "", "*"), all));         // kubectl auth can-i '*' '*'
  EXPECT_FALSE(ruleAllows(path("get", "/healthz"), all));  // resources never grant paths
}

TEST(RbacRulesTest, SubresourcesAndResourceNames) {
  PolicyRule log{{"get"}, {""}, {"pods/log"}, {}, {}};
  EXPECT_TRUE(ruleAllows(res("get", "", "pods", "log"), log));
  EXPECT_FALSE(ruleAllows(res("get", "", "pods"), log));
  PolicyRule scale{{"update"}, {"apps"}, {"*/scale"}, {}, {}};
  EXPECT_TRUE(ruleAllows(res("update", "apps", "deployments", "scale"), scale));
  EXPECT_FALSE(ruleAllows(res("update", "apps", "deployments"), scale));
  PolicyRule named{{"get", "update"}, {""}, {"configmaps"}, {"cfg"}, {}};
  EXPECT_TRUE(ruleAllows(res("get", "", "configmaps", "", "ns", "cfg"), named));
  EXPECT_FALSE(ruleAllows(res("get", "", "configmaps", "", "ns", "other"), named));
  EXPECT_FALSE(ruleAllows(res("list", "", "configmaps", "", "ns", ""), named));
}

TEST(RbacRulesTest, NonResourceUrlsWithTrailingStar) {
  PolicyRule r{{"get"}, {}, {}, {}, {"/healthz", "/apis/*"}};
  EXPECT_TRUE(ruleAllows(path("get", "/healthz"), r));
  EXPECT_FALSE(ruleAllows(path("get", "/healthz/etcd"), r));
  EXPECT_TRUE(ruleAllows(path("get", "/apis/apps/v1"), r));
  EXPECT_FALSE(ruleAllows(path("get", "/apis"), r));
  EXPECT_FALSE(ruleAllows(path("post", "/healthz"), r));
  EXPECT_FALSE(ruleAllows(res("get", "", "pods"), r));
}

TEST(RbacRulesTest, CoversReportsCompactedMissingRules) {
  PolicyRules owner{{{"get", "list", "watch"}, {""}, {"pods"}, {}, {}}};
  PolicyRules want{{{"get", "create", "delete"}, {""}, {"pods", "nodes"}, {}, {}}};
  PolicyRules missing;
  EXPECT_FALSE(covers(owner, want, &missing));
  std::vector<std::string> got;
  for (const auto& m : missing) got.push_back(m.compactString());
  EXPECT_EQ(got, (std::vector<std::string>{
                     "{APIGroups:[\"\"], Resources:[\"pods\"], Verbs:[\"create\" \"delete\"]}",
                     "{APIGroups:[\"\"], Resources:[\"nodes\"], Verbs:[\"get\" \"create\" "
                     "\"delete\"]}"}));
  EXPECT_TRUE(covers({{{"*"}, {"*"}, {"*"}, {}, {}}}, want, nullptr));
  // */scale covers deployments/scale; a named grant does not cover an unnamed one.
  EXPECT_TRUE(covers({{{"get"}, {"apps"}, {"*/scale"}, {}, {}}},
                     {{{"get"}, {"apps"}, {"deployments/scale"}, {}, {}}}, nullptr));
  EXPECT_FALSE(covers({{{"get"}, {""}, {"secrets"}, {"a"}, {}}},
                      {{{"get"}, {""}, {"secrets"}, {}, {}}}, nullptr));
  EXPECT_TRUE(covers({{{"get"}, {}, {}, {}, {"/metrics*"}}},
                     {{{"get"}, {}, {}, {}, {"/metrics/slis"}}}, nullptr));
}

TEST(RbacRulesTest, JsonRoundTrip) {
  nlohmann::json j = {
      {"verbs", {"get"}}, {"apiGroups", {""}}, {"resources", {"pods"}}, {"resourceNames", {"a"}}};
  EXPECT_EQ(ruleFromJson(j).toJson(), j);
}

// The index: bindings apply by subject and namespace, missing roles are reported.
class PolicyIndexTest : public ::testing::Test {
 protected:
  void role(const std::string& ns, const std::string& name, nlohmann::json rules) {
    std::string key = ns.empty() ? std::string(kStorePrefix) + "clusterroles/" + name
                                 : std::string(kStorePrefix) + "roles/" + ns + "/" + name;
    idx_.put(key, nlohmann::json{{"rules", rules}}.dump());
  }
  void bind(const std::string& ns, const std::string& name, const std::string& kind,
            const std::string& role_name, nlohmann::json subjects) {
    std::string key = ns.empty() ? std::string(kStorePrefix) + "clusterrolebindings/" + name
                                 : std::string(kStorePrefix) + "rolebindings/" + ns + "/" + name;
    idx_.put(key, nlohmann::json{{"roleRef", {{"kind", kind}, {"name", role_name}}},
                                 {"subjects", subjects}}
                      .dump());
  }
  PolicyIndex idx_;
};

TEST_F(PolicyIndexTest, RoleBindingAppliesOnlyInItsNamespace) {
  role("", "view", {{{"verbs", {"get", "list"}}, {"apiGroups", {""}}, {"resources", {"pods"}}}});
  bind("team", "alice-view", "ClusterRole", "view", {{{"kind", "User"}, {"name", "alice"}}});
  Subject alice{"alice", {"system:authenticated"}};
  EXPECT_TRUE(idx_.authorize(alice, res("list", "", "pods", "", "team")).allowed);
  EXPECT_FALSE(idx_.authorize(alice, res("list", "", "pods", "", "default")).allowed);
  EXPECT_FALSE(idx_.authorize(alice, res("list", "", "pods", "", "")).allowed);
  EXPECT_FALSE(idx_.authorize({"bob", {}}, res("list", "", "pods", "", "team")).allowed);
  auto d = idx_.authorize(alice, res("get", "", "pods", "", "team"));
  EXPECT_EQ(d.reason,
            "RBAC: allowed by RoleBinding \"alice-view/team\" of ClusterRole \"view\" to User "
            "\"alice\"");
  idx_.remove(std::string(kStorePrefix) + "rolebindings/team/alice-view");
  EXPECT_FALSE(idx_.authorize(alice, res("list", "", "pods", "", "team")).allowed);
  EXPECT_EQ(idx_.bindingCount(), 0u);
}

TEST_F(PolicyIndexTest, GroupsServiceAccountsAndMissingRoles) {
  role("", "admin", {{{"verbs", {"*"}}, {"apiGroups", {"*"}}, {"resources", {"*"}}}});
  bind("", "masters", "ClusterRole", "admin", {{{"kind", "Group"}, {"name", "system:masters"}}});
  bind("kube-system", "sa", "ClusterRole", "admin",
       {{{"kind", "ServiceAccount"}, {"name", "ctrl"}}});  // namespace defaults to the binding's
  bind("", "ghost", "ClusterRole", "nope", {{{"kind", "User"}, {"name", "carol"}}});
  EXPECT_TRUE(
      idx_.authorize({"x", {"system:masters"}}, res("delete", "", "nodes", "", "")).allowed);
  EXPECT_TRUE(idx_.authorize({"system:serviceaccount:kube-system:ctrl", {}},
                             res("get", "", "secrets", "", "kube-system"))
                  .allowed);
  auto d = idx_.authorize({"carol", {}}, res("get", "", "pods"));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, "RBAC: clusterrole.rbac.authorization.k8s.io \"nope\" not found");
  // A role appearing later applies at once.
  role("", "nope", {{{"verbs", {"get"}}, {"apiGroups", {""}}, {"resources", {"pods"}}}});
  EXPECT_TRUE(idx_.authorize({"carol", {}}, res("get", "", "pods")).allowed);
  std::vector<std::string> errors;
  EXPECT_EQ(idx_.rulesFor({"carol", {}}, "default", &errors).size(), 1u);
  EXPECT_TRUE(errors.empty());
}

TEST_F(PolicyIndexTest, UpdatedBindingReplacesItsSubjects) {
  role("", "r", {{{"verbs", {"get"}}, {"apiGroups", {""}}, {"resources", {"pods"}}}});
  bind("", "b", "ClusterRole", "r", {{{"kind", "User"}, {"name", "a"}}});
  bind("", "b", "ClusterRole", "r", {{{"kind", "User"}, {"name", "b"}}});
  EXPECT_FALSE(idx_.authorize({"a", {}}, res("get", "", "pods")).allowed);
  EXPECT_TRUE(idx_.authorize({"b", {}}, res("get", "", "pods")).allowed);
  EXPECT_EQ(idx_.bindingCount(), 1u);
}

}  // namespace
}  // namespace skiff::master::rbac
