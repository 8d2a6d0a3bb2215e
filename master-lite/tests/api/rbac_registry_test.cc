// RBAC through the registry: bootstrap reconcile, validation, escalation prevention, the
// access reviews, the authorizer's messages and impersonation.
#include <gtest/gtest.h>

#include <filesystem>

#include "skiff/master/api/authorizer.h"
#include "skiff/master/api/impersonation.h"
#include "skiff/master/api/registry.h"
#include "skiff/master/rbac/bootstrap_policy.h"
#include "skiff/master/rbac/policy_index.h"
#include "skiff/master/testing/registry_fixture.h"

namespace skiff::master::api {
namespace {

using json = nlohmann::json;

class RbacRegistryTest : public ::skiff::master::testing::BootstrappedRegistryFixture {
 protected:
  void setUpRegistry() override {
    BootstrappedRegistryFixture::setUpRegistry();
    if (HasFatalFailure()) return;
    admin_.user = {"admin", {"system:masters", "system:authenticated"}};
    alice_.user = {"alice", {"dev", "system:authenticated"}};
    ASSERT_TRUE(reg_->create(res("namespaces"), "", {{"metadata", {{"name", "team"}}}}, admin_));
  }
  static const ResourceInfo& res(const std::string& r) {
    for (const char* g :
         {"", "rbac.authorization.k8s.io", "authorization.k8s.io", "authentication.k8s.io"}) {
      if (auto* i = findResource(g, "v1", r)) return *i;
    }
    ADD_FAILURE() << r;
    return allResources().front();
  }
  json binding(const std::string& name, const std::string& role_kind, const std::string& role,
               const std::string& user) {
    return {{"metadata", {{"name", name}}},
            {"roleRef", {{"kind", role_kind}, {"name", role}}},
            {"subjects", json::array({{{"kind", "User"}, {"name", user}}})}};
  }
  json role(const std::string& name, json rules) {
    return {{"metadata", {{"name", name}}}, {"rules", std::move(rules)}};
  }
  // As admin: a Role in `role_ns` (a ClusterRole when it is empty) with `rules`, bound to `user`
  // by a RoleBinding in `binding_ns` (a ClusterRoleBinding when it is empty).
  void grant(const std::string& role_ns, const std::string& role_name, json rules,
             const std::string& binding_ns, const std::string& binding_name,
             const std::string& user) {
    const char* role_kind = role_ns.empty() ? "ClusterRole" : "Role";
    auto r = reg_->create(res(role_ns.empty() ? "clusterroles" : "roles"), role_ns,
                          role(role_name, std::move(rules)), admin_);
    ASSERT_TRUE(r) << r.error().message();
    auto b = reg_->create(res(binding_ns.empty() ? "clusterrolebindings" : "rolebindings"),
                          binding_ns, binding(binding_name, role_kind, role_name, user), admin_);
    ASSERT_TRUE(b) << b.error().message();
  }
  Result<json> review(const std::string& r, const std::string& ns, json obj,
                      const WriteOptions& who) {
    auto w = reg_->create(res(r), ns, std::move(obj), who);
    if (!w) return std::move(w).error();
    return w->object;
  }

