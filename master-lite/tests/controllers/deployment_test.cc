#include <gtest/gtest.h>

#include <map>

#include "harness.h"

namespace skiff::master::testing {
namespace {

json deployment(int replicas, const std::string& image, const std::string& strategy = "") {
  json d = json::parse(R"({"metadata":{"name":"web"},
    "spec":{"replicas":)" +
                       std::to_string(replicas) + R"(,
      "selector":{"matchLabels":{"app":"web"}},
      "template":{"metadata":{"labels":{"app":"web"}},
        "spec":{"containers":[{"name":"c","image":")" +
                       image + R"("}]}}}})");
  if (!strategy.empty()) d["spec"]["strategy"] = json::parse(strategy);
  return d;
}

class DeploymentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    h.add(newDeploymentController(h.client, h.clock));
    h.add(newReplicaSetController(h.client, h.clock));
    h.start();
  }
  json dep() { return *h.client.get(gvr::kDeployments, "default", "web"); }
  std::vector<json> replicaSets() {
    return h.client.list(gvr::kReplicaSets, "default", ListOptions{})->items;
  }
  void setImage(const std::string& image) {
    ASSERT_TRUE(h.client.patch(
        gvr::kDeployments, "default", "web", PatchType::Merge,
        json{
            {"spec",
             {{"template",
               {{"spec", {{"containers", json::array({{{"name", "c"}, {"image", image}}})}}}}}}}}));
  }
  // Drives the rollout like a cluster would, checking the bounds at every step.
  void rollOut(int replicas, int max_surge, int max_unavailable) {
    for (int step = 0; step < 200; ++step) {
      h.settle();
      auto active = h.activePods();
      int ready = 0;
      for (const auto& p : active) ready += meta::str(p, {"status", "phase"}) == "Running";
      EXPECT_LE(static_cast<int>(active.size()), replicas + max_surge) << "step " << step;
      EXPECT_GE(ready, replicas - max_unavailable) << "step " << step;
      json d = dep();
      if (meta::integer(d, {"status", "updatedReplicas"}) == replicas &&
          meta::integer(d, {"status", "availableReplicas"}) == replicas &&
          meta::integer(d, {"status", "replicas"}) == replicas) {
        return;
      }
      h.finishDeletions();
      h.settle();
      h.runAllPods();
    }
    FAIL() << "rollout did not finish";
  }
  Harness h;
};

TEST_F(DeploymentTest, CreatesHashedReplicaSetWithRevision) {
  ASSERT_TRUE(h.client.create(gvr::kDeployments, "default", deployment(3, "nginx:1")));
  h.settle();
  auto rss = replicaSets();
  ASSERT_EQ(rss.size(), 1u);
  std::string hash = meta::str(rss[0], {"metadata", "labels", "pod-template-hash"});
  EXPECT_EQ(hash.size(), 10u);
  EXPECT_EQ(meta::name(rss[0]), "web-" + hash);
  EXPECT_EQ(rss[0]["spec"]["selector"]["matchLabels"]["pod-template-hash"], hash);
  EXPECT_EQ(rss[0]["metadata"]["annotations"]["deployment.kubernetes.io/revision"], "1");
  EXPECT_EQ(rss[0]["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"], "3");
  EXPECT_EQ(rss[0]["metadata"]["annotations"]["deployment.kubernetes.io/max-replicas"], "4");
  EXPECT_EQ(dep()["metadata"]["annotations"]["deployment.kubernetes.io/revision"], "1");
  EXPECT_EQ(h.activePods().size(), 3u);
  for (const auto& p : h.activePods()) {
    EXPECT_EQ(meta::str(p, {"metadata", "labels", "pod-template-hash"}), hash);
    EXPECT_EQ(meta::name(p).rfind("web-" + hash + "-", 0), 0u);
  }
  h.runAllPods();
  h.settle();
  json d = dep();
  EXPECT_EQ(d["status"]["observedGeneration"], 1);
  EXPECT_EQ(d["status"]["availableReplicas"], 3);
  EXPECT_EQ(d["status"]["updatedReplicas"], 3);
  EXPECT_FALSE(d["status"].contains("unavailableReplicas"));
  bool progressing = false, available = false;
  for (const auto& c : d["status"]["conditions"]) {
    if (c["type"] == "Progressing") {
      progressing = c["reason"] == "NewReplicaSetAvailable" &&
                    c["message"] == "ReplicaSet \"web-" + hash + "\" has successfully progressed.";
    }
    if (c["type"] == "Available") available = c["status"] == "True";
  }
  EXPECT_TRUE(progressing);
  EXPECT_TRUE(available);
}

