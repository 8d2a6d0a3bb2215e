#include <gtest/gtest.h>

#include "harness.h"

namespace skiff::master::testing {
namespace {

json node(const std::string& name, json labels = json::object()) {
  labels["kubernetes.io/hostname"] = name;
  return {{"metadata", {{"name", name}, {"labels", labels}}},
          {"spec", json::object()},
          {"status", {{"conditions", json::array({{{"type", "Ready"}, {"status", "True"}}})}}}};
}

json daemonSet(const std::string& image, json node_selector = nullptr) {
  json ds =
      json::parse(R"({"metadata":{"name":"ds"},"spec":{"selector":{"matchLabels":{"app":"ds"}},
    "template":{"metadata":{"labels":{"app":"ds"}},"spec":{"containers":[{"name":"c","image":")" +
                  image + R"("}]}}}})");
  if (!node_selector.is_null()) ds["spec"]["template"]["spec"]["nodeSelector"] = node_selector;
  return ds;
}

std::string pinnedNode(const json& p) {
  return p["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
          ["nodeSelectorTerms"][0]["matchFields"][0]["values"][0];
}

class DaemonSetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    h.add(newDaemonSetController(h.client, h.clock));
    for (auto n : {"a", "b"}) ASSERT_TRUE(h.client.create(gvr::kNodes, "", node(n)));
    json cordoned = node("c", {{"disk", "ssd"}});
    cordoned["spec"]["unschedulable"] = true;
    ASSERT_TRUE(h.client.create(gvr::kNodes, "", cordoned));
    h.start();
  }
  json ds() { return *h.client.get(gvr::kDaemonSets, "default", "ds"); }
  Harness h;
};

TEST_F(DaemonSetTest, OnePodPerNodePinnedWithDefaultTolerations) {
  ASSERT_TRUE(h.client.create(gvr::kDaemonSets, "default", daemonSet("a")));
  h.settle();
  auto pods = h.activePods("app=ds");
  ASSERT_EQ(pods.size(), 3u);
  std::set<std::string> nodes;
  for (const auto& p : pods) {
    nodes.insert(pinnedNode(p));
    EXPECT_FALSE(p["spec"].contains("nodeName"));  // the scheduler binds it
    std::set<std::string> tol;
    for (const auto& t : p["spec"]["tolerations"]) {
      tol.insert(t["key"].get<std::string>() + ":" + t["effect"].get<std::string>());
    }
    EXPECT_TRUE(tol.count("node.kubernetes.io/unschedulable:NoSchedule"));
    EXPECT_TRUE(tol.count("node.kubernetes.io/not-ready:NoExecute"));
    EXPECT_TRUE(tol.count("node.kubernetes.io/unreachable:NoExecute"));
    EXPECT_TRUE(tol.count("node.kubernetes.io/disk-pressure:NoSchedule"));
    EXPECT_EQ(p["metadata"]["labels"]["controller-revision-hash"].get<std::string>().size(), 10u);
  }
  EXPECT_EQ(nodes, (std::set<std::string>{"a", "b", "c"}));
  EXPECT_EQ(ds()["status"]["desiredNumberScheduled"], 3);
  EXPECT_EQ(h.client.list(gvr::kControllerRevisions, "default", ListOptions{})->items.size(), 1u);
  // Idempotent.
  h.client.resetCallsForTest();
  ASSERT_TRUE(h.controllers[0]->sync("default/ds"));
  EXPECT_EQ(h.client.callsForTest("create pods"), 0);
}

TEST_F(DaemonSetTest, NodeSelectorTaintsAndNodeChanges) {
  ASSERT_TRUE(h.client.create(gvr::kDaemonSets, "default", daemonSet("a", {{"disk", "ssd"}})));
  h.settle();
  ASSERT_EQ(h.activePods("app=ds").size(), 1u);
  EXPECT_EQ(pinnedNode(h.activePods("app=ds")[0]), "c");
  // A node gaining the label gets a pod; a NoSchedule taint it does not tolerate removes one.
  ASSERT_TRUE(h.client.patch(gvr::kNodes, "", "a", PatchType::Merge,
                             json{{"metadata", {{"labels", {{"disk", "ssd"}}}}}}));
  h.settle();
  EXPECT_EQ(h.activePods("app=ds").size(), 2u);
  ASSERT_TRUE(h.client.patch(
      gvr::kNodes, "", "c", PatchType::Merge,
      json{{"spec", {{"taints", json::array({{{"key", "x"}, {"effect", "NoSchedule"}}})}}}}));
  h.settle();
  auto pods = h.activePods("app=ds");
  ASSERT_EQ(pods.size(), 1u);
  EXPECT_EQ(pinnedNode(pods[0]), "a");
}

