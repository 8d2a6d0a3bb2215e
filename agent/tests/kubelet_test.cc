#include "skiff/agent/kubelet.h"

#include <gtest/gtest.h>

#include "skiff/common/rfc3339.h"

#include <atomic>
#include <filesystem>
#include <functional>
#include <thread>
#include <tuple>

#include <unistd.h>

#include "skiff/agent/config.h"
#include "skiff/agent/runner.h"

namespace skiff::agent {
namespace {

using nlohmann::json;

json podWith(const std::string& cpu, const std::string& mem, int host_port = 0) {
  json c = {{"name", "c"}, {"image", "busybox"}};
  if (!cpu.empty()) c["resources"]["requests"]["cpu"] = cpu;
  if (!mem.empty()) c["resources"]["requests"]["memory"] = mem;
  if (host_port) c["ports"] = {{{"containerPort", 80}, {"hostPort", host_port}}};
  return {{"metadata", {{"name", "p"}, {"namespace", "default"}, {"uid", "u"}}},
          {"spec", {{"containers", {c}}}}};
}

TEST(AdmissionTest, RejectsWithKubeletReasons) {
  KubeletLimits l{2000, int64_t(1) << 30, 3};
  EXPECT_FALSE(admitPod(podWith("1", "100Mi"), {}, l));
  auto cpu = admitPod(podWith("5", ""), {}, l);
  ASSERT_TRUE(cpu);
  EXPECT_EQ(cpu->reason, "OutOfcpu");
  EXPECT_EQ(cpu->message,
            "Pod was rejected: Node didn't have enough resource: cpu, requested: "
            "5000, used: 0, capacity: 2000");
  auto mem = admitPod(podWith("", "2Gi"), {podWith("", "10Mi")}, l);
  ASSERT_TRUE(mem);
  EXPECT_EQ(mem->reason, "OutOfmemory");
  auto pods = admitPod(podWith("", ""), {podWith("", ""), podWith("", ""), podWith("", "")}, l);
  ASSERT_TRUE(pods);
  EXPECT_EQ(pods->reason, "OutOfpods");
  auto ports = admitPod(podWith("", "", 8080), {podWith("", "", 8080)}, l);
  ASSERT_TRUE(ports);
  EXPECT_EQ(ports->reason, "NodePorts");
}

TEST(StatusPatchTest, NullsRemovedOwnedFieldsAndKeepsOthers) {
  json from = {{"phase", "Pending"}, {"reason", "X"}, {"nominatedNodeName", "n"}};
  json to = {{"phase", "Running"}, {"podIP", "10.0.0.1"}};
  json p = statusMergePatch(from, to);
  EXPECT_EQ(p["phase"], "Running");
  EXPECT_EQ(p["podIP"], "10.0.0.1");
  EXPECT_TRUE(p["reason"].is_null());
  EXPECT_FALSE(p.contains("nominatedNodeName"));
  EXPECT_TRUE(statusMergePatch(to, to).empty());
}

TEST(PodWorkersTest, SerialisesPerUidAndCoalescesUpdates) {
  std::atomic<int> running{0}, max_running{0}, syncs{0};
  std::atomic<bool> release{false};
  PodWorkers w(
      [&](const std::string&) {
        int now = ++running;
        max_running = std::max(max_running.load(), now);
        while (!release) std::this_thread::yield();
        ++syncs;
        --running;
      },
      4);
  w.updatePod("a");
  while (running == 0) std::this_thread::yield();
  for (int i = 0; i < 10; ++i) w.updatePod("a");  // all coalesce into one follow-up
  release = true;
  w.waitIdleForTest();
  EXPECT_EQ(syncs, 2);
  EXPECT_EQ(max_running, 1);
}

TEST(RunnerScheduleTest, BoundsFrequencyAndRetries) {
  using namespace std::chrono_literals;
  RunnerSchedule s(1s, 10s, 2s);
  SteadyTime t0{};
  EXPECT_EQ(s.next(t0), t0);  // first run at once
  s.begin();
  s.ran(t0, true);
  EXPECT_EQ(s.next(t0), t0 + 10s);  // nobody asked: max interval
  s.request();
  EXPECT_EQ(s.next(t0 + 100ms), t0 + 1s);  // asked: not before min interval
  EXPECT_EQ(s.next(t0 + 5s), t0 + 5s);
  s.begin();
  s.ran(t0 + 5s, false);
  EXPECT_EQ(s.next(t0 + 5s), t0 + 7s);  // failed: retry interval
}

TEST(ConfigTest, ParsesFlagsLikeKubelet) {
  auto taints = parseTaints("dedicated=gpu:NoSchedule,spot:NoExecute");
  ASSERT_TRUE(taints);
  ASSERT_EQ(taints->size(), 2u);
  EXPECT_EQ((*taints)[0]["value"], "gpu");
  EXPECT_FALSE((*taints)[1].contains("value"));
  EXPECT_FALSE(parseTaints("a=b:Sometimes"));
  auto ev = parseEvictionThresholds("memory.available<200Mi,nodefs.available<5%");
  ASSERT_TRUE(ev);
  EXPECT_EQ((*ev)["nodefs.available"], "5%");
  EXPECT_FALSE(parseEvictionThresholds("memory.free<1Gi"));
  EXPECT_FALSE(validateNodeLabels({{"node-role.kubernetes.io/master", ""}}));
  EXPECT_TRUE(validateNodeLabels({{"node.kubernetes.io/pool", "a"}, {"team", "x"}}));
  AgentConfig cfg;
  ASSERT_TRUE(applyKubeletConfiguration({{"kind", "KubeletConfiguration"},
                                         {"maxPods", 50},
                                         {"kubeReserved", {{"cpu", "200m"}}},
                                         {"evictionHard", {{"memory.available", "300Mi"}}}},
                                        cfg));
  EXPECT_EQ(cfg.max_pods, 50);
  EXPECT_EQ(cfg.kube_reserved["cpu"], "200m");
  EXPECT_EQ(cfg.eviction_hard.size(), 1u);
  ASSERT_TRUE(
      applyKubeletConfiguration({{"evictionSoft", {{"memory.available", "1Gi"}}},
                                 {"evictionSoftGracePeriod", {{"memory.available", "1m30s"}}},
                                 {"evictionMinimumReclaim", {{"memory.available", "200Mi"}}},
                                 {"evictionMaxPodGracePeriod", 45}},
                                cfg));
  EXPECT_EQ(cfg.eviction_soft.at("memory.available"), "1Gi");
  EXPECT_EQ(cfg.eviction_soft_grace_period.at("memory.available"), "1m30s");
  EXPECT_EQ(cfg.eviction_minimum_reclaim.at("memory.available"), "200Mi");
  EXPECT_EQ(cfg.eviction_max_pod_grace_period, std::chrono::seconds(45));
  EXPECT_FALSE(applyKubeletConfiguration({{"evictionMaxPodGracePeriod", -1}}, cfg));
  EXPECT_FALSE(applyKubeletConfiguration({{"evictionSoft", {{"cpu.available", "1"}}}}, cfg));
  EXPECT_FALSE(applyKubeletConfiguration({{"kind", "Pod"}}, cfg));
  // The proxy's mode and NodePort addresses (kube-proxy's mode / nodePortAddresses).
  EXPECT_EQ(AgentConfig{}.proxy_mode, "auto");
  ASSERT_TRUE(applyKubeletConfiguration(
      {{"proxyMode", "nftables"}, {"nodePortAddresses", {"192.168.1.0/24"}}}, cfg));
  EXPECT_EQ(cfg.proxy_mode, "nftables");
  EXPECT_EQ(cfg.nodeport_addresses, std::vector<std::string>{"192.168.1.0/24"});
  EXPECT_FALSE(applyKubeletConfiguration({{"proxyMode", "userspace"}}, cfg));
}

}  // namespace
}  // namespace skiff::agent

