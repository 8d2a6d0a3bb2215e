// --authorization-mode as a chain: the first authorizer that allows decides; AlwaysDeny only
// adds its reason; system:masters is allowed before the chain, whatever it holds.
#include <gtest/gtest.h>

#include "skiff/master/api/authorizer.h"
#include "skiff/master/api/registry.h"
#include "skiff/master/testing/temp_registry.h"

namespace skiff::master::api {
namespace {

rbac::Attributes listPods() {
  rbac::Attributes a;
  a.verb = "list";
  a.resource_request = true;
  a.resource = "pods";
  a.ns = "default";
  return a;
}

std::unique_ptr<::skiff::master::testing::TempRegistry> withModes(std::vector<std::string> m) {
  RegistryOptions ro;
  ro.authorization_modes = std::move(m);
  auto t = ::skiff::master::testing::TempRegistry::create(ro);
  if (t) {
    EXPECT_TRUE(t->addBootstrapPolicy());
  }
  return t;
}

TEST(AuthorizationModeTest, FirstAllowDecides) {
  const UserInfo alice{"alice", {"system:authenticated"}};
  auto rbac = withModes({"Node", "RBAC"});
  ASSERT_NE(rbac, nullptr);
  EXPECT_FALSE(authorizeAttributes(rbac->registry(), alice, listPods()).allowed);

  auto allow = withModes({"AlwaysAllow"});
  ASSERT_NE(allow, nullptr);
  EXPECT_TRUE(authorizeAttributes(allow->registry(), alice, listPods()).allowed);

  auto deny = withModes({"AlwaysDeny", "RBAC"});
  ASSERT_NE(deny, nullptr);
  AuthzDecision d = authorizeAttributes(deny->registry(), alice, listPods());
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, "Everything is forbidden.");
  // Discovery is still RBAC's to allow after AlwaysDeny said no.
  rbac::Attributes api;
  api.verb = "get";
  api.resource_request = false;
  api.path = "/api";
  EXPECT_TRUE(authorizeAttributes(deny->registry(), alice, api).allowed);
  // The admins' group never depends on the chain.
  EXPECT_TRUE(
      authorizeAttributes(deny->registry(), {"root", {"system:masters"}}, listPods()).allowed);
}

TEST(AuthorizationModeTest, NodeAuthorizerOnlyWhenListed) {
  const UserInfo node{"system:node:n1", {"system:nodes", "system:authenticated"}};
  rbac::Attributes get_node;
  get_node.verb = "get";
  get_node.resource_request = true;
  get_node.resource = "nodes";
  get_node.name = "n1";
  auto both = withModes({"Node", "RBAC"});
  ASSERT_NE(both, nullptr);
  EXPECT_TRUE(authorizeAttributes(both->registry(), node, get_node).allowed);
  // The bootstrap policy's system:node role is bound to nobody: RBAC alone says no.
  auto rbac_only = withModes({"RBAC"});
  ASSERT_NE(rbac_only, nullptr);
  EXPECT_FALSE(authorizeAttributes(rbac_only->registry(), node, get_node).allowed);
}

// The Node authorizer lets a node get exactly the secrets and configmaps its pods name, wherever
// the spec names them: projected sources (conformance's "Projected secret ... with mappings"
// pod never mounted), env, envFrom, image pull secrets; nothing else.
TEST(AuthorizationModeTest, NodeReadsWhatItsPodsReference) {
  auto t = withModes({"Node", "RBAC"});
  ASSERT_NE(t, nullptr);
  Registry& reg = t->registry();
  WriteOptions admin;
  admin.user = {"admin", {"system:masters"}};
  nlohmann::json pod = nlohmann::json::parse(R"({"metadata":{"name":"p"},"spec":{"nodeName":"n1",
    "imagePullSecrets":[{"name":"pull"}],
    "containers":[{"name":"c","image":"busybox",
      "envFrom":[{"secretRef":{"name":"env-from"}},{"configMapRef":{"name":"cm-env-from"}}],
      "env":[{"name":"A","valueFrom":{"secretKeyRef":{"name":"env-key","key":"k"}}},
             {"name":"B","valueFrom":{"configMapKeyRef":{"name":"cm-key","key":"k"}}}]}],
    "volumes":[{"name":"v1","secret":{"secretName":"vol"}},
               {"name":"v2","projected":{"sources":[
                 {"secret":{"name":"projected","items":[{"key":"a","path":"b","mode":256}]}},
                 {"configMap":{"name":"cm-projected"}}]}},
               {"name":"v3","configMap":{"name":"cm-vol"}}]}})");
  ASSERT_TRUE(reg.create(*findResource("", "v1", "pods"), "default", pod, admin));
  const UserInfo node{"system:node:n1", {"system:nodes", "system:authenticated"}};
  const UserInfo other{"system:node:n2", {"system:nodes", "system:authenticated"}};
  auto get = [](const char* resource, const char* name) {
    rbac::Attributes a;
    a.verb = "get";
    a.resource_request = true;
    a.resource = resource;
    a.ns = "default";
    a.name = name;
    return a;
  };
  for (const char* s : {"pull", "env-from", "env-key", "vol", "projected"}) {
    EXPECT_TRUE(authorizeAttributes(reg, node, get("secrets", s)).allowed) << s;
    EXPECT_FALSE(authorizeAttributes(reg, other, get("secrets", s)).allowed) << s;
  }
  for (const char* c : {"cm-env-from", "cm-key", "cm-projected", "cm-vol"})
    EXPECT_TRUE(authorizeAttributes(reg, node, get("configmaps", c)).allowed) << c;
  EXPECT_FALSE(authorizeAttributes(reg, node, get("secrets", "cm-vol")).allowed);
  EXPECT_FALSE(authorizeAttributes(reg, node, get("secrets", "unrelated")).allowed);
  EXPECT_FALSE(authorizeAttributes(reg, node, get("configmaps", "vol")).allowed);
}

}  // namespace
}  // namespace skiff::master::api
