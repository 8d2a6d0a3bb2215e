// kube-apiserver's key layout and the one-time move of keys from older skiff versions.
#include "skiff/master/api/storage_keys.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>

#include "skiff/master/apiextensions/custom_resource.h"

namespace skiff::master::api {
namespace {

const ResourceInfo& res(const std::string& g, const std::string& v, const std::string& r) {
  const ResourceInfo* ri = findResource(g, v, r);
  EXPECT_NE(ri, nullptr) << g << "/" << v << " " << r;
  return *ri;
}

TEST(StorageKeysTest, KubeApiserverLayout) {
  const std::string root = "/registry";
  EXPECT_EQ(storagePrefix(root, res("", "v1", "configmaps"), "default"),
            "/registry/configmaps/default/");
  EXPECT_EQ(storagePrefix(root, res("", "v1", "pods"), ""), "/registry/pods/");
  EXPECT_EQ(storagePrefix(root, res("", "v1", "services"), "kube-system"),
            "/registry/services/specs/kube-system/");
  EXPECT_EQ(storagePrefix(root, res("", "v1", "endpoints"), "a"),
            "/registry/services/endpoints/a/");
  EXPECT_EQ(storagePrefix(root, res("", "v1", "nodes"), "ignored"), "/registry/minions/");
  EXPECT_EQ(storagePrefix(root, res("", "v1", "namespaces"), ""), "/registry/namespaces/");
  EXPECT_EQ(storagePrefix(root, res("apps", "v1", "deployments"), "d"), "/registry/deployments/d/");
  EXPECT_EQ(storagePrefix(root, res("coordination.k8s.io", "v1", "leases"), "kube-system"),
            "/registry/leases/kube-system/");
  EXPECT_EQ(storagePrefix(root, res("rbac.authorization.k8s.io", "v1", "clusterroles"), ""),
            "/registry/clusterroles/");
  EXPECT_EQ(storagePrefix(root, res("networking.k8s.io", "v1", "ingresses"), "x"),
            "/registry/ingress/x/");
  EXPECT_EQ(storagePrefix(root, res("apiextensions.k8s.io", "v1", "customresourcedefinitions"), ""),
            "/registry/apiextensions.k8s.io/customresourcedefinitions/");
  EXPECT_EQ(storagePrefix("/skiff", res("", "v1", "secrets"), "s"), "/skiff/secrets/s/");
  ResourceInfo cr = res("", "v1", "configmaps");
  cr.group = "example.com";
  cr.resource = "widgets";
  cr.custom = std::make_shared<const CustomResourceInfo>();
  EXPECT_EQ(storagePrefix(root, cr, "ns"), "/registry/example.com/widgets/ns/");
}

// Two kinds in one prefix would list each other's objects; only one kind served by two groups
// (extensions/apps Deployments, core and events.k8s.io Events) shares one.
TEST(StorageKeysTest, EveryStoredKindHasItsOwnPrefix) {
  std::map<std::string, std::set<std::string>> owners;
  for (const auto& r : allResources()) {
    if (r.createOnly() || r.group == "metrics.k8s.io") continue;
    owners[storagePrefix("/registry", r, "")].insert(storageGroup(r) + "/" + r.resource);
  }
  EXPECT_EQ(storagePrefix("/registry", res("events.k8s.io", "v1", "events"), "a"),
            storagePrefix("/registry", res("", "v1", "events"), "a"));
  for (const auto& [prefix, kinds] : owners) {
    EXPECT_EQ(kinds.size(), 1u) << prefix << " holds " << *kinds.begin() << " and "
                                << *kinds.rbegin();
    for (const auto& [other, _] : owners) {
      if (other != prefix) {
        EXPECT_NE(other.rfind(prefix, 0), 0u) << other << " under " << prefix;
      }
    }
  }
}

TEST(StorageKeysTest, LegacySqliteKeysMoveOnceWithValuesIntact) {
  char tmpl[] = "/tmp/skiff-keys-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string db = std::string(tmpl) + "/store.db";
  const std::map<std::string, std::string> old = {
      {"/registry/core/configmaps/default/a", R"({"data":{"k":"v"}})"},
      {"/registry/core/services/default/kubernetes", R"({"spec":{"clusterIP":"10.96.0.1"}})"},
      {"/registry/core/nodes/n1", R"({"metadata":{"name":"n1"}})"},
      {"/registry/apps/deployments/web/d", R"({"spec":{"replicas":3}})"},
      {"/registry/rbac.authorization.k8s.io/clusterroles/view", R"({"rules":[]})"},
      {"/registry/example.com/widgets/default/w", R"({"spec":{}})"},  // a CR: already right
      // events.k8s.io Events were stored apart in their own shape: moved and stored as core.
      {"/registry/events.k8s.io/events/default/e",
       R"({"apiVersion":"events.k8s.io/v1","kind":"Event","note":"hi","regarding":{"name":"p"},"reportingController":"c"})"},
  };
  {
    auto s = store::openSqliteStore(db);
    ASSERT_TRUE(s);
    for (const auto& [k, v] : old) ASSERT_TRUE((*s)->create(k, v));
  }
  auto s = store::openSqliteStore(db);
  ASSERT_TRUE(s);
  auto moved = migrateLegacyStorageKeys(**s, "/registry");
  ASSERT_TRUE(moved) << moved.error().message();
  EXPECT_EQ(*moved, 6);
  const std::map<std::string, std::string> now = {
      {"/registry/configmaps/default/a", old.at("/registry/core/configmaps/default/a")},
      {"/registry/services/specs/default/kubernetes",
       old.at("/registry/core/services/default/kubernetes")},
      {"/registry/minions/n1", old.at("/registry/core/nodes/n1")},
      {"/registry/deployments/web/d", old.at("/registry/apps/deployments/web/d")},
      {"/registry/clusterroles/view",
       old.at("/registry/rbac.authorization.k8s.io/clusterroles/view")},
      {"/registry/example.com/widgets/default/w",
       old.at("/registry/example.com/widgets/default/w")},
      {"/registry/events/default/e",
       R"({"apiVersion":"v1","involvedObject":{"name":"p"},"kind":"Event","message":"hi","reportingComponent":"c"})"},
  };
  auto all = (*s)->list("/registry/");
  ASSERT_TRUE(all);
  std::map<std::string, std::string> got;
  for (const auto& kv : all->items) got[kv.key] = kv.value;
  EXPECT_EQ(got, now);
  // Once: a second start finds nothing to move.
  auto again = migrateLegacyStorageKeys(**s, "/registry");
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, 0);
  std::filesystem::remove_all(tmpl);
}

// Interrupted after the copy and before the delete: the next start only removes the old key.
TEST(StorageKeysTest, InterruptedMoveIsFinishedWithoutDuplicates) {
  char tmpl[] = "/tmp/skiff-keys-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  auto s = store::openSqliteStore(std::string(tmpl) + "/store.db");
  ASSERT_TRUE(s);
  ASSERT_TRUE((*s)->create("/registry/core/secrets/default/x", "v"));
  ASSERT_TRUE((*s)->create("/registry/secrets/default/x", "v"));
  auto moved = migrateLegacyStorageKeys(**s, "/registry");
  ASSERT_TRUE(moved);
  auto all = (*s)->list("/registry/");
  ASSERT_EQ(all->items.size(), 1u);
  EXPECT_EQ(all->items[0].key, "/registry/secrets/default/x");
  EXPECT_EQ(all->items[0].value, "v");
  std::filesystem::remove_all(tmpl);
}

}  // namespace
}  // namespace skiff::master::api
