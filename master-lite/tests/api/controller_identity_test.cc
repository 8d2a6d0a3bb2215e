// The controllers' and scheduler's identities: the bootstrap system:controller:* roles and
// bindings (controller_policy.go), the kube-system ServiceAccounts they name, and in-process
// clients authorized through the same chain as HTTP requests.
#include <gtest/gtest.h>

#include "skiff/master/api/registry.h"
#include "skiff/master/rbac/bootstrap_policy.h"
#include "skiff/master/rbac/rules.h"
#include "skiff/master/testing/registry_fixture.h"

namespace skiff::master::api {
namespace {

using json = nlohmann::json;

class ControllerIdentityTest : public ::skiff::master::testing::BootstrappedRegistryFixture {
 protected:
  static const ResourceInfo& rbacRes(const std::string& r) {
    return *findResource("rbac.authorization.k8s.io", "v1", r);
  }
};

TEST_F(ControllerIdentityTest, EveryControllerRoleAndBindingIsBootstrapped) {
  const ResourceInfo& sas = *findResource("", "v1", "serviceaccounts");
  for (const char* n : {"replicaset-controller",
                        "deployment-controller",
                        "daemon-set-controller",
                        "statefulset-controller",
                        "job-controller",
                        "cronjob-controller",
                        "endpoint-controller",
                        "endpointslice-controller",
                        "namespace-controller",
                        "service-account-controller",
                        "root-ca-cert-publisher",
                        "clusterrole-aggregation-controller",
                        "generic-garbage-collector",
                        "node-controller",
                        "pod-garbage-collector",
                        "resourcequota-controller",
                        "disruption-controller",
                        "horizontal-pod-autoscaler",
                        "persistent-volume-binder",
                        "ttl-after-finished-controller",
                        "certificate-controller",
                        "pvc-protection-controller",
                        "pv-protection-controller",
                        "replication-controller",
                        "ephemeral-volume-controller",
                        "expand-controller"}) {
    std::string name = std::string("system:controller:") + n;
    auto role = reg_->get(rbacRes("clusterroles"), "", name);
    ASSERT_TRUE(role) << name;
    EXPECT_EQ((*role)["metadata"]["labels"]["kubernetes.io/bootstrapping"], "rbac-defaults");
    EXPECT_EQ((*role)["metadata"]["annotations"]["rbac.authorization.kubernetes.io/autoupdate"],
              "true");
    EXPECT_FALSE((*role)["rules"].empty()) << name;
    auto b = reg_->get(rbacRes("clusterrolebindings"), "", name);
    ASSERT_TRUE(b) << name;
    EXPECT_EQ(
        (*b)["roleRef"],
        json({{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "ClusterRole"}, {"name", name}}));
    EXPECT_EQ(
        (*b)["subjects"],
        json::array({{{"kind", "ServiceAccount"}, {"name", n}, {"namespace", "kube-system"}}}));
    EXPECT_EQ((*b)["metadata"]["labels"]["kubernetes.io/bootstrapping"], "rbac-defaults");
    EXPECT_TRUE(reg_->get(sas, "kube-system", n)) << n;
  }
  // Roles of controllers skiff does not run exist with their bindings, as kube-apiserver makes
  // them; their ServiceAccounts do not (nothing acts with them).
  for (const char* n :
       {"attachdetach-controller", "endpointslicemirroring-controller", "route-controller",
        "service-controller", "ttl-controller", "validatingadmissionpolicy-status-controller",
        "legacy-service-account-token-cleaner"}) {
    std::string name = std::string("system:controller:") + n;
    EXPECT_TRUE(reg_->get(rbacRes("clusterroles"), "", name)) << name;
    EXPECT_TRUE(reg_->get(rbacRes("clusterrolebindings"), "", name)) << name;
    EXPECT_FALSE(reg_->get(sas, "kube-system", n)) << n;
  }
  // The taint eviction controller works under node-controller's role, as upstream: there is no
  // role of its own.
  EXPECT_FALSE(
      reg_->get(rbacRes("clusterroles"), "", "system:controller:taint-eviction-controller"));
  // Upstream's rules, e.g. the deployment controller's.
  auto dc = reg_->get(rbacRes("clusterroles"), "", "system:controller:deployment-controller");
  ASSERT_TRUE(dc);
  EXPECT_EQ((*dc)["rules"][3],
            json({{"verbs", {"get", "list", "watch", "create", "update", "patch", "delete"}},
                  {"apiGroups", {"apps", "extensions"}},
                  {"resources", {"replicasets"}}}));
  EXPECT_EQ((*dc)["rules"][5], json({{"verbs", {"create", "update", "patch"}},
                                     {"apiGroups", {"", "events.k8s.io"}},
                                     {"resources", {"events"}}}));
}

TEST_F(ControllerIdentityTest, ControllerRolesAreReconciled) {
  WriteOptions admin;
  admin.user = {"admin", {"system:masters", "system:authenticated"}};
  const std::string name = "system:controller:job-controller";
  auto role = reg_->get(rbacRes("clusterroles"), "", name);
  ASSERT_TRUE(role);
  json trimmed = *role;
  trimmed["rules"] = json::array({(*role)["rules"][0]});
  ASSERT_TRUE(reg_->update(rbacRes("clusterroles"), "", name, trimmed, admin));
  auto b = reg_->get(rbacRes("clusterrolebindings"), "", name);
  ASSERT_TRUE(b);
  (*b)["subjects"] = json::array();
  ASSERT_TRUE(reg_->update(rbacRes("clusterrolebindings"), "", name, *b, admin));
  ASSERT_TRUE(reg_->remove(*findResource("", "v1", "serviceaccounts"), "kube-system",
                           "job-controller", {}, admin));
  auto rep = rbac::reconcileBootstrapPolicy(*reg_);
  ASSERT_TRUE(rep) << rep.error().message();
  EXPECT_EQ(rep->updated, 2);
  EXPECT_EQ(rep->created, 1);  // the ServiceAccount
  auto after = reg_->get(rbacRes("clusterroles"), "", name);
  rbac::PolicyRules have = rbac::rulesFromJson((*after)["rules"]);
  rbac::PolicyRules want = rbac::rulesFromJson((*role)["rules"]);
  EXPECT_TRUE(rbac::covers(have, want, nullptr));
  auto b2 = reg_->get(rbacRes("clusterrolebindings"), "", name);
  EXPECT_EQ((*b2)["subjects"].size(), 1u);
  EXPECT_TRUE(
      reg_->get(*findResource("", "v1", "serviceaccounts"), "kube-system", "job-controller"));
}

const GroupVersionResource kPods{"", "v1", "pods"};
const GroupVersionResource kReplicaSets{"apps", "v1", "replicasets"};
const GroupVersionResource kSecrets{"", "v1", "secrets"};
const GroupVersionResource kNodes{"", "v1", "nodes"};

json pod(const std::string& name) {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", {{"name", name}, {"namespace", "default"}}},
          {"spec", {{"containers", json::array({{{"name", "c"}, {"image", "busybox"}}})}}}};
}

TEST_F(ControllerIdentityTest, ControllerClientIsAuthorizedByItsRole) {
  auto rs = newInProcessClient(*reg_, componentIdentity("replicaset-controller"));
  // Inside the role: create, list, watch and delete pods; get and update ReplicaSets.
  auto made = rs->create(kPods, "default", pod("p1"));
  ASSERT_TRUE(made) << made.error().message();
  EXPECT_EQ((*made)["metadata"]["managedFields"][0]["manager"], "kube-controller-manager");
  ASSERT_TRUE(rs->list(kPods, "default", {})) << "list pods";
  ASSERT_TRUE(rs->watch(kPods, "", {}, [](WatchEvent) {}));
  auto got = rs->get(kReplicaSets, "default", "missing");
  ASSERT_FALSE(got);
  EXPECT_TRUE(got.error().is(ErrorCode::NotFound)) << got.error().message();
  // Outside it: get pods, read secrets, patch nodes, with kube-apiserver's 403 text.
  auto g = rs->get(kPods, "default", "p1");
  testing::expectForbidden(
      g,
      "pods \"p1\" is forbidden: User \"system:serviceaccount:kube-system:replicaset-"
      "controller\" cannot get resource \"pods\" in API group \"\" in the namespace "
      "\"default\"");
  auto l = rs->list(kSecrets, "", {});
  ASSERT_FALSE(l);
  EXPECT_EQ(
      l.error().message(),
      "secrets is forbidden: User \"system:serviceaccount:kube-system:replicaset-controller\" "
      "cannot list resource \"secrets\" in API group \"\" at the cluster scope");
  auto w = rs->watch(kSecrets, "default", {}, [](WatchEvent) {});
  ASSERT_FALSE(w);
  EXPECT_TRUE(w.error().is(ErrorCode::Forbidden));
  auto p = rs->patch(kNodes, "", "n1", PatchType::Merge, json::object(), "status");
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().message(),
            "nodes \"n1\" is forbidden: User \"system:serviceaccount:kube-system:replicaset-"
            "controller\" cannot patch resource \"nodes/status\" in API group \"\" at the "
            "cluster scope");
  // Nothing was written on a refusal.
  auto del = rs->remove(kPods, "default", "p1");
  ASSERT_TRUE(del) << del.error().message();
}

