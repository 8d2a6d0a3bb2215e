#include "skiff/master/scheduler/scheduler.h"

#include <gtest/gtest.h>

#include "skiff/common/pod_resources.h"
#include "skiff/master/informer/meta.h"
#include "skiff/master/informer/options.h"
#include "skiff/master/testing/fake_api_client.h"

namespace skiff::master {
namespace {

using testing::FakeApiClient;

json node(const std::string& name, const std::string& cpu = "2", const std::string& mem = "4Gi",
          bool ready = true) {
  json n = {
      {"metadata", {{"name", name}, {"labels", {{"kubernetes.io/hostname", name}}}}},
      {"spec", json::object()},
      {"status",
       {{"capacity", {{"cpu", cpu}, {"memory", mem}, {"pods", "110"}}},
        {"allocatable", {{"cpu", cpu}, {"memory", mem}, {"pods", "110"}}},
        {"conditions", json::array({{{"type", "Ready"}, {"status", ready ? "True" : "False"}}})}}}};
  return n;
}

json pod(const std::string& name, const std::string& cpu = "100m",
         const std::string& owner_uid = "") {
  json p = {
      {"metadata", {{"name", name}, {"labels", {{"app", "web"}}}}},
      {"spec",
       {{"containers",
         json::array({{{"name", "c"},
                       {"image", "busybox"},
                       {"resources", {{"requests", {{"cpu", cpu}, {"memory", "64Mi"}}}}}}})}}}};
  if (!owner_uid.empty()) {
    p["metadata"]["ownerReferences"] = json::array({{{"apiVersion", "apps/v1"},
                                                     {"kind", "ReplicaSet"},
                                                     {"name", "rs"},
                                                     {"uid", owner_uid},
                                                     {"controller", true}}});
  }
  return p;
}

class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SchedulerOptions o;
    o.clock = clock_;
    o.seed = 7;
    sched_ = newScheduler(client_, o);
  }
  void start() { ASSERT_TRUE(sched_->start(false)); }
  std::string nodeOf(const std::string& name) {
    return meta::str(*client_.get(gvr::kPods, "default", name), {"spec", "nodeName"});
  }
  std::vector<json> events(const std::string& reason) {
    return client_.list(gvr::kEvents, "default", opts::fields("reason=" + reason))->items;
  }
  // Pod name -> the message of its (last) FailedScheduling event.
  std::map<std::string, std::string> whyUnscheduled() {
    std::map<std::string, std::string> why;
    for (const auto& e : events("FailedScheduling"))
      why[meta::str(e, {"involvedObject", "name"})] = e.value("message", "");
    return why;
  }

  std::shared_ptr<FakeClock> clock_ = std::make_shared<FakeClock>();
  FakeApiClient client_{clock_};
  std::unique_ptr<Scheduler> sched_;
};

TEST_F(SchedulerTest, SpreadsOneOwnersPodsAcrossNodes) {
  for (auto n : {"a", "b", "c"}) ASSERT_TRUE(client_.create(gvr::kNodes, "", node(n)));
  start();
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(client_.create(gvr::kPods, "default", pod("p" + std::to_string(i), "100m", "u1")));
  }
  EXPECT_EQ(sched_->runPendingForTest(), 6);
  std::map<std::string, int> per_node;
  for (int i = 0; i < 6; ++i) per_node[nodeOf("p" + std::to_string(i))]++;
  EXPECT_EQ(per_node, (std::map<std::string, int>{{"a", 2}, {"b", 2}, {"c", 2}}));
  EXPECT_EQ(client_.callsForTest("create pods/binding"), 6);
  auto scheduled = events("Scheduled");
  ASSERT_EQ(scheduled.size(), 6u);
  EXPECT_EQ(scheduled[0]["source"]["component"], "default-scheduler");
  auto p = *client_.get(gvr::kPods, "default", "p0");
  EXPECT_EQ(p["status"]["conditions"][0]["type"], "PodScheduled");
  EXPECT_EQ(p["status"]["conditions"][0]["status"], "True");
}

json claimPod(const std::string& name, const std::string& claim) {
  json p = pod(name);
  p["metadata"]["namespace"] = "default";
  p["spec"]["volumes"] =
      json::array({{{"name", "d"}, {"persistentVolumeClaim", {{"claimName", claim}}}}});
  return p;
}