TEST_F(DaemonSetTest, RollingUpdateReplacesWithinMaxUnavailable) {
  ASSERT_TRUE(h.client.create(gvr::kDaemonSets, "default", daemonSet("v1")));
  h.settle();
  for (const auto& p : h.activePods()) h.runPod(p, pinnedNode(p));
  h.settle();
  EXPECT_EQ(ds()["status"]["numberAvailable"], 3);
  ASSERT_TRUE(h.setImage(gvr::kDaemonSets, "ds", "v2"));
  for (int step = 0; step < 20; ++step) {
    h.settle();
    int unavailable = 0;
    auto active = h.activePods();
    std::set<std::string> covered;
    for (const auto& p : active) {
      if (meta::str(p, {"status", "phase"}) == "Running") covered.insert(pinnedNode(p));
    }
    unavailable = 3 - static_cast<int>(covered.size());
    EXPECT_LE(unavailable, 1) << "step " << step;
    h.finishDeletions();
    h.settle();
    for (const auto& p : h.activePods()) {
      if (meta::str(p, {"status", "phase"}) != "Running") h.runPod(p, pinnedNode(p));
    }
  }
  h.settle();
  for (const auto& p : h.activePods()) EXPECT_EQ(p["spec"]["containers"][0]["image"], "v2");
  EXPECT_EQ(ds()["status"]["updatedNumberScheduled"], 3);
  EXPECT_EQ(h.client.list(gvr::kControllerRevisions, "default", ListOptions{})->items.size(), 2u);
}

// daemon.Match compares the revision's data byte for byte with a Go client's encoding of the
// DaemonSet: zero values of non-pointer fields (what a protobuf create stores) are left out,
// pointer fields keep theirs, and the template's metadata carries creationTimestamp: null.
TEST_F(DaemonSetTest, RevisionDataIsTheTemplateAsGoEncodesIt) {
  json d = daemonSet("a");
  json& tmpl = d["spec"]["template"];
  tmpl["metadata"]["generation"] = 0;
  tmpl["spec"]["hostNetwork"] = false;
  tmpl["spec"]["automountServiceAccountToken"] = false;
  tmpl["spec"]["terminationGracePeriodSeconds"] = 0;
  tmpl["spec"]["volumes"] = json::parse(R"([{"name":"h","hostPath":{"path":"/x","type":""}}])");
  json& c = tmpl["spec"]["containers"][0];
  c["stdin"] = false;
  c["command"] = json::array();
  c["resources"] = json::object();
  c["ports"] = json::parse(R"([{"containerPort":9376,"hostPort":0,"protocol":"TCP"}])");
  c["securityContext"] = json::parse(R"({"privileged":false})");
  ASSERT_TRUE(h.client.create(gvr::kDaemonSets, "default", d));
  h.settle();
  auto revs = h.client.list(gvr::kControllerRevisions, "default", ListOptions{})->items;
  ASSERT_EQ(revs.size(), 1u);
  EXPECT_EQ(revs[0]["data"].dump(),
            R"({"spec":{"template":{"$patch":"replace","metadata":{"creationTimestamp":null,)"
            R"("labels":{"app":"ds"}},"spec":{"automountServiceAccountToken":false,)"
            R"("containers":[{"image":"a","name":"c","ports":[{"containerPort":9376,)"
            R"("protocol":"TCP"}],"resources":{},"securityContext":{"privileged":false}}],)"
            R"("terminationGracePeriodSeconds":0,"volumes":[{"hostPath":{"path":"/x","type":""},)"
            R"("name":"h"}]}}}})");
}

}  // namespace
}  // namespace skiff::master::testing