TEST_F(ControllerIdentityTest, SchedulerBindsAndCannotCreatePods) {
  auto admin = newInProcessClient(*reg_);
  ASSERT_TRUE(admin->create(kPods, "default", pod("p2")));
  auto sched = newInProcessClient(*reg_, componentIdentity("kube-scheduler"));
  auto c = sched->create(kPods, "default", pod("p3"));
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message(),
            "pods is forbidden: User \"system:kube-scheduler\" cannot create resource \"pods\" "
            "in API group \"\" in the namespace \"default\"");
  json binding = {{"apiVersion", "v1"},
                  {"kind", "Binding"},
                  {"metadata", {{"name", "p2"}, {"namespace", "default"}}},
                  {"target", {{"apiVersion", "v1"}, {"kind", "Node"}, {"name", "n1"}}}};
  auto b = sched->create(kPods, "default", binding, "binding", "p2");
  ASSERT_TRUE(b) << b.error().message();
  auto bound = sched->get(kPods, "default", "p2");
  ASSERT_TRUE(bound) << bound.error().message();
  EXPECT_EQ((*bound)["spec"]["nodeName"], "n1");
  // The API server's own loopback identity is privileged.
  EXPECT_TRUE(admin->list(kSecrets, "", {}));
}

class AlwaysAllowIdentityTest : public ControllerIdentityTest {
 protected:
  RegistryOptions registryOptions() const override {
    RegistryOptions o;
    o.authorization_modes = {"AlwaysAllow"};
    return o;
  }
};

TEST_F(AlwaysAllowIdentityTest, EveryIdentityIsAllowed) {
  auto rs = newInProcessClient(*reg_, componentIdentity("replicaset-controller"));
  EXPECT_TRUE(rs->list(kSecrets, "", {}));
}

}  // namespace
}  // namespace skiff::master::api
