// Node IPAM, endpoints, namespace, service account, garbage collector, node lifecycle, taint
// eviction and pod GC against the fake API.
#include <gtest/gtest.h>

#include "harness.h"

namespace skiff::master::testing {
namespace {

json node(const std::string& name) {
  return {{"metadata", {{"name", name}}},
          {"spec", json::object()},
          {"status",
           {{"conditions", json::array({{{"type", "Ready"},
                                         {"status", "True"},
                                         {"lastHeartbeatTime", "2026-01-01T00:00:00Z"}}})}}}};
}

json pod(const std::string& name, json labels, const std::string& /*ip*/, bool /*ready*/) {
  json p = {
      {"metadata", {{"name", name}, {"labels", labels}}},
      {"spec",
       {{"nodeName", "n1"},
        {"containers",
         json::array({{{"name", "c"},
                       {"image", "x"},
                       {"ports", json::array({{{"name", "http"}, {"containerPort", 8080}}})}}})}}}};
  return p;
}

void setStatus(Harness& h, const std::string& name, const std::string& ip, bool ready) {
  ASSERT_TRUE(h.client.patch(
      gvr::kPods, "default", name, PatchType::Merge,
      json{{"status",
            {{"phase", "Running"},
             {"podIP", ip},
             {"conditions",
              json::array({{{"type", "Ready"}, {"status", ready ? "True" : "False"}}})}}}},
      "status"));
}

// A ReplicaSet in "default" to own things in the garbage collector tests.
json createOwner(Harness& h, const std::string& name) {
  auto made = h.client.create(gvr::kReplicaSets, "default",
                              json{{"metadata", {{"name", name}}}, {"spec", {{"replicas", 1}}}});
  EXPECT_TRUE(made) << made.error().message();
  return made ? *made : json::object();
}

// A blocking owner reference to `owner`, a ReplicaSet.
json ownerRef(const json& owner, bool controller) {
  return json{{"apiVersion", "apps/v1"}, {"kind", "ReplicaSet"},     {"name", meta::name(owner)},
              {"uid", meta::uid(owner)}, {"controller", controller}, {"blockOwnerDeletion", true}};
}

// A pod in "default" controlled by `owner`.
void createPodOf(Harness& h, const std::string& name, const json& owner) {
  json p = {
      {"metadata", {{"name", name}, {"ownerReferences", json::array({ownerRef(owner, true)})}}},
      {"spec", json::object()}};
  ASSERT_TRUE(h.client.create(gvr::kPods, "default", p));
}

TEST(NodeIpamTest, AssignsDistinctCidrsAndReusesReleasedOnes) {
  Harness h;
  auto c = newNodeIpamController(h.client, h.clock, NodeIpamOptions{});
  ASSERT_TRUE(c);
  h.add(std::move(*c));
  json pre = node("old");
  pre["spec"]["podCIDR"] = "10.244.0.0/24";
  ASSERT_TRUE(h.client.create(gvr::kNodes, "", pre));  // assigned before a restart
  h.start();
  for (auto n : {"a", "b"}) ASSERT_TRUE(h.client.create(gvr::kNodes, "", node(n)));
  h.settle();
  EXPECT_EQ(h.client.get(gvr::kNodes, "", "a")->at("spec")["podCIDR"], "10.244.1.0/24");
  EXPECT_EQ(h.client.get(gvr::kNodes, "", "b")->at("spec")["podCIDR"], "10.244.2.0/24");
  EXPECT_EQ(h.client.get(gvr::kNodes, "", "b")->at("spec")["podCIDRs"][0], "10.244.2.0/24");
  ASSERT_TRUE(h.client.remove(gvr::kNodes, "", "a"));
  ASSERT_TRUE(h.client.create(gvr::kNodes, "", node("c")));
  h.settle();
  EXPECT_EQ(h.client.get(gvr::kNodes, "", "c")->at("spec")["podCIDR"], "10.244.1.0/24");
  EXPECT_FALSE(newNodeIpamController(h.client, h.clock, NodeIpamOptions{"10.244.0.0/33", 24}));
  EXPECT_FALSE(newNodeIpamController(h.client, h.clock, NodeIpamOptions{"10.244.0.0/24", 16}));
}

TEST(EndpointsTest, ReadyAndNotReadyWithNamedPorts) {
  Harness h;
  h.add(newEndpointsController(h.client, h.clock));
  h.add(newEndpointSliceController(h.client, h.clock));
  h.start();
  json svc = json::parse(
      R"({"metadata":{"name":"web","labels":{"team":"a"}},"spec":{"selector":{"app":"web"},
    "clusterIP":"10.96.0.10","ports":[{"name":"http","port":80,"targetPort":"http","protocol":"TCP"}]}})");
  ASSERT_TRUE(h.client.create(gvr::kServices, "default", svc));
  ASSERT_TRUE(h.client.create(gvr::kPods, "default", pod("p1", {{"app", "web"}}, "", false)));
  ASSERT_TRUE(h.client.create(gvr::kPods, "default", pod("p2", {{"app", "web"}}, "", false)));
  ASSERT_TRUE(h.client.create(gvr::kPods, "default", pod("other", {{"app", "db"}}, "", false)));
  setStatus(h, "p1", "10.244.0.5", true);
  setStatus(h, "p2", "10.244.0.6", false);
  setStatus(h, "other", "10.244.0.7", true);
  h.settle();
  json ep = *h.client.get(gvr::kEndpoints, "default", "web");
  ASSERT_EQ(ep["subsets"].size(), 1u);
  EXPECT_EQ(ep["subsets"][0]["addresses"][0]["ip"], "10.244.0.5");
  EXPECT_EQ(ep["subsets"][0]["addresses"][0]["nodeName"], "n1");
  EXPECT_EQ(ep["subsets"][0]["addresses"][0]["targetRef"]["name"], "p1");
  EXPECT_EQ(ep["subsets"][0]["notReadyAddresses"][0]["ip"], "10.244.0.6");
  EXPECT_EQ(ep["subsets"][0]["ports"][0]["port"], 8080);
  EXPECT_EQ(ep["subsets"][0]["ports"][0]["name"], "http");
  EXPECT_EQ(ep["metadata"]["labels"]["team"], "a");