json claimObj(const std::string& name, const std::string& cls, const std::string& volume = "") {
  json c = {{"metadata", {{"name", name}, {"namespace", "default"}}},
            {"spec",
             {{"accessModes", {"ReadWriteOnce"}},
              {"storageClassName", cls},
              {"resources", {{"requests", {{"storage", "1Gi"}}}}}}},
            {"status", {{"phase", volume.empty() ? "Pending" : "Bound"}}}};
  if (!volume.empty()) c["spec"]["volumeName"] = volume;
  return c;
}

const GroupVersionResource kPvcs{"", "v1", "persistentvolumeclaims"};
const GroupVersionResource kPvs{"", "v1", "persistentvolumes"};
const GroupVersionResource kClasses{"storage.k8s.io", "v1", "storageclasses"};

// VolumeBinding: a bound local volume's node affinity filters nodes; WaitForFirstConsumer
// claims get the chosen node; a missing or unbound Immediate claim keeps the pod Pending.
TEST_F(SchedulerTest, VolumeBindingFollowsTheVolumesNodeAffinity) {
  for (auto n : {"a", "b", "c"}) ASSERT_TRUE(client_.create(gvr::kNodes, "", node(n)));
  json pv = json::parse(R"({"metadata": {"name": "pv-b"},
    "spec": {"capacity": {"storage": "1Gi"}, "nodeAffinity": {"required": {"nodeSelectorTerms":
      [{"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In",
                              "values": ["b"]}]}]}}},
    "status": {"phase": "Bound"}})");
  ASSERT_TRUE(client_.create(kPvs, "", pv));
  pv["metadata"]["name"] = "pv-gone";
  pv["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0]["values"] =
      {"elsewhere"};
  ASSERT_TRUE(client_.create(kPvs, "", pv));
  ASSERT_TRUE(client_.create(kPvcs, "default", claimObj("on-b", "", "pv-b")));
  ASSERT_TRUE(client_.create(kPvcs, "default", claimObj("lost", "", "pv-gone")));
  ASSERT_TRUE(client_.create(kPvcs, "default", claimObj("later", "local-path")));
  ASSERT_TRUE(client_.create(kPvcs, "default", claimObj("now", "")));
  ASSERT_TRUE(client_.create(kClasses, "",
                             json{{"metadata", {{"name", "local-path"}}},
                                  {"provisioner", "skiff.io/local-path"},
                                  {"volumeBindingMode", "WaitForFirstConsumer"}}));
  start();
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(client_.create(gvr::kPods, "default", claimPod("p" + std::to_string(i), "on-b")));
  ASSERT_TRUE(client_.create(gvr::kPods, "default", claimPod("stuck", "lost")));
  ASSERT_TRUE(client_.create(gvr::kPods, "default", claimPod("wffc", "later")));
  ASSERT_TRUE(client_.create(gvr::kPods, "default", claimPod("immediate", "now")));
  ASSERT_TRUE(client_.create(gvr::kPods, "default", claimPod("missing", "nope")));
  sched_->runPendingForTest();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(nodeOf("p" + std::to_string(i)), "b");
  EXPECT_EQ(nodeOf("stuck"), "");
  std::string wffc_node = nodeOf("wffc");
  EXPECT_NE(wffc_node, "");
  EXPECT_EQ(meta::str(*client_.get(kPvcs, "default", "later"),
                      {"metadata", "annotations", "volume.kubernetes.io/selected-node"}),
            wffc_node);
  EXPECT_EQ(nodeOf("immediate"), "");
  EXPECT_EQ(nodeOf("missing"), "");
  std::map<std::string, std::string> why = whyUnscheduled();
  EXPECT_EQ(why["stuck"],
            "0/3 nodes are available: 3 node(s) didn't match PersistentVolume's node affinity. "
            "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.");
  EXPECT_NE(why["immediate"].find("pod has unbound immediate PersistentVolumeClaims"),
            std::string::npos);
  EXPECT_NE(why["missing"].find("persistentvolumeclaim \"nope\" not found"), std::string::npos);
}

