#include <gtest/gtest.h>

#include "harness.h"

namespace skiff::master::testing {
namespace {

json replicaSet(const std::string& name, int replicas, int min_ready = 0) {
  return json::parse(R"({"metadata":{"name":")" + name + R"("},
    "spec":{"replicas":)" +
                     std::to_string(replicas) + R"(,"minReadySeconds":)" +
                     std::to_string(min_ready) + R"(,
      "selector":{"matchLabels":{"app":"web"}},
      "template":{"metadata":{"labels":{"app":"web"}},
        "spec":{"containers":[{"name":"c","image":"busybox"}]}}}})");
}

class ReplicaSetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    h.add(newReplicaSetController(h.client, h.clock));
    h.start();
  }
  json rs(const std::string& name = "web") {
    return *h.client.get(gvr::kReplicaSets, "default", name);
  }
  Harness h;
};

TEST_F(ReplicaSetTest, CreatesOwnedPodsWithGenerateName) {
  ASSERT_TRUE(h.client.create(gvr::kReplicaSets, "default", replicaSet("web", 3)));
  h.settle();
  auto pods = h.activePods("app=web");
  ASSERT_EQ(pods.size(), 3u);
  for (const auto& p : pods) {
    EXPECT_EQ(meta::name(p).rfind("web-", 0), 0u);
    EXPECT_EQ(meta::name(p).size(), 9u);
    auto ref = meta::controllerRef(p);
    ASSERT_TRUE(ref);
    EXPECT_EQ((*ref)["kind"], "ReplicaSet");
    EXPECT_EQ((*ref)["uid"], meta::uid(rs()));
    EXPECT_EQ((*ref)["blockOwnerDeletion"], true);
  }
  EXPECT_EQ(rs()["status"]["replicas"], 3);
  EXPECT_EQ(rs()["status"]["readyReplicas"], 0);
  EXPECT_EQ(rs()["status"]["observedGeneration"], 1);
  // Level-triggered: syncing again changes nothing.
  h.client.resetCallsForTest();
  ASSERT_TRUE(h.controllers[0]->sync("default/web"));
  EXPECT_EQ(h.client.callsForTest("create pods"), 0);
  EXPECT_EQ(h.client.callsForTest("update replicasets/status"), 0);
}

TEST_F(ReplicaSetTest, ScaleDownPrefersUnscheduledThenNotReady) {
  ASSERT_TRUE(h.client.create(gvr::kReplicaSets, "default", replicaSet("web", 4)));
  h.settle();
  auto pods = h.activePods();
  h.runPod(pods[0]);  // ready
  h.clock->advance(std::chrono::seconds(5));
  h.runPod(pods[1]);  // ready, newer
  (void)h.client.patch(gvr::kPods, "default", meta::name(pods[2]), PatchType::Merge,
                       json{{"spec", {{"nodeName", "n1"}}}});  // scheduled, not ready
  // pods[3] stays unscheduled.
  ASSERT_TRUE(h.client.patch(gvr::kReplicaSets, "default", "web", PatchType::Merge,
                             json{{"spec", {{"replicas", 1}}}}));
  h.settle();
  auto left = h.activePods();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(meta::name(left[0]), meta::name(pods[0]));  // the one ready the longest
}

TEST_F(ReplicaSetTest, AdoptsOrphansAndReleasesMismatches) {
  json orphan = {{"metadata", {{"name", "stray"}, {"labels", {{"app", "web"}}}}},
                 {"spec", {{"containers", json::array({{{"name", "c"}, {"image", "x"}}})}}}};
  ASSERT_TRUE(h.client.create(gvr::kPods, "default", orphan));
  ASSERT_TRUE(h.client.create(gvr::kReplicaSets, "default", replicaSet("web", 2)));
  h.settle();
  EXPECT_EQ(h.activePods().size(), 2u);  // adopted stray + one new
  auto stray = *h.client.get(gvr::kPods, "default", "stray");
  ASSERT_TRUE(meta::controllerRef(stray));
  // Relabel: released, and a replacement is created.
  ASSERT_TRUE(h.client.patch(gvr::kPods, "default", "stray", PatchType::Merge,
                             json{{"metadata", {{"labels", {{"app", "other"}}}}}}));
  h.settle();
  stray = *h.client.get(gvr::kPods, "default", "stray");
  EXPECT_FALSE(meta::controllerRef(stray));
  EXPECT_EQ(h.activePods("app=web").size(), 2u);
}