// The whole pod lifecycle through the API: a bound pod is started and reported Running, a
// graceful delete stops it with its grace period, cleans up and deletes the object.
#include "skiff/agent/testing/fake_api_server.h"
#include "skiff/agent/testing/fake_runtime.h"
#include "skiff/agent/testing/null_mounter.h"
#include "skiff/agent/testing/null_object_source.h"
#include "skiff/agent/volumes.h"
#include "skiff/common/testing/temp_dir.h"

namespace skiff::agent {
namespace {

using NullObjects = testing::NullObjectSource;

// A kubelet over a fake API server and a fake runtime, its files under a root of its own.
struct KubeletRig {
  explicit KubeletRig(KubeletLimits limits = KubeletLimits{4000, int64_t(8) << 30, 110},
                      PodSyncConfig base = {})
      : cfg(withRoot(std::move(base), root)),
        syncer(cfg, runtime, nullptr, volumes, objects, crash, images, nullptr, clock),
        kubelet(client, syncer, runtime, limits) {
    runtime.addImage("busybox");
  }
  ~KubeletRig() { kubelet.stop(); }
  // Lists a restartPolicy: Never pod and syncs it; its uid once it runs, "" otherwise.
  std::string startRunOncePod(const std::string& name) {
    json pod = {{"metadata", {{"name", name}, {"namespace", "default"}}},
                {"spec",
                 {{"nodeName", "node-1"},
                  {"restartPolicy", "Never"},
                  {"containers", {{{"name", "c"}, {"image", "busybox"}}}}}}};
    kubelet.replace({api->put("pods", "default", pod)});
    kubelet.waitIdleForTest();
    auto running = api->object("pods", "default", name);
    if (!running || (*running)["status"]["phase"] != "Running") return "";
    return (*running)["metadata"]["uid"];
  }
  static PodSyncConfig withRoot(PodSyncConfig c, const std::string& root) {
    c.root_dir = root;
    return c;
  }