// A generic ephemeral volume is its claim <pod>-<volume>: scheduled as any WaitForFirstConsumer
// claim once the pod owns it; before the claim exists, or when the pod does not own it, the pod
// waits with upstream's message.
TEST_F(SchedulerTest, EphemeralVolumesAreTheirPodsClaims) {
  ASSERT_TRUE(client_.create(gvr::kNodes, "", node("a")));
  ASSERT_TRUE(client_.create(kClasses, "",
                             json{{"metadata", {{"name", "local-path"}}},
                                  {"provisioner", "skiff.io/local-path"},
                                  {"volumeBindingMode", "WaitForFirstConsumer"}}));
  start();
  auto ephemeralPod = [](const std::string& name) {
    json p = pod(name);
    p["metadata"]["namespace"] = "default";
    p["spec"]["volumes"] = json::array(
        {{{"name", "d"},
          {"ephemeral",
           {{"volumeClaimTemplate", {{"spec", claimObj("x", "local-path")["spec"]}}}}}}});
    return p;
  };
  auto owned = client_.create(gvr::kPods, "default", ephemeralPod("owned"));
  ASSERT_TRUE(owned);
  ASSERT_TRUE(client_.create(gvr::kPods, "default", ephemeralPod("foreign")));
  sched_->runPendingForTest();
  EXPECT_EQ(nodeOf("owned"), "");
  std::map<std::string, std::string> why = whyUnscheduled();
  EXPECT_NE(why["owned"].find("waiting for ephemeral volume controller to create the "
                              "persistentvolumeclaim \"owned-d\""),
            std::string::npos)
      << why["owned"];

  json c = claimObj("owned-d", "local-path");
  c["metadata"]["ownerReferences"] = json::array({meta::makeControllerRef(*owned, "v1", "Pod")});
  ASSERT_TRUE(client_.create(kPvcs, "default", c));
  ASSERT_TRUE(client_.create(kPvcs, "default", claimObj("foreign-d", "local-path")));
  clock_->advance(std::chrono::seconds(400));
  sched_->runPendingForTest();
  EXPECT_EQ(nodeOf("owned"), "a");
  EXPECT_EQ(meta::str(*client_.get(kPvcs, "default", "owned-d"),
                      {"metadata", "annotations", "volume.kubernetes.io/selected-node"}),
            "a");
  EXPECT_EQ(nodeOf("foreign"), "");
  why = whyUnscheduled();
  EXPECT_NE(why["foreign"].find("PVC default/foreign-d was not created for pod default/foreign "
                                "(pod is not owner)"),
            std::string::npos)
      << why["foreign"];
}

// A local-path claim needs room on the node: allocatable ephemeral-storage less the local-path
// volumes already there; too large for every node, the pod stays Pending with upstream's reason.
TEST_F(SchedulerTest, LocalPathClaimsNeedFreeStorageOnTheNode) {
  for (auto n : {"a", "b"}) {
    json nd = node(n);
    nd["status"]["allocatable"]["ephemeral-storage"] = "10Gi";
    ASSERT_TRUE(client_.create(gvr::kNodes, "", nd));
  }
  json used = json::parse(R"({"metadata": {"name": "pvc-old",
      "annotations": {"pv.kubernetes.io/provisioned-by": "skiff.io/local-path"}},
    "spec": {"capacity": {"storage": "8Gi"}, "nodeAffinity": {"required": {"nodeSelectorTerms":
      [{"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In",
                              "values": ["a"]}]}]}}},
    "status": {"phase": "Bound"}})");
  ASSERT_TRUE(client_.create(kPvs, "", used));
  ASSERT_TRUE(client_.create(kClasses, "",
                             json{{"metadata", {{"name", "local-path"}}},
                                  {"provisioner", "skiff.io/local-path"},
                                  {"volumeBindingMode", "WaitForFirstConsumer"}}));
  json fits = claimObj("fits", "local-path");
  fits["spec"]["resources"]["requests"]["storage"] = "5Gi";
  json huge = claimObj("huge", "local-path");
  huge["spec"]["resources"]["requests"]["storage"] = "20Gi";
  ASSERT_TRUE(client_.create(kPvcs, "default", fits));
  ASSERT_TRUE(client_.create(kPvcs, "default", huge));
  start();
  ASSERT_TRUE(client_.create(gvr::kPods, "default", claimPod("small", "fits")));
  ASSERT_TRUE(client_.create(gvr::kPods, "default", claimPod("big", "huge")));
  sched_->runPendingForTest();
  EXPECT_EQ(nodeOf("small"), "b");  // a has 2Gi left
  EXPECT_EQ(nodeOf("big"), "");
  std::string why;
  for (const auto& e : events("FailedScheduling")) {
    if (meta::str(e, {"involvedObject", "name"}) == "big") why = e.value("message", "");
  }
  EXPECT_EQ(why.rfind("0/2 nodes are available: 2 node(s) did not have enough free storage.", 0),
            0u)
      << why;
  EXPECT_EQ(meta::str(*client_.get(kPvcs, "default", "huge"), {"status", "phase"}), "Pending");
}