TEST_F(ReplicaSetTest, AvailableWaitsForMinReadySeconds) {
  ASSERT_TRUE(h.client.create(gvr::kReplicaSets, "default", replicaSet("web", 2, 10)));
  h.settle();
  h.runAllPods();
  h.settle();
  EXPECT_EQ(rs()["status"]["readyReplicas"], 2);
  EXPECT_EQ(rs()["status"]["availableReplicas"], 0);
  h.clock->advance(std::chrono::seconds(11));
  h.settle();
  EXPECT_EQ(rs()["status"]["availableReplicas"], 2);
}

TEST_F(ReplicaSetTest, ReplacesDeletedAndFailedPods) {
  ASSERT_TRUE(h.client.create(gvr::kReplicaSets, "default", replicaSet("web", 2)));
  h.settle();
  auto pods = h.activePods();
  ASSERT_TRUE(h.client.patch(gvr::kPods, "default", meta::name(pods[0]), PatchType::Merge,
                             json{{"status", {{"phase", "Failed"}}}}, "status"));
  ASSERT_TRUE(h.client.remove(gvr::kPods, "default", meta::name(pods[1])));
  h.settle();
  int active = 0;
  for (const auto& p : h.activePods()) {
    if (meta::str(p, {"status", "phase"}) != "Failed") ++active;
  }
  EXPECT_EQ(active, 2);
}

TEST_F(ReplicaSetTest, LaggingCacheDoesNotRepeatCreatesOrDeletes) {
  ASSERT_TRUE(h.client.create(gvr::kReplicaSets, "default", replicaSet("web", 3)));
  h.client.holdEventsForTest(true);  // the controller's informers now lag behind its writes
  h.client.resetCallsForTest();
  ASSERT_TRUE(h.controllers[0]->sync("default/web"));
  ASSERT_TRUE(h.controllers[0]->sync("default/web"));  // cache still shows no pods
  EXPECT_EQ(h.client.callsForTest("create pods"), 3);
  h.client.holdEventsForTest(false);
  h.settle();
  EXPECT_EQ(h.activePods().size(), 3u);
  EXPECT_EQ(h.client.callsForTest("create pods"), 3);

  ASSERT_TRUE(h.client.patch(gvr::kReplicaSets, "default", "web", PatchType::Merge,
                             json{{"spec", {{"replicas", 1}}}}));
  h.client.resetCallsForTest();
  h.client.holdEventsForTest(true);
  ASSERT_TRUE(h.controllers[0]->sync("default/web"));
  ASSERT_TRUE(h.controllers[0]->sync("default/web"));  // deletions not yet seen
  EXPECT_EQ(h.client.callsForTest("remove pods"), 2);
  h.client.holdEventsForTest(false);
  h.settle();
  EXPECT_EQ(h.activePods().size(), 1u);
  EXPECT_EQ(h.client.callsForTest("remove pods"), 2);
}

TEST_F(ReplicaSetTest, FailedCreatesAreNotAwaited) {
  ASSERT_TRUE(h.client.create(gvr::kReplicaSets, "default", replicaSet("web", 3)));
  h.client.failNextForTest("create", "pods", ErrorCode::Forbidden);
  EXPECT_FALSE(h.controllers[0]->sync("default/web"));  // first create fails, none tried after
  EXPECT_EQ(rs()["status"]["conditions"][0]["type"], "ReplicaFailure");
  // Nothing is awaited, so the retry creates all three at once.
  h.client.resetCallsForTest();
  ASSERT_TRUE(h.controllers[0]->sync("default/web"));
  EXPECT_EQ(h.client.callsForTest("create pods"), 3);
  EXPECT_EQ(h.activePods().size(), 3u);
}

TEST(ReplicationControllerTest, ManagesPodsWithMapSelector) {
  Harness h;
  h.add(newReplicaSetController(h.client, h.clock, true));
  h.start();
  json rc = json::parse(R"({"metadata":{"name":"rc"},"spec":{"replicas":2,"selector":{"app":"old"},
    "template":{"metadata":{"labels":{"app":"old"}},"spec":{"containers":[{"name":"c","image":"x"}]}}}})");
  ASSERT_TRUE(h.client.create(gvr::kReplicationControllers, "default", rc));
  h.settle();
  auto pods = h.activePods("app=old");
  ASSERT_EQ(pods.size(), 2u);
  EXPECT_EQ((*meta::controllerRef(pods[0]))["kind"], "ReplicationController");
  EXPECT_EQ((*meta::controllerRef(pods[0]))["apiVersion"], "v1");
}

}  // namespace
}  // namespace skiff::master::testing