  auto slices =
      h.client
          .list(gvr::kEndpointSlices, "default", opts::labels("kubernetes.io/service-name=web"))
          ->items;
  ASSERT_EQ(slices.size(), 1u);
  json s = slices[0];
  EXPECT_EQ(s["addressType"], "IPv4");
  EXPECT_EQ(s["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"],
            "endpointslice-controller.k8s.io");
  EXPECT_EQ(s["metadata"]["ownerReferences"][0]["kind"], "Service");
  EXPECT_EQ(s["ports"][0]["port"], 8080);
  ASSERT_EQ(s["endpoints"].size(), 2u);
  EXPECT_EQ(s["endpoints"][0]["conditions"]["ready"], true);
  EXPECT_EQ(s["endpoints"][1]["conditions"]["ready"], false);
  EXPECT_EQ(s["endpoints"][1]["conditions"]["serving"], false);

  // Terminating: out of Endpoints, in the slice as terminating (still serving if ready).
  ASSERT_TRUE(h.client.remove(gvr::kPods, "default", "p1"));
  h.settle();
  ep = *h.client.get(gvr::kEndpoints, "default", "web");
  EXPECT_FALSE(ep["subsets"][0].contains("addresses"));
  s = h.client
          .list(gvr::kEndpointSlices, "default", opts::labels("kubernetes.io/service-name=web"))
          ->items[0];
  EXPECT_EQ(s["endpoints"][0]["conditions"]["terminating"], true);
  EXPECT_EQ(s["endpoints"][0]["conditions"]["serving"], true);
  EXPECT_EQ(s["endpoints"][0]["conditions"]["ready"], false);

  // publishNotReadyAddresses puts unready pods in addresses.
  ASSERT_TRUE(h.client.patch(gvr::kServices, "default", "web", PatchType::Merge,
                             json{{"spec", {{"publishNotReadyAddresses", true}}}}));
  h.settle();
  ep = *h.client.get(gvr::kEndpoints, "default", "web");
  EXPECT_EQ(ep["subsets"][0]["addresses"].size(), 2u);

