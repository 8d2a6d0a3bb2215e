#include "skiff/master/testing/fake_api_client.h"

#include <gtest/gtest.h>

#include "skiff/master/informer/meta.h"
#include "skiff/master/informer/options.h"

namespace skiff::master::testing {
namespace {

json pod(const std::string& name, const std::string& node = "", json labels = json::object()) {
  json p = {{"metadata", {{"name", name}, {"labels", labels}}},
            {"spec", {{"containers", json::array({{{"name", "c"}, {"image", "busybox"}}})}}}};
  if (!node.empty()) p["spec"]["nodeName"] = node;
  return p;
}

TEST(FakeApiClientTest, CreateFillsServerFields) {
  FakeApiClient c;
  auto p = c.create(gvr::kPods, "default", pod("a"));
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_FALSE(meta::uid(*p).empty());
  EXPECT_EQ(meta::generation(*p), 1);
  EXPECT_EQ((*p)["kind"], "Pod");
  EXPECT_EQ(meta::ns(*p), "default");
  EXPECT_EQ(meta::str(*p, {"status", "phase"}), "Pending");
  EXPECT_FALSE(meta::str(*p, {"metadata", "creationTimestamp"}).empty());
  auto dup = c.create(gvr::kPods, "default", pod("a"));
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code(), ErrorCode::AlreadyExists);
}

TEST(FakeApiClientTest, GenerateNameAddsFiveChars) {
  FakeApiClient c;
  json p = pod("");
  p["metadata"].erase("name");
  p["metadata"]["generateName"] = "web-7d4b9c8f5d-";
  auto r = c.create(gvr::kPods, "default", p);
  ASSERT_TRUE(r);
  EXPECT_EQ(meta::name(*r).size(), std::string("web-7d4b9c8f5d-").size() + 5);
}

TEST(FakeApiClientTest, StaleResourceVersionConflicts) {
  FakeApiClient c;
  auto p = *c.create(gvr::kPods, "default", pod("a"));
  json p2 = p;
  p2["metadata"]["labels"]["x"] = "1";
  ASSERT_TRUE(c.update(gvr::kPods, "default", p2));
  p["metadata"]["labels"]["y"] = "2";
  auto r = c.update(gvr::kPods, "default", p);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::Conflict);
}

TEST(FakeApiClientTest, GenerationBumpsOnSpecChangeOnly) {
  FakeApiClient c;
  json d = {{"metadata", {{"name", "d"}}}, {"spec", {{"replicas", 1}}}};
  auto cur = *c.create(gvr::kDeployments, "default", d);
  cur["metadata"]["labels"]["a"] = "b";
  cur = *c.update(gvr::kDeployments, "default", cur);
  EXPECT_EQ(meta::generation(cur), 1);
  cur = *c.patch(gvr::kDeployments, "default", "d", PatchType::Merge,
                 json{{"spec", {{"replicas", 3}}}});
  EXPECT_EQ(meta::generation(cur), 2);
  cur = *c.patch(gvr::kDeployments, "default", "d", PatchType::Merge,
                 json{{"status", {{"replicas", 3}}}}, "status");
  EXPECT_EQ(meta::generation(cur), 2);
  EXPECT_EQ(cur["status"]["replicas"], 3);
}