TEST_F(DeploymentTest, RollingUpdateStaysWithinSurgeAndUnavailable) {
  ASSERT_TRUE(h.client.create(gvr::kDeployments, "default", deployment(10, "nginx:1")));
  rollOut(10, 0, 10);
  setImage("nginx:2");
  // Defaults: maxSurge 25% of 10 rounds up to 3, maxUnavailable 25% rounds down to 2.
  rollOut(10, 3, 2);
  auto rss = replicaSets();
  ASSERT_EQ(rss.size(), 2u);
  for (const auto& rs : rss) {
    std::string rev = rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"];
    if (rs["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:2") {
      EXPECT_EQ(rev, "2");
      EXPECT_EQ(rs["spec"]["replicas"], 10);
    } else {
      EXPECT_EQ(rev, "1");
      EXPECT_EQ(rs["spec"]["replicas"], 0);
    }
  }
}

TEST_F(DeploymentTest, PercentAndIntBoundsWithZeroUnavailable) {
  ASSERT_TRUE(h.client.create(
      gvr::kDeployments, "default",
      deployment(4, "a",
                 R"({"type":"RollingUpdate","rollingUpdate":{"maxSurge":1,"maxUnavailable":0}})")));
  rollOut(4, 0, 4);
  setImage("b");
  rollOut(4, 1, 0);
}

TEST_F(DeploymentTest, UndoReusesOldReplicaSetAsNewRevision) {
  ASSERT_TRUE(h.client.create(gvr::kDeployments, "default", deployment(2, "nginx:1")));
  rollOut(2, 0, 2);
  setImage("nginx:2");
  rollOut(2, 1, 0);
  setImage("nginx:1");  // what `kubectl rollout undo` patches in
  rollOut(2, 1, 0);
  auto rss = replicaSets();
  ASSERT_EQ(rss.size(), 2u);
  for (const auto& rs : rss) {
    auto ann = rs["metadata"]["annotations"];
    if (rs["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1") {
      EXPECT_EQ(ann["deployment.kubernetes.io/revision"], "3");
      EXPECT_EQ(ann["deployment.kubernetes.io/revision-history"], "1");
      EXPECT_EQ(rs["spec"]["replicas"], 2);
    }
  }
  EXPECT_EQ(dep()["metadata"]["annotations"]["deployment.kubernetes.io/revision"], "3");
}

TEST_F(DeploymentTest, RecreateScalesOldToZeroFirst) {
  ASSERT_TRUE(
      h.client.create(gvr::kDeployments, "default", deployment(3, "a", R"({"type":"Recreate"})")));
  rollOut(3, 0, 3);
  setImage("b");
  h.settle();
  // Old pods are terminating and no new ReplicaSet pods exist yet.
  EXPECT_EQ(h.activePods().size(), 0u);
  EXPECT_EQ(replicaSets().size(), 1u);
  h.finishDeletions();
  h.settle();
  auto pods = h.activePods();
  ASSERT_EQ(pods.size(), 3u);
  for (const auto& p : pods) EXPECT_EQ(p["spec"]["containers"][0]["image"], "b");
}

TEST_F(DeploymentTest, RevisionHistoryLimitDeletesOldestEmptySets) {
  json d = deployment(1, "v0");
  d["spec"]["revisionHistoryLimit"] = 2;
  ASSERT_TRUE(h.client.create(gvr::kDeployments, "default", d));
  rollOut(1, 0, 1);
  for (int i = 1; i <= 4; ++i) {
    setImage("v" + std::to_string(i));
    rollOut(1, 1, 0);
  }
  h.settle();
  auto rss = replicaSets();
  EXPECT_EQ(rss.size(), 3u);  // the new one plus two old
  for (const auto& rs : rss) {
    std::string img = rs["spec"]["template"]["spec"]["containers"][0]["image"];
    EXPECT_TRUE(img == "v4" || img == "v3" || img == "v2") << img;
  }
}

TEST_F(DeploymentTest, PausedDeploymentOnlyScales) {
  ASSERT_TRUE(h.client.create(gvr::kDeployments, "default", deployment(2, "a")));
  rollOut(2, 0, 2);
  ASSERT_TRUE(h.client.patch(gvr::kDeployments, "default", "web", PatchType::Merge,
                             json{{"spec", {{"paused", true}}}}));
  setImage("b");
  ASSERT_TRUE(h.client.patch(gvr::kDeployments, "default", "web", PatchType::Merge,
                             json{{"spec", {{"replicas", 4}}}}));
  h.settle();
  EXPECT_EQ(replicaSets().size(), 1u);
  EXPECT_EQ(h.activePods().size(), 4u);
  bool paused = false;
  json cur = dep();
  for (const auto& c : cur["status"]["conditions"]) {
    if (c["type"] == "Progressing") paused = c["reason"] == "DeploymentPaused";
  }
  EXPECT_TRUE(paused) << dep()["status"].dump();
  ASSERT_TRUE(h.client.patch(gvr::kDeployments, "default", "web", PatchType::Merge,
                             json{{"spec", {{"paused", nullptr}}}}));
  h.settle();
  EXPECT_EQ(replicaSets().size(), 2u);
}

// testProportionalScalingDeployment: a rollout stuck on a bad image is scaled 10 -> 30; the
// 20 extra replicas (plus surge) split 8:5 by rounding to nearest, 20 and 13, not by flooring
// with the remainder on the largest set (21 and 12).
TEST_F(DeploymentTest, ScalingMidRolloutSplitsProportionally) {
  const char* strategy =
      R"({"type":"RollingUpdate","rollingUpdate":{"maxSurge":3,"maxUnavailable":2}})";
  ASSERT_TRUE(h.client.create(gvr::kDeployments, "default", deployment(10, "a", strategy)));
  rollOut(10, 0, 10);
  setImage("missing:404");
  for (int i = 0; i < 5; ++i) {  // new pods never run
    h.settle();
    h.finishDeletions();
  }
  auto sizes = [&] {
    std::map<std::string, std::int64_t> out;
    for (const auto& rs : replicaSets()) {
      out[rs["spec"]["template"]["spec"]["containers"][0]["image"]] = rs["spec"]["replicas"];
    }
    return out;
  };
  auto before = sizes();
  ASSERT_EQ(before["a"], 8);
  ASSERT_EQ(before["missing:404"], 5);
  ASSERT_TRUE(h.client.patch(gvr::kDeployments, "default", "web", PatchType::Merge,
                             json{{"spec", {{"replicas", 30}}}}));
  h.settle();
  auto after = sizes();
  EXPECT_EQ(after["a"], 20);
  EXPECT_EQ(after["missing:404"], 13);
  for (const auto& rs : replicaSets()) {
    EXPECT_EQ(rs["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"], "30");
    EXPECT_EQ(rs["metadata"]["annotations"]["deployment.kubernetes.io/max-replicas"], "33");
  }
}

TEST_F(DeploymentTest, ProgressDeadlineExceeded) {
  json d = deployment(2, "a");
  d["spec"]["progressDeadlineSeconds"] = 30;
  ASSERT_TRUE(h.client.create(gvr::kDeployments, "default", d));
  h.settle();  // pods never become ready
  h.clock->advance(std::chrono::seconds(31));
  h.settle();
  std::string reason;
  json cur = dep();
  for (const auto& c : cur["status"]["conditions"]) {
    if (c["type"] == "Progressing") reason = c["reason"].get<std::string>();
  }
  EXPECT_EQ(reason, "ProgressDeadlineExceeded") << dep()["status"].dump();
}

TEST_F(DeploymentTest, ChangeCauseIsCopiedForRolloutHistory) {
  json d = deployment(1, "a");
  d["metadata"]["annotations"]["kubernetes.io/change-cause"] = "first";
  ASSERT_TRUE(h.client.create(gvr::kDeployments, "default", d));
  h.settle();
  EXPECT_EQ(replicaSets()[0]["metadata"]["annotations"]["kubernetes.io/change-cause"], "first");
}

}  // namespace
}  // namespace skiff::master::testing