  ASSERT_TRUE(h.client.remove(gvr::kServices, "default", "web"));
  h.settle();
  EXPECT_FALSE(h.client.get(gvr::kEndpoints, "default", "web"));
  EXPECT_TRUE(h.client.list(gvr::kEndpointSlices, "default", ListOptions{})->items.empty());
}

TEST(NamespaceTest, DeletesContentsThenFinalizesAndDefaultServiceAccount) {
  Harness h;
  h.add(newNamespaceController(h.client, h.clock));
  h.add(newServiceAccountController(h.client, h.clock));
  h.start();
  ASSERT_TRUE(h.client.create(gvr::kNamespaces, "", json{{"metadata", {{"name", "t"}}}}));
  h.settle();
  EXPECT_TRUE(h.client.get(gvr::kServiceAccounts, "t", "default"));
  json p = pod("p", {{"a", "b"}}, "", false);
  ASSERT_TRUE(h.client.create(gvr::kPods, "t", p));
  ASSERT_TRUE(h.client.create(gvr::kConfigMaps, "t", json{{"metadata", {{"name", "cm"}}}}));
  ASSERT_TRUE(h.client.remove(gvr::kNamespaces, "", "t"));
  h.settle();
  EXPECT_FALSE(h.client.get(gvr::kConfigMaps, "t", "cm"));
  EXPECT_TRUE(h.client.get(gvr::kNamespaces, "", "t"));  // the bound pod is still terminating
  ASSERT_TRUE(h.client.forceRemove(gvr::kPods, "t", "p"));
  h.clock->advance(std::chrono::seconds(2));
  h.settle();
  EXPECT_FALSE(h.client.get(gvr::kNamespaces, "", "t"));
}

// The garbage collector alone on the fake API, started.
struct GcHarness : Harness {
  GcHarness() {
    add(newGarbageCollector(client, clock));
    start();
  }
  // The pod `name` in "default" is still there, orphaned: no owner references left.
  void expectOrphaned(const std::string& name) {
    auto kept = client.get(gvr::kPods, "default", name);
    ASSERT_TRUE(kept) << name;
    EXPECT_TRUE((*kept)["metadata"]["ownerReferences"].empty()) << name;
  }
};

TEST(GarbageCollectorTest, BackgroundForegroundAndOrphan) {
  GcHarness h;
  json bg = createOwner(h, "bg");
  createPodOf(h, "bg-1", bg);
  ASSERT_TRUE(h.client.remove(gvr::kReplicaSets, "default", "bg", opts::propagation("Background")));
  h.settle();
  EXPECT_FALSE(h.client.get(gvr::kPods, "default", "bg-1"));

  json fg = createOwner(h, "fg");
  createPodOf(h, "fg-1", fg);
  ASSERT_TRUE(h.client.remove(gvr::kReplicaSets, "default", "fg", opts::propagation("Foreground")));
  h.settle();
  EXPECT_FALSE(h.client.get(gvr::kPods, "default", "fg-1"))
      << h.client.get(gvr::kPods, "default", "fg-1")->dump();
  EXPECT_FALSE(h.client.get(gvr::kReplicaSets, "default", "fg"));

  json orphan = createOwner(h, "or");
  createPodOf(h, "or-1", orphan);
  ASSERT_TRUE(h.client.remove(gvr::kReplicaSets, "default", "or", opts::propagation("Orphan")));
  h.settle();
  EXPECT_FALSE(h.client.get(gvr::kReplicaSets, "default", "or"));
  h.expectOrphaned("or-1");
}