TEST(FakeApiClientTest, SelectorsFilterLists) {
  FakeApiClient c;
  ASSERT_TRUE(c.create(gvr::kPods, "default", pod("a", "n1", {{"app", "web"}})));
  ASSERT_TRUE(c.create(gvr::kPods, "default", pod("b", "", {{"app", "db"}})));
  ASSERT_TRUE(c.create(gvr::kPods, "other", pod("c", "n1", {{"app", "web"}, {"tier", "x"}})));
  EXPECT_EQ(c.list(gvr::kPods, "", opts::labels("app=web"))->items.size(), 2u);
  EXPECT_EQ(c.list(gvr::kPods, "default", opts::labels("app in (web,db)"))->items.size(), 2u);
  EXPECT_EQ(c.list(gvr::kPods, "", opts::labels("!tier"))->items.size(), 2u);
  EXPECT_EQ(c.list(gvr::kPods, "", opts::fields("spec.nodeName=n1"))->items.size(), 2u);
  EXPECT_EQ(c.list(gvr::kPods, "", opts::fields("spec.nodeName="))->items.size(), 1u);
  EXPECT_EQ(c.list(gvr::kPods, "", opts::fields("status.phase!=Pending"))->items.size(), 0u);
  EXPECT_EQ(c.list(gvr::kPods, "", opts::fields("metadata.name=b"))->items.size(), 1u);
}

TEST(FakeApiClientTest, WatchReplaysFromRevisionInOrder) {
  FakeApiClient c;
  auto a = *c.create(gvr::kPods, "default", pod("a"));
  std::string rv = meta::resourceVersion(a);
  ASSERT_TRUE(c.create(gvr::kPods, "default", pod("b")));
  ASSERT_TRUE(c.remove(gvr::kPods, "default", "a"));
  std::vector<std::pair<WatchEventType, std::string>> seen;
  auto w = c.watch(gvr::kPods, "", opts::fromRevision(rv),
                   [&](const WatchEvent& e) { seen.emplace_back(e.type, meta::name(e.object)); });
  ASSERT_TRUE(w);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], std::make_pair(WatchEventType::Added, std::string("b")));
  EXPECT_EQ(seen[1], std::make_pair(WatchEventType::Deleted, std::string("a")));
  ASSERT_TRUE(c.create(gvr::kPods, "default", pod("c")));
  EXPECT_EQ(seen.size(), 3u);
  (*w)->stop();
  ASSERT_TRUE(c.create(gvr::kPods, "default", pod("d")));
  EXPECT_EQ(seen.size(), 3u);
}

TEST(FakeApiClientTest, WatchFromCompactedRevisionGets410) {
  FakeApiClient c;
  ASSERT_TRUE(c.create(gvr::kPods, "default", pod("a")));
  ASSERT_TRUE(c.create(gvr::kPods, "default", pod("b")));
  c.compactForTest(c.currentRevision());
  int code = 0;
  auto w = c.watch(gvr::kPods, "", opts::fromRevision("1"), [&](const WatchEvent& e) {
    if (e.type == WatchEventType::Error) code = e.object["code"];
  });
  ASSERT_TRUE(w);
  EXPECT_EQ(code, 410);
}

TEST(FakeApiClientTest, FieldSelectorWatchSeesBindingAsDelete) {
  FakeApiClient c;
  ASSERT_TRUE(c.create(gvr::kPods, "default", pod("a")));
  std::vector<WatchEventType> seen;
  auto w = c.watch(gvr::kPods, "", opts::fields("spec.nodeName="),
                   [&](const WatchEvent& e) { seen.push_back(e.type); });
  ASSERT_TRUE(c.create(gvr::kPods, "default", json{{"target", {{"kind", "Node"}, {"name", "n1"}}}},
                       "binding", "a"));
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], WatchEventType::Deleted);
  auto p = *c.get(gvr::kPods, "default", "a");
  EXPECT_EQ(p["spec"]["nodeName"], "n1");
  auto again = c.create(gvr::kPods, "default", json{{"target", {{"name", "n2"}}}}, "binding", "a");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), ErrorCode::Conflict);
}