  std::shared_ptr<testing::FakeApiServer> api = std::make_shared<testing::FakeApiServer>();
  std::shared_ptr<KubeClient> client = std::make_shared<KubeClient>(api);
  testing::FakeRuntime runtime;
  NullObjects objects;
  testing::NullMounter mounter;
  skiff::testing::TempDir tmp{"kubelet-test"};
  std::string root = tmp.path() + "/root";  // not there yet
  VolumeManager volumes{root, objects, mounter};
  WallClock clock = [] { return std::chrono::system_clock::now(); };
  Backoff crash{std::chrono::seconds(10), std::chrono::seconds(300), clock};
  Backoff images{std::chrono::seconds(10), std::chrono::seconds(300), clock};
  PodSyncConfig cfg;
  PodSyncer syncer;
  Kubelet kubelet;
};

TEST(KubeletTest, PodLifecycleThroughTheApi) {
  PodSyncConfig base;
  base.node_name = "node-1";
  base.host_ip = "10.0.0.5";
  KubeletRig rig(KubeletLimits{4000, int64_t(8) << 30, 110}, base);
  auto& api = rig.api;
  auto& kubelet = rig.kubelet;
  auto& runtime = rig.runtime;

  json pod = {{"metadata", {{"name", "p"}, {"namespace", "default"}}},
              {"spec",
               {{"nodeName", "node-1"},
                {"terminationGracePeriodSeconds", 9},
                {"containers", {{{"name", "c"}, {"image", "busybox"}}}}}}};
  json created = api->put("pods", "default", pod);
  kubelet.replace({created});
  kubelet.waitIdleForTest();
  auto got = api->object("pods", "default", "p");
  ASSERT_TRUE(got);
  EXPECT_EQ((*got)["status"]["phase"], "Running");
  EXPECT_EQ((*got)["status"]["hostIP"], "10.0.0.5");
  EXPECT_EQ((*got)["status"]["containerStatuses"][0]["ready"], true);

  // kubectl delete: the API server sets deletionTimestamp; the agent stops with grace 9 and
  // deletes the object with grace 0.
  ASSERT_TRUE(rig.client->remove(apiPath("", "v1", "pods", "default", "p")));
  auto deleting = api->object("pods", "default", "p");
  ASSERT_TRUE(deleting);
  kubelet.apply(WatchEvent{"MODIFIED", *deleting});
  kubelet.waitIdleForTest();
  EXPECT_FALSE(api->object("pods", "default", "p"));
  auto stops = runtime.stops();
  ASSERT_FALSE(stops.empty());
  EXPECT_EQ(stops[0].substr(stops[0].find(':')), ":9");
  EXPECT_TRUE(runtime.listContainers()->empty());
}

// activeDeadlineSeconds raised on a running pod (the v1.20 conformance test "Pods should allow
// activeDeadlineSeconds to be updated"): not yet due, nothing happens; once due the pod is
// Failed with kubelet's DeadlineExceeded reason and message, its containers stopped with its
// own grace period, and no DisruptionTarget (that is the eviction manager's).
TEST(KubeletTest, ActiveDeadlineFailsTheRunningPod) {
  PodSyncConfig base;
  base.node_name = "node-1";
  KubeletRig rig(KubeletLimits{4000, int64_t(8) << 30, 110}, base);
  json pod = {{"metadata", {{"name", "p"}, {"namespace", "default"}}},
              {"spec",
               {{"nodeName", "node-1"},
                {"terminationGracePeriodSeconds", 7},
                {"containers", {{{"name", "c"}, {"image", "busybox"}}}}}}};
  rig.kubelet.replace({rig.api->put("pods", "default", pod)});
  rig.kubelet.waitIdleForTest();
  json running = *rig.api->object("pods", "default", "p");
  ASSERT_EQ(running["status"]["phase"], "Running");

  json later = running;
  later["spec"]["activeDeadlineSeconds"] = 3600;
  rig.kubelet.apply(WatchEvent{"MODIFIED", rig.api->put("pods", "default", later)});
  rig.kubelet.waitIdleForTest();
  EXPECT_EQ((*rig.api->object("pods", "default", "p"))["status"]["phase"], "Running");

  json due = *rig.api->object("pods", "default", "p");
  due["spec"]["activeDeadlineSeconds"] = 5;
  due["status"]["startTime"] =
      formatRfc3339(std::chrono::system_clock::now() - std::chrono::seconds(10));
  rig.kubelet.apply(WatchEvent{"MODIFIED", rig.api->put("pods", "default", due)});
  rig.kubelet.waitIdleForTest();
  json got = *rig.api->object("pods", "default", "p");
  EXPECT_EQ(got["status"]["phase"], "Failed");
  EXPECT_EQ(got["status"]["reason"], "DeadlineExceeded");
  EXPECT_EQ(got["status"]["message"],
            "Pod was active on the node longer than the specified deadline");
  for (const auto& c : got["status"]["conditions"]) EXPECT_NE(c["type"], "DisruptionTarget");
  auto stops = rig.runtime.stops();
  ASSERT_FALSE(stops.empty());
  EXPECT_EQ(stops.back().substr(stops.back().find(':')), ":7");
}

// A kubelet running one restartPolicy: Never pod, "once", whose uid is `uid`.
class KubeletRunOnceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    uid = rig.startRunOncePod("once");
    ASSERT_FALSE(uid.empty());
  }
  KubeletRig rig;
  std::string uid;
  std::shared_ptr<testing::FakeApiServer>& api = rig.api;
  Kubelet& kubelet = rig.kubelet;
  testing::FakeRuntime& runtime = rig.runtime;
};