// attemptToDeleteItem: a dependent with a solid owner besides one deleting in the foreground
// stays, and loses only the waiting owner's reference (conformance "should not delete
// dependents that have both valid owner and owner that's waiting for dependents to be
// deleted"); the waiting owner then goes.
TEST(GarbageCollectorTest, ASolidOwnerKeepsTheDependentOfAForegroundDeletion) {
  GcHarness h;
  json going = createOwner(h, "going"), staying = createOwner(h, "staying");
  json both = {
      {"metadata",
       {{"name", "both"},
        {"ownerReferences", json::array({ownerRef(going, true), ownerRef(staying, false)})}}},
      {"spec", json::object()}};
  json only = {
      {"metadata", {{"name", "only"}, {"ownerReferences", json::array({ownerRef(going, true)})}}},
      {"spec", json::object()}};
  ASSERT_TRUE(h.client.create(gvr::kPods, "default", both));
  ASSERT_TRUE(h.client.create(gvr::kPods, "default", only));
  ASSERT_TRUE(
      h.client.remove(gvr::kReplicaSets, "default", "going", opts::propagation("Foreground")));
  h.settle();
  EXPECT_FALSE(h.client.get(gvr::kPods, "default", "only"));
  auto kept = h.client.get(gvr::kPods, "default", "both");
  ASSERT_TRUE(kept);
  ASSERT_EQ((*kept)["metadata"]["ownerReferences"].size(), 1u);
  EXPECT_EQ((*kept)["metadata"]["ownerReferences"][0]["name"], "staying");
  EXPECT_FALSE(h.client.get(gvr::kReplicaSets, "default", "going"));
}

// An owner's dependents come from the informers' by-owner index: finishing an orphan or a
// foreground deletion lists no dependent kind through the API.
TEST(GarbageCollectorTest, OwnerDependentsComeFromTheIndexNotFromLists) {
  GcHarness h;
  json orphaned = createOwner(h, "orphaned"), fg = createOwner(h, "fg"),
       other = createOwner(h, "other");
  createPodOf(h, "orphaned-1", orphaned);
  createPodOf(h, "orphaned-2", orphaned);
  createPodOf(h, "fg-1", fg);
  createPodOf(h, "other-1", other);
  h.settle();
  h.client.resetCallsForTest();

  ASSERT_TRUE(
      h.client.remove(gvr::kReplicaSets, "default", "orphaned", opts::propagation("Orphan")));
  ASSERT_TRUE(h.client.remove(gvr::kReplicaSets, "default", "fg", opts::propagation("Foreground")));
  h.settle();
  EXPECT_FALSE(h.client.get(gvr::kReplicaSets, "default", "orphaned"));
  EXPECT_FALSE(h.client.get(gvr::kReplicaSets, "default", "fg"));
  for (const char* n : {"orphaned-1", "orphaned-2"}) h.expectOrphaned(n);
  EXPECT_FALSE(h.client.get(gvr::kPods, "default", "fg-1"));
  auto untouched = h.client.get(gvr::kPods, "default", "other-1");
  ASSERT_TRUE(untouched);
  EXPECT_EQ((*untouched)["metadata"]["ownerReferences"].size(), 1u);
  for (const char* r : {"pods", "replicasets", "controllerrevisions", "endpointslices", "jobs",
                        "deployments", "persistentvolumeclaims"}) {
    EXPECT_EQ(h.client.callsForTest(std::string("list ") + r), 0) << r;
  }
}

// A write to a dependent refused as stale (its cached copy lagged the API) keeps the owner's
// finalizer: the dependent is orphaned on the next try, never left with a dangling reference
// that would have it collected.
TEST(GarbageCollectorTest, AStaleDependentKeepsTheOwnerUntilItIsOrphaned) {
  GcHarness h;
  json owner = createOwner(h, "o");
  createPodOf(h, "o-1", owner);
  h.settle();
  h.client.failNextForTest("patch", "pods", ErrorCode::Conflict);
  ASSERT_TRUE(h.client.remove(gvr::kReplicaSets, "default", "o", opts::propagation("Orphan")));
  h.settle();
  auto waiting = h.client.get(gvr::kReplicaSets, "default", "o");
  ASSERT_TRUE(waiting);
  EXPECT_TRUE(meta::hasFinalizer(*waiting, "orphan"));
  h.clock->advance(std::chrono::seconds(2));
  h.settle();
  EXPECT_FALSE(h.client.get(gvr::kReplicaSets, "default", "o"));
  h.expectOrphaned("o-1");
}