TEST(FakeApiClientTest, BoundPodDeletionIsGraceful) {
  FakeApiClient c;
  ASSERT_TRUE(c.create(gvr::kPods, "default", pod("a", "n1")));
  ASSERT_TRUE(c.create(gvr::kPods, "default", pod("b")));
  auto a = c.remove(gvr::kPods, "default", "a");
  ASSERT_TRUE(a);
  EXPECT_TRUE(meta::isDeleting(*a));
  EXPECT_EQ((*a)["metadata"]["deletionGracePeriodSeconds"], 30);
  EXPECT_TRUE(c.get(gvr::kPods, "default", "a"));
  ASSERT_TRUE(c.remove(gvr::kPods, "default", "a", opts::grace(0)));
  EXPECT_FALSE(c.get(gvr::kPods, "default", "a"));
  ASSERT_TRUE(c.remove(gvr::kPods, "default", "b"));
  EXPECT_FALSE(c.get(gvr::kPods, "default", "b"));
}

TEST(FakeApiClientTest, FinalizersHoldDeletion) {
  FakeApiClient c;
  json rs = {{"metadata", {{"name", "rs"}}}, {"spec", {{"replicas", 1}}}};
  ASSERT_TRUE(c.create(gvr::kReplicaSets, "default", rs));
  auto d = c.remove(gvr::kReplicaSets, "default", "rs", opts::propagation("Foreground"));
  ASSERT_TRUE(d);
  EXPECT_TRUE(meta::isDeleting(*d));
  EXPECT_TRUE(meta::hasFinalizer(*d, "foregroundDeletion"));
  auto cur = *c.get(gvr::kReplicaSets, "default", "rs");
  cur["metadata"]["finalizers"] = json::array();
  ASSERT_TRUE(c.update(gvr::kReplicaSets, "default", cur));
  EXPECT_FALSE(c.get(gvr::kReplicaSets, "default", "rs"));
}

TEST(FakeApiClientTest, NamespaceFinalizeRemovesIt) {
  FakeApiClient c;
  ASSERT_TRUE(c.create(gvr::kNamespaces, "", json{{"metadata", {{"name", "t"}}}}));
  auto d = c.remove(gvr::kNamespaces, "", "t");
  ASSERT_TRUE(d);
  EXPECT_EQ((*d)["status"]["phase"], "Terminating");
  auto cur = *c.get(gvr::kNamespaces, "", "t");
  cur["spec"]["finalizers"] = json::array();
  ASSERT_TRUE(c.update(gvr::kNamespaces, "", cur, "finalize"));
  EXPECT_FALSE(c.get(gvr::kNamespaces, "", "t"));
}

TEST(FakeApiClientTest, JsonPatchAndInjectedFailures) {
  FakeApiClient c;
  ASSERT_TRUE(
      c.create(gvr::kNodes, "", json{{"metadata", {{"name", "n"}}}, {"spec", json::object()}}));
  auto r =
      c.patch(gvr::kNodes, "", "n", PatchType::Json,
              json::array({{{"op", "add"}, {"path", "/spec/podCIDR"}, {"value", "10.0.0.0/24"}}}));
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)["spec"]["podCIDR"], "10.0.0.0/24");
  c.failNextForTest("patch", "nodes", ErrorCode::Unavailable);
  EXPECT_FALSE(c.patch(gvr::kNodes, "", "n", PatchType::Merge, json::object()));
  EXPECT_TRUE(c.patch(gvr::kNodes, "", "n", PatchType::Merge, json::object()));
  EXPECT_EQ(c.callsForTest("patch nodes"), 3);
}

TEST(FakeApiClientTest, AsyncDeliveryKeepsOrder) {
  FakeApiClient c(std::make_shared<FakeClock>(), FakeApiClient::Delivery::Async);
  std::vector<std::string> seen;
  std::mutex mu;
  auto w = c.watch(gvr::kPods, "", {}, [&](const WatchEvent& e) {
    std::lock_guard lock(mu);
    seen.push_back(meta::name(e.object));
  });
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(c.create(gvr::kPods, "d", pod("p" + std::to_string(i))));
  c.waitIdleForTest();
  std::lock_guard lock(mu);
  ASSERT_EQ(seen.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(seen[i], "p" + std::to_string(i));
}

}  // namespace
}  // namespace skiff::master::testing