TEST_F(SchedulerTest, InsufficientCpuKeepsPodPendingWithUpstreamMessage) {
  for (auto n : {"a", "b", "c"}) ASSERT_TRUE(client_.create(gvr::kNodes, "", node(n)));
  start();
  ASSERT_TRUE(client_.create(gvr::kPods, "default", pod("big", "5")));
  sched_->runPendingForTest();
  EXPECT_EQ(nodeOf("big"), "");
  const std::string want =
      "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No "
      "preemption victims found for incoming pod.";
  auto failed = events("FailedScheduling");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0]["message"], want);
  EXPECT_EQ(failed[0]["type"], "Warning");
  EXPECT_EQ(failed[0]["involvedObject"]["name"], "big");
  auto p = *client_.get(gvr::kPods, "default", "big");
  EXPECT_EQ(p["status"]["conditions"][0]["reason"], "Unschedulable");
  EXPECT_EQ(p["status"]["conditions"][0]["status"], "False");
  EXPECT_EQ(p["status"]["conditions"][0]["message"], want);
  // Retried after the 1 s backoff; the same failure aggregates into the same event.
  EXPECT_EQ(sched_->runPendingForTest(), 0);
  clock_->advance(std::chrono::seconds(1));
  EXPECT_EQ(sched_->runPendingForTest(), 1);
  failed = events("FailedScheduling");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0]["count"], 2);
}

TEST_F(SchedulerTest, MixedReasonsAreCountedAndSorted) {
  ASSERT_TRUE(client_.create(gvr::kNodes, "", node("a")));
  ASSERT_TRUE(client_.create(gvr::kNodes, "", node("b", "2", "4Gi", false)));
  ASSERT_TRUE(client_.create(gvr::kNodes, "", node("c", "2", "4Gi", false)));
  start();
  ASSERT_TRUE(client_.create(gvr::kPods, "default", pod("big", "5")));
  sched_->runPendingForTest();
  auto failed = events("FailedScheduling");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0]["message"],
            "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint "
            "{node.kubernetes.io/not-ready: }. preemption: 0/3 nodes are available: 1 No "
            "preemption victims found for incoming pod, 2 Preemption is not helpful for "
            "scheduling.");
}

TEST_F(SchedulerTest, RetriesWhenANodeJoins) {
  ASSERT_TRUE(client_.create(gvr::kNodes, "", node("small", "1")));
  start();
  ASSERT_TRUE(client_.create(gvr::kPods, "default", pod("p", "1500m")));
  sched_->runPendingForTest();
  EXPECT_EQ(nodeOf("p"), "");
  ASSERT_TRUE(client_.create(gvr::kNodes, "", node("big", "4")));
  clock_->advance(std::chrono::seconds(1));
  sched_->runPendingForTest();
  EXPECT_EQ(nodeOf("p"), "big");
}

TEST_F(SchedulerTest, CordonedNodeOnlyTakesPodsTolerantOfUnschedulable) {
  json cordoned = node("a");
  cordoned["spec"]["unschedulable"] = true;
  ASSERT_TRUE(client_.create(gvr::kNodes, "", cordoned));
  ASSERT_TRUE(client_.create(gvr::kNodes, "", node("b", "1")));
  start();
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(client_.create(gvr::kPods, "default", pod("p" + std::to_string(i))));
  }
  json ds = pod("ds");
  ds["spec"]["tolerations"] = json::array({{{"key", "node.kubernetes.io/unschedulable"},
                                            {"operator", "Exists"},
                                            {"effect", "NoSchedule"}}});
  ds["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    ["nodeSelectorTerms"] = json::array(
        {{{"matchFields",
           json::array({{{"key", "metadata.name"}, {"operator", "In"}, {"values", {"a"}}}})}}});
  ASSERT_TRUE(client_.create(gvr::kPods, "default", ds));
  sched_->runPendingForTest();
  for (int i = 0; i < 4; ++i) EXPECT_EQ(nodeOf("p" + std::to_string(i)), "b");
  EXPECT_EQ(nodeOf("ds"), "a");
}

TEST_F(SchedulerTest, AssumedPodsCountBeforeTheWatchCatchesUp) {
  for (auto n : {"a", "b"}) ASSERT_TRUE(client_.create(gvr::kNodes, "", node(n)));
  start();
  ASSERT_TRUE(client_.create(gvr::kPods, "default", pod("x", "1500m")));
  ASSERT_TRUE(client_.create(gvr::kPods, "default", pod("y", "1500m")));
  ASSERT_TRUE(client_.create(gvr::kPods, "default", pod("z", "1500m")));
  sched_->runPendingForTest();
  EXPECT_NE(nodeOf("x"), nodeOf("y"));
  EXPECT_EQ(nodeOf("z"), "");
  // Deleting a bound pod frees its share and wakes the parked pod.
  ASSERT_TRUE(client_.remove(gvr::kPods, "default", "x", opts::grace(0)));
  clock_->advance(std::chrono::seconds(1));
  sched_->runPendingForTest();
  EXPECT_NE(nodeOf("z"), "");
}