// Conformance "should not be blocked by dependency circle": pod1 <- pod2 <- pod3 <- pod1, all
// blocking; a foreground delete of pod1 ends with all three gone, not each waiting for the next.
TEST(GarbageCollectorTest, AForegroundDeleteOfACircleDeletesAllOfIt) {
  GcHarness h;
  std::vector<json> pods;
  for (const char* n : {"p1", "p2", "p3"}) {
    pods.push_back(*h.client.create(gvr::kPods, "default",
                                    json{{"metadata", {{"name", n}}}, {"spec", json::object()}}));
  }
  auto own = [&](int dependent, int owner) {
    json ref = {{"apiVersion", "v1"},
                {"kind", "Pod"},
                {"name", meta::name(pods[owner])},
                {"uid", meta::uid(pods[owner])},
                {"blockOwnerDeletion", true}};
    ASSERT_TRUE(h.client.patch(gvr::kPods, "default", meta::name(pods[dependent]), PatchType::Merge,
                               json{{"metadata", {{"ownerReferences", json::array({ref})}}}}));
  };
  own(0, 2);
  own(1, 0);
  own(2, 1);
  ASSERT_TRUE(h.client.remove(gvr::kPods, "default", "p1", opts::propagation("Foreground")));
  for (int i = 0; i < 10; ++i) {
    h.clock->advance(std::chrono::seconds(2));
    h.settle();
  }
  for (const char* n : {"p1", "p2", "p3"})
    EXPECT_FALSE(h.client.get(gvr::kPods, "default", n)) << n;
}

TEST(GarbageCollectorTest, LiveOwnersComeFromTheCachesMissingOnesAreCheckedLive) {
  GcHarness h;
  json owner = createOwner(h, "rs");
  auto owned = [&](const std::string& name, const std::string& uid) {
    return json{{"metadata",
                 {{"name", name},
                  {"ownerReferences", json::array({{{"apiVersion", "apps/v1"},
                                                    {"kind", "ReplicaSet"},
                                                    {"name", "rs"},
                                                    {"uid", uid},
                                                    {"controller", true}}})}}},
                {"spec", json::object()}};
  };
  h.settle();
  auto reads = [&] {
    return h.client.callsForTest("get pods") + h.client.callsForTest("get replicasets");
  };
  int before = reads();
  ASSERT_TRUE(h.client.create(gvr::kPods, "default", owned("kept", meta::uid(owner))));
  h.settle();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(h.client.patch(gvr::kPods, "default", "kept", PatchType::Merge,
                               json{{"status", {{"phase", i % 2 ? "Pending" : "Running"}}}},
                               "status"));
  }
  h.settle();
  EXPECT_EQ(reads(), before);  // a pod whose owner is alive, created and updated: no API reads
  EXPECT_TRUE(h.client.get(gvr::kPods, "default", "kept"));
  // An owner reference to an object that is not there (another uid) is confirmed live, and
  // the dependent goes.
  ASSERT_TRUE(h.client.create(gvr::kPods, "default", owned("dangling", "no-such-uid")));
  h.settle();
  EXPECT_FALSE(h.client.get(gvr::kPods, "default", "dangling"));
  EXPECT_TRUE(h.client.get(gvr::kPods, "default", "kept"));
}