  WriteOptions admin_, alice_;
};

TEST_F(RbacRegistryTest, BootstrapPolicyIsCreatedAndReconciled) {
  for (const char* n : {"cluster-admin", "admin", "edit", "view", "system:node-proxier",
                        "system:discovery", "system:kube-scheduler"}) {
    auto r = reg_->get(res("clusterroles"), "", n);
    ASSERT_TRUE(r) << n;
    EXPECT_EQ((*r)["metadata"]["labels"]["kubernetes.io/bootstrapping"], "rbac-defaults");
  }
  auto crb = reg_->get(res("clusterrolebindings"), "", "cluster-admin");
  ASSERT_TRUE(crb);
  EXPECT_EQ((*crb)["subjects"][0]["name"], "system:masters");
  // A rule removed by hand comes back; an extra one stays.
  auto basic = reg_->get(res("clusterroles"), "", "system:basic-user");
  ASSERT_TRUE(basic);
  (*basic)["rules"] =
      json::array({{{"verbs", {"get"}}, {"apiGroups", {""}}, {"resources", {"configmaps"}}}});
  ASSERT_TRUE(reg_->update(res("clusterroles"), "", "system:basic-user", *basic, admin_));
  auto rep = rbac::reconcileBootstrapPolicy(*reg_);
  ASSERT_TRUE(rep);
  EXPECT_EQ(rep->updated, 1);
  EXPECT_EQ(rep->created, 0);
  auto after = reg_->get(res("clusterroles"), "", "system:basic-user");
  // The extra rule stays; the three missing permissions come back (broken down).
  EXPECT_EQ((*after)["rules"].size(), 4u);
  // autoupdate=false: left alone.
  (*after)["metadata"]["annotations"]["rbac.authorization.kubernetes.io/autoupdate"] = "false";
  (*after)["rules"] = json::array();
  ASSERT_TRUE(reg_->update(res("clusterroles"), "", "system:basic-user", *after, admin_));
  rep = rbac::reconcileBootstrapPolicy(*reg_);
  EXPECT_EQ(rep->updated, 0);
  EXPECT_TRUE(reg_->get(res("clusterroles"), "", "system:basic-user")->at("rules").empty());
}

TEST_F(RbacRegistryTest, ValidationAndDefaults) {
  auto b = reg_->create(res("rolebindings"), "team", binding("b", "ClusterRole", "view", "alice"),
                        admin_);
  ASSERT_TRUE(b) << b.error().message();
  EXPECT_EQ(b->object["roleRef"]["apiGroup"], "rbac.authorization.k8s.io");
  EXPECT_EQ(b->object["subjects"][0]["apiGroup"], "rbac.authorization.k8s.io");
  json changed = b->object;
  changed["roleRef"]["name"] = "edit";
  auto u = reg_->update(res("rolebindings"), "team", "b", changed, admin_);
  ASSERT_FALSE(u);
  EXPECT_NE(u.error().message().find("roleRef: Invalid value: "), std::string::npos);
  EXPECT_NE(u.error().message().find(": cannot change roleRef"), std::string::npos);
  auto bad = reg_->create(res("clusterrolebindings"), "",
                          {{"metadata", {{"name", "x"}}},
                           {"roleRef", {{"kind", "Role"}, {"name", "r"}}},
                           {"subjects", json::array({{{"kind", "Robot"}, {"name", "r2"}}})}},
                          admin_);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(),
            "ClusterRoleBinding.rbac.authorization.k8s.io \"x\" is invalid: [roleRef.kind: "
            "Unsupported value: \"Role\": supported values: \"ClusterRole\", subjects[0].kind: "
            "Unsupported value: \"Robot\": supported values: \"ServiceAccount\", \"User\", "
            "\"Group\"]");
  auto r =
      reg_->create(res("roles"), "team",
                   role("system:weird:name", json::array({{{"verbs", json::array()}}})), admin_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("rules[0].verbs: Required value: verbs must contain at "
                                     "least one value"),
            std::string::npos);
  EXPECT_EQ(r.error().message().find("metadata.name"), std::string::npos);
}

TEST_F(RbacRegistryTest, RoleGrantingMoreThanCallerHoldsIsForbidden) {
  grant("team", "pod-reader",
        json::array({{{"verbs", {"get", "list"}}, {"apiGroups", {""}}, {"resources", {"pods"}}}}),
        "team", "alice-pods", "alice");
  auto held = reg_->create(
      res("roles"), "team",
      role("mine",
           json::array({{{"verbs", {"get"}}, {"apiGroups", {""}}, {"resources", {"pods"}}}})),
      alice_);
  EXPECT_TRUE(held) << held.error().message();
  auto more = reg_->create(res("roles"), "team",
                           role("more", json::array({{{"verbs", {"get", "create"}},
                                                      {"apiGroups", {""}},
                                                      {"resources", {"pods", "secrets"}}}})),
                           alice_);
  testing::expectForbidden(
      more,
      "roles.rbac.authorization.k8s.io \"more\" is forbidden: user \"alice\" "
      "(groups=[\"dev\" \"system:authenticated\"]) is attempting to grant RBAC permissions "
      "not currently held:\n{APIGroups:[\"\"], Resources:[\"pods\"], Verbs:[\"create\"]}\n"
      "{APIGroups:[\"\"], Resources:[\"secrets\"], Verbs:[\"get\" \"create\"]}");
  // Binding a role alice holds is fine; binding cluster-admin is not, unless she may `bind` it.
  EXPECT_TRUE(reg_->create(res("rolebindings"), "team",
                           binding("share", "Role", "pod-reader", "bob"), alice_));
  auto admin = reg_->create(res("rolebindings"), "team",
                            binding("grab", "ClusterRole", "cluster-admin", "alice"), alice_);
  ASSERT_FALSE(admin);
  EXPECT_NE(admin.error().message().find("{APIGroups:[\"*\"], Resources:[\"*\"], Verbs:[\"*\"]}"),
            std::string::npos);
  grant("", "binder",
        json::array({{{"verbs", {"bind"}},
                      {"apiGroups", {"rbac.authorization.k8s.io"}},
                      {"resources", {"clusterroles"}},
                      {"resourceNames", {"cluster-admin"}}}}),
        "team", "alice-binder", "alice");
  EXPECT_TRUE(reg_->create(res("rolebindings"), "team",
                           binding("grab", "ClusterRole", "cluster-admin", "alice"), alice_));
  // `escalate` on roles lets her write any Role in the namespace.
  grant("team", "escalator",
        json::array({{{"verbs", {"escalate"}},
                      {"apiGroups", {"rbac.authorization.k8s.io"}},
                      {"resources", {"roles"}}}}),
        "team", "alice-esc", "alice");
  EXPECT_TRUE(reg_->create(
      res("roles"), "team",
      role("more",
           json::array({{{"verbs", {"*"}}, {"apiGroups", {""}}, {"resources", {"secrets"}}}})),
      alice_));
}

TEST_F(RbacRegistryTest, AccessReviewsAnswerWithoutStoring) {
  ASSERT_TRUE(reg_->create(res("rolebindings"), "team",
                           binding("alice-admin", "ClusterRole", "cluster-admin", "alice"),
                           admin_));
  json sar = {{"spec",
               {{"user", "alice"},
                {"resourceAttributes",
                 {{"verb", "delete"}, {"resource", "pods"}, {"namespace", "team"}}}}}};
  auto a = review("subjectaccessreviews", "", sar, admin_);
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_EQ((*a)["status"]["allowed"], true);
  EXPECT_EQ((*a)["status"]["reason"],
            "RBAC: allowed by RoleBinding \"alice-admin/team\" of ClusterRole \"cluster-admin\" "
            "to User \"alice\"");
  sar["spec"]["resourceAttributes"]["namespace"] = "default";
  EXPECT_EQ((*review("subjectaccessreviews", "", sar, admin_))["status"]["allowed"], false);
  auto invalid = review("subjectaccessreviews", "", {{"spec", json::object()}}, admin_);
  ASSERT_FALSE(invalid);
  EXPECT_NE(invalid.error().message().find(
                "spec.user: Invalid value: \"\": at least one of user or group must be specified"),
            std::string::npos);
  // Self: the caller is the subject.
  json ssar = {{"spec", {{"nonResourceAttributes", {{"path", "/api"}, {"verb", "get"}}}}}};
  EXPECT_EQ((*review("selfsubjectaccessreviews", "", ssar, alice_))["status"]["allowed"], true);
  auto rules = review("selfsubjectrulesreviews", "", {{"spec", {{"namespace", "team"}}}}, alice_);
  ASSERT_TRUE(rules);
  EXPECT_EQ((*rules)["status"]["resourceRules"][0]["verbs"], json::array({"*"}));
  EXPECT_EQ((*rules)["status"]["incomplete"], false);
  auto who = review("selfsubjectreviews", "", json::object(), alice_);
  ASSERT_TRUE(who);
  EXPECT_EQ((*who)["status"]["userInfo"]["username"], "alice");
  EXPECT_EQ((*who)["kind"], "SelfSubjectReview");
  // LocalSubjectAccessReview: namespaces must agree.
  json lsar = {
      {"spec",
       {{"user", "alice"},
        {"resourceAttributes", {{"verb", "get"}, {"resource", "pods"}, {"namespace", "x"}}}}}};
  auto l = review("localsubjectaccessreviews", "team", lsar, admin_);
  ASSERT_FALSE(l);
  EXPECT_EQ(l.error().message(), "spec.resourceAttributes.namespace must match namespace: team");
  // Nothing was stored.
  for (const char* r : {"subjectaccessreviews", "localsubjectaccessreviews",
                        "selfsubjectaccessreviews", "selfsubjectrulesreviews"})
    EXPECT_EQ(store_->list(std::string("/registry/") + r + "/")->items.size(), 0u) << r;
}

TEST_F(RbacRegistryTest, ForbiddenMessagesAndTheRbacSuffix) {
  RequestAttributes a{"list", findResource("", "v1", "pods"), "", "default", "", ""};
  auto d = authorize(*reg_, alice_.user, a);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().message(),
            "pods is forbidden: User \"alice\" cannot list resource \"pods\" in API group \"\" "
            "in the namespace \"default\"");
  EXPECT_TRUE(authorize(*reg_, admin_.user, a));
  ASSERT_TRUE(reg_->create(res("rolebindings"), "default",
                           binding("dangling", "Role", "gone", "alice"), admin_));
  d = authorize(*reg_, alice_.user, a);
  EXPECT_EQ(d.error().message(),
            "pods is forbidden: User \"alice\" cannot list resource \"pods\" in API group \"\" "
            "in the namespace \"default\": RBAC: role.rbac.authorization.k8s.io \"gone\" not "
            "found");
  RequestAttributes nodes{"get", findResource("", "v1", "nodes"), "", "", "n1", ""};
  EXPECT_EQ(authorize(*reg_, alice_.user, nodes).error().message(),
            "nodes \"n1\" is forbidden: User \"alice\" cannot get resource \"nodes\" in API "
            "group \"\" at the cluster scope");
  // Discovery and health come from system:discovery / system:public-info-viewer.
  RequestAttributes api{"get", nullptr, "", "", "", "/apis/apps/v1"};
  EXPECT_TRUE(authorize(*reg_, alice_.user, api));
  RequestAttributes metrics{"get", nullptr, "", "", "", "/metrics"};
  EXPECT_EQ(authorize(*reg_, alice_.user, metrics).error().message(),
            "forbidden: User \"alice\" cannot get path \"/metrics\"");
  UserInfo anon{"system:anonymous", {"system:unauthenticated"}};
  EXPECT_TRUE(authorize(*reg_, anon, RequestAttributes{"get", nullptr, "", "", "", "/healthz"}));
  EXPECT_FALSE(authorize(*reg_, anon, api));
  // Bootstrap tokens may create CSRs through skiff:kubelet-bootstrap.
  UserInfo boot{"system:bootstrap:abcdef", {"system:bootstrappers", "system:authenticated"}};
  RequestAttributes csr{
      "create", findResource("certificates.k8s.io", "v1", "certificatesigningrequests"), "", "", "",
      ""};
  EXPECT_TRUE(authorize(*reg_, boot, csr));
}