TEST_F(SchedulerTest, NodeSelectorTaintsAndHostPorts) {
  json gpu = node("gpu");
  gpu["metadata"]["labels"]["accel"] = "yes";
  gpu["spec"]["taints"] =
      json::array({{{"key", "dedicated"}, {"value", "ml"}, {"effect", "NoSchedule"}}});
  ASSERT_TRUE(client_.create(gvr::kNodes, "", gpu));
  ASSERT_TRUE(client_.create(gvr::kNodes, "", node("plain")));
  start();
  json sel = pod("sel");
  sel["spec"]["nodeSelector"] = {{"accel", "yes"}};
  ASSERT_TRUE(client_.create(gvr::kPods, "default", sel));
  sched_->runPendingForTest();
  EXPECT_EQ(nodeOf("sel"), "");
  EXPECT_EQ(events("FailedScheduling")[0]["message"],
            "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 "
            "node(s) had untolerated taint {dedicated: ml}. preemption: 0/2 nodes are available: "
            "2 Preemption is not helpful for scheduling.");
  json tol = sel;
  tol["metadata"]["name"] = "tol";
  tol["spec"]["tolerations"] = json::array(
      {{{"key", "dedicated"}, {"operator", "Equal"}, {"value", "ml"}, {"effect", "NoSchedule"}}});
  ASSERT_TRUE(client_.create(gvr::kPods, "default", tol));
  sched_->runPendingForTest();
  EXPECT_EQ(nodeOf("tol"), "gpu");

  json hp1 = pod("hp1"), hp2 = pod("hp2"), hp3 = pod("hp3");
  for (json* p : {&hp1, &hp2, &hp3}) {
    (*p)["spec"]["containers"][0]["ports"] =
        json::array({{{"containerPort", 80}, {"hostPort", 8080}}});
    (*p)["spec"]["tolerations"] = tol["spec"]["tolerations"];
  }
  for (json* p : {&hp1, &hp2, &hp3}) ASSERT_TRUE(client_.create(gvr::kPods, "default", *p));
  sched_->runPendingForTest();
  EXPECT_NE(nodeOf("hp1"), "");
  EXPECT_NE(nodeOf("hp2"), "");
  EXPECT_NE(nodeOf("hp1"), nodeOf("hp2"));
  EXPECT_EQ(nodeOf("hp3"), "");
}

TEST_F(SchedulerTest, HigherPriorityPodPreemptsLowerOne) {
  ASSERT_TRUE(client_.create(gvr::kNodes, "", node("a")));
  start();
  json low = pod("low", "1500m");
  low["spec"]["priority"] = 0;
  ASSERT_TRUE(client_.create(gvr::kPods, "default", low));
  sched_->runPendingForTest();
  ASSERT_EQ(nodeOf("low"), "a");
  json high = pod("high", "1500m");
  high["spec"]["priority"] = 1000;
  ASSERT_TRUE(client_.create(gvr::kPods, "default", high));
  sched_->runPendingForTest();
  auto victim = *client_.get(gvr::kPods, "default", "low");
  EXPECT_TRUE(meta::isDeleting(victim));
  EXPECT_EQ(client_.get(gvr::kPods, "default", "high")->at("status")["nominatedNodeName"], "a");
  ASSERT_TRUE(client_.forceRemove(gvr::kPods, "default", "low"));
  clock_->advance(std::chrono::seconds(2));
  sched_->runPendingForTest();
  EXPECT_EQ(nodeOf("high"), "a");
  EXPECT_EQ(sched_->stats().preemptions, 1u);
}

// Quantity parsing itself is common's (pod_resources_test.cc); this pins what the scheduler's
// fit check sees for a pod.
TEST(ResourcesTest, PodRequestsAsTheSchedulerSeesThem) {
  json p = json::parse(R"({"spec":{
    "containers":[{"resources":{"requests":{"cpu":"100m"}}},{"resources":{"limits":{"cpu":"200m","memory":"1Gi"}}}],
    "initContainers":[{"resources":{"requests":{"cpu":"1"}}}],
    "overhead":{"cpu":"50m"}}})");
  auto r = podRequests(p);
  EXPECT_EQ(r["cpu"], 1050);  // max(100+200, 1000) + 50
  EXPECT_EQ(r["memory"], 1073741824000LL);
}

}  // namespace
}  // namespace skiff::master