TEST_F(KubeletRunOnceTest, StatusOnlyUpdatesAreRecordedWithoutASync) {
  // The container ends; only a sync would report it (the PLEG is not running here).
  runtime.exitContainer(uid, "c", 0, 1'700'000'001'000'000'000);
  json status_only = *api->object("pods", "default", "once");
  status_only["status"]["conditions"].push_back(
      {{"type", "DisruptionTarget"}, {"status", "False"}});
  kubelet.apply(WatchEvent{"MODIFIED", status_only});
  kubelet.waitIdleForTest();
  EXPECT_EQ((*api->object("pods", "default", "once"))["status"]["phase"], "Running");
  EXPECT_EQ(kubelet.podByUid(uid)->at("status").at("conditions").back().at("type"),
            "DisruptionTarget");

  json relabelled = status_only;
  relabelled["metadata"]["labels"]["tier"] = "web";
  kubelet.apply(WatchEvent{"MODIFIED", relabelled});
  kubelet.waitIdleForTest();
  EXPECT_EQ((*api->object("pods", "default", "once"))["status"]["phase"], "Succeeded");
}

TEST(KubeletTest, AdmissionCountsThePodsAlreadyAdmitted) {
  KubeletRig rig(KubeletLimits{1000, int64_t(1) << 30, 110});
  auto& api = rig.api;
  auto& kubelet = rig.kubelet;
  auto pod = [](const std::string& name, int host_port) {
    json p = podWith("600m", "", host_port);
    p["metadata"] = {{"name", name}, {"namespace", "default"}};
    p["spec"]["nodeName"] = "node-1";
    return p;
  };
  kubelet.replace({api->put("pods", "default", pod("first", 8080))});
  kubelet.waitIdleForTest();
  ASSERT_EQ((*api->object("pods", "default", "first"))["status"]["phase"], "Running");
  for (const auto& [name, port, reason] :
       {std::tuple{"cpu", 0, "OutOfcpu"}, std::tuple{"port", 8080, "NodePorts"}}) {
    json p = pod(name, port);
    if (port != 0) p["spec"]["containers"][0].erase("resources");
    kubelet.apply(WatchEvent{"ADDED", api->put("pods", "default", p)});
    kubelet.waitIdleForTest();
    auto got = api->object("pods", "default", name);
    ASSERT_TRUE(got);
    EXPECT_EQ((*got)["status"]["reason"], reason) << name;
  }
}