TEST_F(RbacRegistryTest, ImpersonationNeedsTheVerb) {
  ImpersonationRequest as_bob;
  as_bob.user = "bob";
  auto denied = impersonate(*reg_, alice_.user, as_bob);
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().message(),
            "users \"bob\" is forbidden: User \"alice\" cannot impersonate resource \"users\" in "
            "API group \"\" at the cluster scope");
  auto ok = impersonate(*reg_, admin_.user, as_bob);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->name, "bob");
  EXPECT_EQ(ok->groups, std::vector<std::string>{"system:authenticated"});
  ImpersonationRequest sa;
  sa.user = "system:serviceaccount:team:builder";
  auto got = impersonate(*reg_, admin_.user, sa);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->groups,
            (std::vector<std::string>{"system:serviceaccounts", "system:serviceaccounts:team",
                                      "system:authenticated"}));
  // Only users: impersonating a group too needs `impersonate` on groups.
  grant("", "imp-users",
        json::array({{{"verbs", {"impersonate"}}, {"apiGroups", {""}}, {"resources", {"users"}}}}),
        "", "alice-imp", "alice");
  EXPECT_TRUE(impersonate(*reg_, alice_.user, as_bob));
  as_bob.groups = {"system:masters"};
  auto grp = impersonate(*reg_, alice_.user, as_bob);
  ASSERT_FALSE(grp);
  EXPECT_EQ(grp.error().message(),
            "groups \"system:masters\" is forbidden: User \"alice\" cannot impersonate resource "
            "\"groups\" in API group \"\" at the cluster scope");
  ImpersonationRequest no_user;
  no_user.groups = {"g"};
  auto bad = impersonate(*reg_, admin_.user, no_user);
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().is(ErrorCode::BadRequest));
  auto parsed = impersonationOf({{"impersonate-user", "bob"},
                                 {"impersonate-group", "a\nb"},
                                 {"impersonate-extra-scopes%2fx", "s1"}});
  EXPECT_EQ(parsed.groups, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(parsed.extra["scopes/x"], std::vector<std::string>{"s1"});
}

}  // namespace
}  // namespace skiff::master::api