TEST(NodeLifecycleTest, LeaseExpiryMarksUnknownTaintsAndEvicts) {
  Harness h;
  NodeLifecycleOptions o;
  h.add(newNodeLifecycleController(h.client, h.clock, o));
  h.add(newTaintEvictionController(h.client, h.clock));
  h.start();
  ASSERT_TRUE(h.client.create(gvr::kNodes, "", node("n1")));
  ASSERT_TRUE(h.client.create(
      gvr::kLeases, "kube-node-lease",
      json{{"metadata", {{"name", "n1"}}},
           {"spec", {{"holderIdentity", "n1"}, {"renewTime", "2026-01-01T00:00:00.000000Z"}}}}));
  json tolerant = pod("tolerant", {{"a", "b"}}, "", false);
  tolerant["spec"]["tolerations"] = json::array({{{"key", "node.kubernetes.io/unreachable"},
                                                  {"operator", "Exists"},
                                                  {"effect", "NoExecute"},
                                                  {"tolerationSeconds", 30}}});
  ASSERT_TRUE(h.client.create(gvr::kPods, "default", tolerant));
  ASSERT_TRUE(h.client.create(gvr::kPods, "default", pod("plain", {{"a", "b"}}, "", false)));
  setStatus(h, "tolerant", "10.244.0.2", true);
  h.settle();
  EXPECT_FALSE(h.client.get(gvr::kNodes, "", "n1")->at("spec").contains("taints"));
  // Renewing keeps it healthy.
  h.clock->advance(std::chrono::seconds(40));
  ASSERT_TRUE(h.client.patch(gvr::kLeases, "kube-node-lease", "n1", PatchType::Merge,
                             json{{"spec", {{"renewTime", "2026-01-01T00:00:40.000000Z"}}}}));
  h.settle();
  h.clock->advance(std::chrono::seconds(40));
  h.settle();
  json n = *h.client.get(gvr::kNodes, "", "n1");
  EXPECT_EQ(n["status"]["conditions"][0]["status"], "True");
  // Then it stops: after the 50 s grace period everything is Unknown and tainted.
  h.clock->advance(std::chrono::seconds(11));
  h.settle();
  n = *h.client.get(gvr::kNodes, "", "n1");
  EXPECT_EQ(n["status"]["conditions"][0]["status"], "Unknown");
  EXPECT_EQ(n["status"]["conditions"][0]["reason"], "NodeStatusUnknown");
  EXPECT_EQ(n["status"]["conditions"][0]["message"], "Kubelet stopped posting node status.");
  std::set<std::string> taints;
  for (const auto& t : n["spec"]["taints"]) {
    taints.insert(t["key"].get<std::string>() + ":" + t["effect"].get<std::string>());
  }
  EXPECT_EQ(taints, (std::set<std::string>{"node.kubernetes.io/unreachable:NoSchedule",
                                           "node.kubernetes.io/unreachable:NoExecute"}));
  // The pod without a toleration goes now, the tolerant one after its 30 s.
  EXPECT_TRUE(meta::isDeleting(*h.client.get(gvr::kPods, "default", "plain")));
  json t = *h.client.get(gvr::kPods, "default", "tolerant");
  EXPECT_FALSE(meta::isDeleting(t));
  EXPECT_EQ(t["status"]["conditions"][0]["status"], "False");  // marked not ready
  h.clock->advance(std::chrono::seconds(31));
  h.settle();
  EXPECT_TRUE(meta::isDeleting(*h.client.get(gvr::kPods, "default", "tolerant")));
  // Recovery removes the taints.
  ASSERT_TRUE(h.client.patch(
      gvr::kNodes, "", "n1", PatchType::Merge,
      json{{"status",
            {{"conditions", json::array({{{"type", "Ready"},
                                          {"status", "True"},
                                          {"lastHeartbeatTime", "2026-01-01T00:03:00Z"}}})}}}},
      "status"));
  h.settle();
  EXPECT_FALSE(h.client.get(gvr::kNodes, "", "n1")->at("spec").contains("taints"));
}