TEST_F(KubeletRunOnceTest, RelistWakesAPodOnlyForChangesAfterItsLastSync) {
  // A sync rewrites the pod's hosts file: its absence shows that no sync ran.
  std::string hosts = rig.volumes.podDir(uid) + "/etc-hosts";
  ASSERT_TRUE(std::filesystem::remove(hosts));
  kubelet.relist();  // the container the sync started is no news
  kubelet.waitIdleForTest();
  EXPECT_FALSE(std::filesystem::exists(hosts));
  runtime.exitContainer(uid, "c", 0, 1'700'000'001'000'000'000);
  kubelet.relist();  // its exit is
  kubelet.waitIdleForTest();
  EXPECT_EQ((*api->object("pods", "default", "once"))["status"]["phase"], "Succeeded");
}

TEST(PodsDifferSemanticallyTest, OnlyWhatASyncActsOnCounts) {
  json a = {{"metadata", {{"name", "p"}, {"resourceVersion", "1"}, {"labels", {{"app", "x"}}}}},
            {"spec", {{"containers", json::array()}}},
            {"status", {{"phase", "Pending"}}}};
  json b = a;
  b["metadata"]["resourceVersion"] = "2";
  b["status"]["phase"] = "Running";
  EXPECT_FALSE(podsDifferSemantically(a, b));
  for (auto change : std::vector<std::function<void(json&)>>{
           [](json& p) { p["metadata"]["labels"]["app"] = "y"; },
           [](json& p) { p["metadata"]["annotations"]["k"] = "v"; },
           [](json& p) { p["metadata"]["deletionTimestamp"] = "2026-12-04T00:00:00Z"; },
           [](json& p) { p["metadata"]["deletionGracePeriodSeconds"] = 0; },
           [](json& p) { p["spec"]["activeDeadlineSeconds"] = 5; }}) {
    json c = a;
    change(c);
    EXPECT_TRUE(podsDifferSemantically(a, c)) << c.dump();
  }
  json no_labels = a;
  no_labels["metadata"].erase("labels");
  json null_labels = no_labels;
  null_labels["metadata"]["labels"] = nullptr;
  EXPECT_FALSE(podsDifferSemantically(no_labels, null_labels));  // absent and null are the same
}

TEST(KubeletTest, AdmissionRejectionMarksPodFailed) {
  KubeletRig rig(KubeletLimits{1000, int64_t(1) << 30, 110});
  auto& api = rig.api;
  auto& kubelet = rig.kubelet;
  auto& runtime = rig.runtime;
  json pod = {
      {"metadata",
       {{"name", "big"},
        {"namespace", "default"},
        {"managedFields", {{{"manager", "kubectl"}, {"fieldsV1", {{"f:spec", json::object()}}}}}}}},
      {"spec",
       {{"nodeName", "node-1"},
        {"containers",
         {{{"name", "c"}, {"image", "busybox"}, {"resources", {{"requests", {{"cpu", "5"}}}}}}}}}}};
  kubelet.replace({api->put("pods", "default", pod)});
  kubelet.waitIdleForTest();
  auto got = api->object("pods", "default", "big");
  ASSERT_TRUE(got);
  EXPECT_EQ((*got)["status"]["phase"], "Failed");
  EXPECT_EQ((*got)["status"]["reason"], "OutOfcpu");
  EXPECT_EQ(runtime.startedCount(), 0);
  // The pods the agent keeps carry no managedFields, listed or watched.
  std::string uid = (*got)["metadata"]["uid"];
  ASSERT_TRUE((*got)["metadata"].contains("managedFields"));
  EXPECT_FALSE(kubelet.podByUid(uid)->at("metadata").contains("managedFields"));
  kubelet.apply(WatchEvent{"MODIFIED", *got});
  EXPECT_FALSE(kubelet.podByUid(uid)->at("metadata").contains("managedFields"));
  EXPECT_EQ(kubelet.podByUid(uid)->at("metadata").at("name"), "big");
}

}  // namespace
}  // namespace skiff::agent