TEST(TaintEvictionTest, PodsOnANoExecuteNodeGoUnlessToleratedAndCleanNodesCostNoReads) {
  Harness h;
  h.add(newTaintEvictionController(h.client, h.clock));
  h.start();
  ASSERT_TRUE(h.client.create(gvr::kNodes, "", node("n1")));
  h.settle();
  // Pods landing on and changing on an untainted node: decided from the caches, no API reads.
  int reads = h.client.callsForTest("get pods") + h.client.callsForTest("get nodes");
  for (auto name : {"a", "b"}) {
    ASSERT_TRUE(h.client.create(gvr::kPods, "default", pod(name, {{"x", "y"}}, "", false)));
    setStatus(h, name, "10.244.0.2", true);
  }
  h.settle();
  EXPECT_EQ(h.client.callsForTest("get pods") + h.client.callsForTest("get nodes"), reads);
  EXPECT_FALSE(meta::isDeleting(*h.client.get(gvr::kPods, "default", "a")));
  // A NoExecute taint: the pod that tolerates it forever stays, the other goes.
  json tolerant = pod("tolerant", {{"x", "y"}}, "", false);
  tolerant["spec"]["tolerations"] =
      json::array({{{"key", "maintenance"}, {"operator", "Exists"}, {"effect", "NoExecute"}}});
  ASSERT_TRUE(h.client.create(gvr::kPods, "default", tolerant));
  ASSERT_TRUE(h.client.patch(
      gvr::kNodes, "", "n1", PatchType::Merge,
      json{{"spec",
            {{"taints", json::array({{{"key", "maintenance"}, {"effect", "NoExecute"}}})}}}}));
  h.settle();
  EXPECT_TRUE(meta::isDeleting(*h.client.get(gvr::kPods, "default", "a")));
  EXPECT_TRUE(meta::isDeleting(*h.client.get(gvr::kPods, "default", "b")));
  EXPECT_FALSE(meta::isDeleting(*h.client.get(gvr::kPods, "default", "tolerant")));
  // A pod bound to the node while it is tainted goes as soon as it is seen.
  ASSERT_TRUE(h.client.create(gvr::kPods, "default", pod("late", {{"x", "y"}}, "", false)));
  h.settle();
  EXPECT_TRUE(meta::isDeleting(*h.client.get(gvr::kPods, "default", "late")));
}

TEST(PodGcTest, OrphanedAndTerminatedAboveThreshold) {
  Harness h;
  PodGcOptions o;
  o.terminated_pod_gc_threshold = 1;
  h.add(newPodGcController(h.client, h.clock, o));
  h.start();
  ASSERT_TRUE(h.client.create(gvr::kNodes, "", node("n1")));
  for (auto name : {"done1", "done2"}) {
    ASSERT_TRUE(h.client.create(gvr::kPods, "default", pod(name, {{"a", "b"}}, "", false)));
    ASSERT_TRUE(h.client.patch(gvr::kPods, "default", name, PatchType::Merge,
                               json{{"status", {{"phase", "Succeeded"}}}}, "status"));
    h.clock->advance(std::chrono::seconds(1));
  }
  json lost = pod("lost", {{"a", "b"}}, "", false);
  lost["spec"]["nodeName"] = "gone";
  ASSERT_TRUE(h.client.create(gvr::kPods, "default", lost));
  h.settle();
  // A pass works from the informer caches: no list of every pod or node from the API.
  int lists = h.client.callsForTest("list pods") + h.client.callsForTest("list nodes");
  h.controllers[0]->resync();
  h.settle();
  EXPECT_EQ(h.client.callsForTest("list pods") + h.client.callsForTest("list nodes"), lists);
  EXPECT_FALSE(h.client.get(gvr::kPods, "default", "done1"));
  EXPECT_TRUE(h.client.get(gvr::kPods, "default", "done2"));
  EXPECT_TRUE(h.client.get(gvr::kPods, "default", "lost"));  // quarantine
  h.clock->advance(std::chrono::seconds(41));
  h.settle();
  EXPECT_FALSE(h.client.get(gvr::kPods, "default", "lost"));
}

TEST(PodGcTest, TerminatingPodNoKubeletStartedGoesAtOnce) {
  Harness h;
  h.add(newPodGcController(h.client, h.clock, PodGcOptions{}));
  h.start();
  ASSERT_TRUE(h.client.create(gvr::kPods, "default", pod("idle", {{"a", "b"}}, "", false)));
  ASSERT_TRUE(h.client.create(gvr::kPods, "default", pod("started", {{"a", "b"}}, "", false)));
  setStatus(h, "started", "10.244.0.9", true);
  ASSERT_TRUE(h.client.patch(gvr::kPods, "default", "started", PatchType::Merge,
                             json{{"status", {{"startTime", "2026-01-01T00:00:00Z"}}}}, "status"));
  ASSERT_TRUE(h.client.remove(gvr::kPods, "default", "idle"));
  ASSERT_TRUE(h.client.remove(gvr::kPods, "default", "started"));
  h.settle();
  EXPECT_FALSE(h.client.get(gvr::kPods, "default", "idle"));
  EXPECT_TRUE(h.client.get(gvr::kPods, "default", "started"));  // its kubelet stops it
}

}  // namespace
}  // namespace skiff::master::testing
