#include "skiff/agent/pod_sync.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "skiff/agent/termination_message.h"
#include "skiff/agent/testing/fake_runtime.h"
#include "skiff/agent/testing/null_mounter.h"
#include "skiff/common/testing/temp_dir.h"

namespace skiff::agent {
namespace {

using nlohmann::json;
using testing::FakeRuntime;

class FakeNetwork : public PodNetworkManager {
 public:
  Result<std::string> setup(const std::string& id, const std::string&, const std::string&,
                            const std::vector<PortMapping>&) override {
    if (!ips.count(id)) ips[id] = "10.244.1." + std::to_string(++seq + 1);
    return ips[id];
  }
  Result<void> teardown(const std::string& id, const std::string&, const std::string&) override {
    ips.erase(id);
    return ok();
  }
  std::string podIp(const std::string& id) override { return ips.count(id) ? ips[id] : ""; }
  void setPodCidr(const std::string&) override {}
  Result<void> syncNodeRoutes(
      const std::map<std::string, std::pair<std::string, std::string>>&) override {
    return ok();
  }
  int seq = 0;
  bool ready() const override { return true; }
  std::map<std::string, std::string> ips;
};

class FakeObjects : public ObjectSource {
 public:
  Result<json> configMap(const std::string& ns, const std::string& name) override {
    auto it = cms.find(ns + "/" + name);
    if (it == cms.end()) return Error(ErrorCode::NotFound, "configmaps \"" + name + "\" not found");
    return it->second;
  }
  Result<json> secret(const std::string& ns, const std::string& name) override {
    auto it = secrets.find(ns + "/" + name);
    if (it == secrets.end())
      return Error(ErrorCode::NotFound, "secrets \"" + name + "\" not found");
    return it->second;
  }
  Result<std::vector<json>> services(const std::string&) override { return svcs; }
  Result<std::string> serviceAccountToken(const std::string&, const std::string&,
                                          const std::string&, const std::string&,
                                          const std::string&, int64_t) override {
    return std::string("token-abc");
  }
  Result<std::string> rootCa(const std::string&) override { return std::string("CA"); }
  std::map<std::string, json> cms, secrets;
  std::vector<json> svcs;
};

constexpr int64_t kSec = 1'000'000'000;

class PodSyncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    runtime_.addImage("busybox");
    runtime_.setNowNs(now_ns_);
    syncer_ = makeSyncer();
  }

  std::unique_ptr<PodSyncer> makeSyncer() {
    PodSyncConfig cfg;
    cfg.node_name = "node-1";
    cfg.host_ip = "192.168.1.10";
    cfg.root_dir = root_.string();
    cfg.log_dir = (root_ / "logs").string();
    cfg.memory_capacity = int64_t(8) << 30;
    return std::make_unique<PodSyncer>(cfg, runtime_, &network_, volumes_, objects_, crash_,
                                       images_, nullptr, clock());
  }
  WallClock clock() {
    return
        [this] { return std::chrono::system_clock::time_point(std::chrono::nanoseconds(now_ns_)); };
  }
  void advance(int64_t seconds) {
    now_ns_ += seconds * kSec;
    runtime_.setNowNs(now_ns_);
  }
  json pod(const std::string& policy = "Always") {
    return {{"metadata", {{"name", "web"}, {"namespace", "default"}, {"uid", "u1"}}},
            {"spec",
             {{"nodeName", "node-1"},
              {"restartPolicy", policy},
              {"containers",
               {{{"name", "c"},
                 {"image", "busybox"},
                 {"imagePullPolicy", "IfNotPresent"},
                 {"command", {"sh", "-c", "echo $(GREETING) $$(HOME)"}},
                 {"env", {{{"name", "GREETING"}, {"value", "hi"}}}}}}}}},
            {"status", {{"phase", "Pending"}}}};
  }
  static json containerStatus(const json& status, const std::string& name = "c") {
    for (const auto& s : status["containerStatuses"]) {
      if (s["name"] == name) return s;
    }
    return nullptr;
  }
  static std::string condition(const json& status, const std::string& type) {
    for (const auto& c : status["conditions"]) {
      if (c["type"] == type) return c["status"];
    }
    return "";
  }

  // The node's root dir and the volumes' root, neither there yet.
  skiff::testing::TempDir tmp_{"podsync"};
  std::filesystem::path root_ = std::filesystem::path(tmp_.path()) / "root";
  int64_t now_ns_ = 1'700'000'000 * kSec;
  FakeRuntime runtime_;
  FakeNetwork network_;
  FakeObjects objects_;
  testing::NullMounter mounter_;
  std::string vol_root_ = tmp_.path() + "/volumes";
  VolumeManager volumes_{vol_root_, objects_, mounter_};
  Backoff crash_{std::chrono::seconds(10), std::chrono::seconds(300), clock()};
  Backoff images_{std::chrono::seconds(10), std::chrono::seconds(300), clock()};
  std::unique_ptr<PodSyncer> syncer_;
};

TEST_F(PodSyncTest, StartsSandboxAndContainerAndReportsRunningReady) {
  auto st = syncer_->syncPod(pod());
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_EQ((*st)["phase"], "Running");
  EXPECT_EQ((*st)["podIP"], "10.244.1.2");
  EXPECT_EQ((*st)["hostIP"], "192.168.1.10");
  EXPECT_EQ((*st)["qosClass"], "BestEffort");
  EXPECT_EQ(condition(*st, "Ready"), "True");
  EXPECT_EQ(condition(*st, "PodReadyToStartContainers"), "True");
  json cs = containerStatus(*st);
  EXPECT_TRUE(cs["state"].contains("running"));
  EXPECT_EQ(cs["restartCount"], 0);
  EXPECT_EQ(cs["ready"], true);
  // $(VAR) expanded, $$ escaped.
  auto cfgs = runtime_.configs();
  ASSERT_EQ(cfgs.size(), 1u);
  EXPECT_EQ(cfgs.begin()->second.command[2], "echo hi $(HOME)");
  // A second sync changes nothing (idempotent) and produces the same status.
  auto again = syncer_->syncPod(pod());
  ASSERT_TRUE(again);
  EXPECT_EQ(runtime_.startedCount(), 1);
  EXPECT_EQ(*again, *st);
}

TEST_F(PodSyncTest, CrashLoopBackOffDoublesFromTenSeconds) {
  ASSERT_TRUE(syncer_->syncPod(pod()));
  advance(1);
  runtime_.exitContainer("u1", "c", 1, now_ns_);
  // First failure restarts at once (kubelet: no backoff entry yet).
  auto st = syncer_->syncPod(pod());
  ASSERT_TRUE(st);
  EXPECT_EQ(containerStatus(*st)["restartCount"], 1);
  EXPECT_EQ(containerStatus(*st)["lastState"]["terminated"]["exitCode"], 1);
  advance(1);
  runtime_.exitContainer("u1", "c", 1, now_ns_);
  st = syncer_->syncPod(pod());
  ASSERT_TRUE(st);
  json cs = containerStatus(*st);
  EXPECT_EQ(cs["state"]["waiting"]["reason"], "CrashLoopBackOff");
  EXPECT_NE(cs["state"]["waiting"]["message"].get<std::string>().find("back-off 10s"),
            std::string::npos);
  EXPECT_EQ((*st)["phase"], "Running");
  advance(11);
  st = syncer_->syncPod(pod());
  EXPECT_EQ(containerStatus(*st)["restartCount"], 2);
  advance(1);
  runtime_.exitContainer("u1", "c", 1, now_ns_);
  st = syncer_->syncPod(pod());
  EXPECT_NE(
      containerStatus(*st)["state"]["waiting"]["message"].get<std::string>().find("back-off 20s"),
      std::string::npos);
  advance(15);
  st = syncer_->syncPod(pod());
  EXPECT_EQ(containerStatus(*st)["state"]["waiting"]["reason"], "CrashLoopBackOff");
}

TEST_F(PodSyncTest, RestartPolicyNeverEndsInSucceededOrFailed) {
  ASSERT_TRUE(syncer_->syncPod(pod("Never")));
  runtime_.exitContainer("u1", "c", 0, now_ns_);
  auto st = syncer_->syncPod(pod("Never"));
  ASSERT_TRUE(st);
  EXPECT_EQ((*st)["phase"], "Succeeded");
  EXPECT_EQ(containerStatus(*st)["state"]["terminated"]["reason"], "Completed");
  EXPECT_EQ(runtime_.startedCount(), 1);

  json p = pod("Never");
  p["metadata"]["uid"] = "u2";
  ASSERT_TRUE(syncer_->syncPod(p));
  runtime_.exitContainer("u2", "c", 3, now_ns_);
  st = syncer_->syncPod(p);
  EXPECT_EQ((*st)["phase"], "Failed");
  EXPECT_EQ(containerStatus(*st)["state"]["terminated"]["exitCode"], 3);
}

TEST_F(PodSyncTest, InitContainersRunInOrderBeforeAppContainers) {
  json p = pod();
  p["spec"]["initContainers"] = {{{"name", "i1"}, {"image", "busybox"}},
                                 {{"name", "i2"}, {"image", "busybox"}}};
  auto st = syncer_->syncPod(p);
  ASSERT_TRUE(st);
  EXPECT_EQ((*st)["phase"], "Pending");
  EXPECT_EQ(condition(*st, "Initialized"), "False");
  EXPECT_EQ(runtime_.startedCount(), 1);  // only i1
  runtime_.exitContainer("u1", "i1", 0, now_ns_);
  st = syncer_->syncPod(p);
  EXPECT_EQ(runtime_.startedCount(), 2);  // i2
  EXPECT_EQ(containerStatus(*st)["state"]["waiting"]["reason"], "PodInitializing");
  runtime_.exitContainer("u1", "i2", 0, now_ns_);
  st = syncer_->syncPod(p);
  EXPECT_EQ(runtime_.startedCount(), 3);
  EXPECT_EQ((*st)["phase"], "Running");
  EXPECT_EQ(condition(*st, "Initialized"), "True");
}

TEST_F(PodSyncTest, RestartedAgentReadoptsWithoutRestartingContainers) {
  ASSERT_TRUE(syncer_->syncPod(pod()));
  runtime_.exitContainer("u1", "c", 1, now_ns_);
  ASSERT_TRUE(syncer_->syncPod(pod()));  // restart 1
  int started = runtime_.startedCount();
  auto fresh = makeSyncer();  // a new agent process over the same runtime
  auto st = fresh->syncPod(pod());
  ASSERT_TRUE(st);
  EXPECT_EQ(runtime_.startedCount(), started);
  EXPECT_EQ(containerStatus(*st)["restartCount"], 1);
  EXPECT_EQ((*st)["phase"], "Running");
}

TEST_F(PodSyncTest, KillPodStopsContainersWithTheGracePeriod) {
  ASSERT_TRUE(syncer_->syncPod(pod()));
  ASSERT_TRUE(syncer_->killPod(pod(), std::chrono::seconds(7)));
  auto stops = runtime_.stops();
  ASSERT_EQ(stops.size(), 1u);
  EXPECT_EQ(stops[0].substr(stops[0].find(':')), ":7");
  ASSERT_TRUE(syncer_->cleanupPod("u1"));
  EXPECT_TRUE(runtime_.listContainers()->empty());
  EXPECT_TRUE(runtime_.listPodSandboxes()->empty());
  EXPECT_TRUE(network_.ips.empty());
}

TEST_F(PodSyncTest, MissingConfigMapKeyIsCreateContainerConfigError) {
  json p = pod();
  p["spec"]["containers"][0]["env"] = {
      {{"name", "X"}, {"valueFrom", {{"configMapKeyRef", {{"name", "cfg"}, {"key", "k"}}}}}}};
  auto st = syncer_->syncPod(p);
  ASSERT_TRUE(st);
  json cs = containerStatus(*st);
  EXPECT_EQ(cs["state"]["waiting"]["reason"], "CreateContainerConfigError");
  EXPECT_EQ(cs["state"]["waiting"]["message"], "configmap \"cfg\" not found");
  objects_.cms["default/cfg"] = {{"data", {{"k", "v"}}}};
  st = syncer_->syncPod(p);
  EXPECT_TRUE(containerStatus(*st)["state"].contains("running"));
  bool found = false;
  for (const auto& cfg : runtime_.configs()) {
    for (const auto& [k, v] : cfg.second.env) found |= (k == "X" && v == "v");
  }
  EXPECT_TRUE(found);
}

// runAsNonRoot with user 0, or with no numeric user to check, is refused as kubelet's
// verifyRunAsNonRoot refuses it, naming the pod and the container.
TEST_F(PodSyncTest, RunAsNonRootWithRootOrAnUnknownUserIsCreateContainerConfigError) {
  for (auto [security, why] :
       {std::pair{json{{"runAsNonRoot", true}, {"runAsUser", 0}},
                  "container's runAsUser breaks non-root policy"},
        std::pair{json{{"runAsNonRoot", true}},
                  "container has runAsNonRoot and image will run as root"}}) {
    json p = pod();
    p["spec"]["containers"][0]["securityContext"] = security;
    auto st = syncer_->syncPod(p);
    ASSERT_TRUE(st);
    json waiting = containerStatus(*st)["state"]["waiting"];
    EXPECT_EQ(waiting["reason"], "CreateContainerConfigError");
    EXPECT_EQ(waiting["message"], std::string(why) + " (pod: \"web_default(u1)\", container: c)");
  }
}

TEST_F(PodSyncTest, ImagePullFailureBacksOff) {
  json p = pod();
  p["spec"]["containers"][0]["image"] = "registry.io/app:1";
  runtime_.setPullFails(true);
  auto st = syncer_->syncPod(p);
  EXPECT_EQ(containerStatus(*st)["state"]["waiting"]["reason"], "ErrImagePull");
  st = syncer_->syncPod(p);
  EXPECT_EQ(containerStatus(*st)["state"]["waiting"]["reason"], "ImagePullBackOff");
  EXPECT_EQ((*st)["phase"], "Pending");
}

TEST_F(PodSyncTest, ConfigMapVolumeIsWrittenAtomically) {
  objects_.cms["default/cfg"] = {{"data", {{"a.txt", "one"}}}};
  json p = pod();
  p["spec"]["volumes"] = {{{"name", "v"}, {"configMap", {{"name", "cfg"}}}},
                          {{"name", "scratch"}, {"emptyDir", json::object()}}};
  p["spec"]["containers"][0]["volumeMounts"] = {{{"name", "v"}, {"mountPath", "/etc/cfg"}},
                                                {{"name", "scratch"}, {"mountPath", "/tmp/s"}}};
  ASSERT_TRUE(syncer_->syncPod(p));
  std::string dir = volumes_.podDir("u1") + "/volumes/kubernetes.io~configmap/v";
  auto read = [](const std::string& path) {
    std::ifstream f(path);
    return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  };
  EXPECT_EQ(read(dir + "/a.txt"), "one");
  EXPECT_TRUE(std::filesystem::is_symlink(dir + "/..data"));
  objects_.cms["default/cfg"] = {{"data", {{"a.txt", "two"}}}};
  ASSERT_TRUE(syncer_->syncPod(p));
  EXPECT_EQ(read(dir + "/a.txt"), "two");
  auto cfg = runtime_.configs().begin()->second;
  bool mounted = false;
  for (const auto& m : cfg.mounts)
    mounted |= (m.container_path == "/etc/cfg" && m.host_path == dir);
  EXPECT_TRUE(mounted);
  ASSERT_TRUE(syncer_->cleanupPod("u1"));
  EXPECT_FALSE(std::filesystem::exists(volumes_.podDir("u1")));
}

// A subPath that a symlink inside the volume leads out of is refused and nothing is mounted
// (CreateContainerConfigError); a plain subPath is created inside the volume.
TEST_F(PodSyncTest, SubPathThroughASymlinkOutOfTheVolumeIsRefused) {
  json p = pod();
  p["spec"]["volumes"] = {{{"name", "scratch"}, {"emptyDir", json::object()}}};
  p["spec"]["containers"][0]["volumeMounts"] = {
      {{"name", "scratch"}, {"mountPath", "/s"}, {"subPath", "out/etc"}}};
  std::string dir = volumes_.podDir("u1") + "/volumes/kubernetes.io~empty-dir/scratch";
  std::filesystem::create_directories(dir);
  std::filesystem::create_directory_symlink("/", dir + "/out");
  auto st = syncer_->syncPod(p);
  ASSERT_TRUE(st);
  json cs = containerStatus(*st);
  EXPECT_EQ(cs["state"]["waiting"]["reason"], "CreateContainerConfigError");
  EXPECT_NE(cs["state"]["waiting"]["message"].get<std::string>().find("leads outside the volume"),
            std::string::npos);
  EXPECT_TRUE(runtime_.configs().empty());
  std::filesystem::remove(dir + "/out");
  p["spec"]["containers"][0]["volumeMounts"][0]["subPath"] = "in/deeper";
  ASSERT_TRUE(syncer_->syncPod(p));
  EXPECT_TRUE(std::filesystem::is_directory(dir + "/in/deeper"));
}

// The kube-api-access volume ServiceAccount admission adds: token, ca.crt (an item of the
// kube-root-ca.crt ConfigMap, which has no binaryData) and namespace, behind ..data.
// The message file a started container got (kubelet's makeMounts), by container name.
std::string messageFile(FakeRuntime& rt, const std::string& name, uint32_t attempt = 0) {
  for (const auto& [id, cfg] : rt.configs()) {
    if (cfg.name != name || cfg.attempt != attempt) continue;
    auto it = cfg.annotations.find(kAnnotationTerminationMessageFile);
    return it == cfg.annotations.end() ? "" : it->second;
  }
  return "";
}

TEST_F(PodSyncTest, EtcHostsIsMountedForHostNetworkPodsUnlessTheContainerMountsItsOwn) {
  // KubeletManagedEtcHosts: a host-network pod sees the node's hosts under the "(host network)"
  // header, a pod-network one the managed file, and a container mounting /etc/hosts keeps that.
  auto hostsMount = [](const ContainerConfig& cc) {
    auto m = std::find_if(cc.mounts.begin(), cc.mounts.end(),
                          [](const VolumeMount& v) { return v.container_path == "/etc/hosts"; });
    return m == cc.mounts.end() ? std::string() : m->host_path;
  };
  json p = pod();
  p["spec"]["hostNetwork"] = true;
  ASSERT_TRUE(syncer_->syncPod(p));
  auto cfgs = runtime_.configs();
  ASSERT_EQ(cfgs.size(), 1u);
  std::string file = hostsMount(cfgs.begin()->second);
  ASSERT_FALSE(file.empty());
  std::ifstream in(file);
  std::string first;
  std::getline(in, first);
  EXPECT_EQ(first, "# Kubernetes-managed hosts file (host network).");

  json own = pod();
  own["metadata"]["uid"] = "u2";
  own["spec"]["volumes"] = {{{"name", "h"}, {"hostPath", {{"path", "/etc/hosts"}}}}};
  own["spec"]["containers"][0]["volumeMounts"] = {{{"name", "h"}, {"mountPath", "/etc/hosts"}}};
  ASSERT_TRUE(syncer_->syncPod(own));
  for (const auto& [id, cc] : runtime_.configs()) {
    if (id == cfgs.begin()->first) continue;
    EXPECT_EQ(hostsMount(cc), "/etc/hosts");
  }
}

class RecordingHookGetter : public HookHttpGetter {
 public:
  Result<int> get(const HttpHookTarget& t, const json&, std::chrono::seconds) override {
    urls.push_back(t.url());
    if (refuse) return Error(ErrorCode::Unavailable, "connection refused");
    return 200;
  }
  std::vector<std::string> urls;
  bool refuse = false;
};

TEST_F(PodSyncTest, HttpGetLifecycleHooksGoToThePodIpFromTheNode) {
  RecordingHookGetter getter;
  syncer_->setHookHttpGetter(&getter);
  json p = pod();
  json& c = p["spec"]["containers"][0];
  c["ports"] = {{{"name", "http"}, {"containerPort", 8080}}};
  c["lifecycle"] = {
      {"postStart", {{"httpGet", {{"path", "/echo?msg=poststart"}, {"port", "http"}}}}},
      {"preStop",
       {{"httpGet", {{"host", "10.244.9.9"}, {"path", "/echo?msg=prestop"}, {"port", 8080}}}}}};
  auto st = syncer_->syncPod(p);
  ASSERT_TRUE(st);
  ASSERT_EQ(getter.urls.size(), 1u);
  EXPECT_EQ(getter.urls[0], "http://10.244.1.2:8080/echo?msg=poststart");
  EXPECT_TRUE(containerStatus(*st)["state"].contains("running"));

  ASSERT_TRUE(syncer_->killPod(p, std::chrono::seconds(2)));
  ASSERT_EQ(getter.urls.size(), 2u);
  EXPECT_EQ(getter.urls[1], "http://10.244.9.9:8080/echo?msg=prestop");
}

TEST_F(PodSyncTest, FailedHttpGetPostStartHookKillsTheContainer) {
  RecordingHookGetter getter;
  getter.refuse = true;
  syncer_->setHookHttpGetter(&getter);
  json p = pod();
  p["spec"]["containers"][0]["lifecycle"] = {
      {"postStart", {{"httpGet", {{"path", "/hook"}, {"port", 80}}}}}};
  ASSERT_TRUE(syncer_->syncPod(p));
  auto view = syncer_->runtimeView("u1");
  ASSERT_TRUE(view);
  ASSERT_NE(view->latest("c"), nullptr);
  EXPECT_EQ(view->latest("c")->state, ContainerState::Exited);
}

TEST_F(PodSyncTest, EveryContainerInstanceGetsAWritableTerminationMessageFile) {
  json p = pod("OnFailure");
  p["spec"]["containers"][0]["terminationMessagePath"] = "/dev/termination-custom-log";
  p["spec"]["containers"][0]["terminationMessagePolicy"] = "File";
  ASSERT_TRUE(syncer_->syncPod(p));
  auto cfgs = runtime_.configs();
  ASSERT_EQ(cfgs.size(), 1u);
  const ContainerConfig& cc = cfgs.begin()->second;
  std::string file = messageFile(runtime_, "c");
  ASSERT_FALSE(file.empty());
  EXPECT_EQ(std::filesystem::path(file).parent_path(),
            std::filesystem::path(vol_root_) / "pods" / "u1" / "containers" / "c");
  auto mount = std::find_if(cc.mounts.begin(), cc.mounts.end(), [](const VolumeMount& m) {
    return m.container_path == "/dev/termination-custom-log";
  });
  ASSERT_NE(mount, cc.mounts.end());
  EXPECT_EQ(mount->host_path, file);
  EXPECT_FALSE(mount->readonly);
  EXPECT_EQ(cc.annotations.at(kAnnotationTerminationMessagePath), "/dev/termination-custom-log");
  EXPECT_EQ(cc.annotations.at(kAnnotationTerminationMessagePolicy), "File");
  EXPECT_EQ(std::filesystem::status(file).permissions() & std::filesystem::perms::all,
            std::filesystem::perms(0666));

  // The container writes its message and fails: the message is in state.terminated, and after
  // the restart in lastState.terminated; the new instance has a new, empty file.
  std::ofstream(file) << "DONE";
  runtime_.exitContainer("u1", "c", 2, now_ns_);
  auto st = syncer_->currentStatus(p);
  ASSERT_TRUE(st);
  EXPECT_EQ(containerStatus(*st)["state"]["terminated"]["message"], "DONE");
  st = syncer_->syncPod(p);
  ASSERT_TRUE(st);
  EXPECT_EQ(containerStatus(*st)["restartCount"], 1);
  EXPECT_EQ(containerStatus(*st)["lastState"]["terminated"]["message"], "DONE");
  std::string second = messageFile(runtime_, "c", 1);
  ASSERT_FALSE(second.empty());
  EXPECT_NE(second, file);
  EXPECT_EQ(std::filesystem::file_size(second), 0u);
  // The files go with the pod.
  ASSERT_TRUE(syncer_->cleanupPod("u1"));
  EXPECT_FALSE(std::filesystem::exists(file));
}

TEST_F(PodSyncTest, FallbackToLogsOnErrorUsesTheLogOfAFailedContainerOnly) {
  json p = pod("Never");
  p["spec"]["containers"][0]["terminationMessagePolicy"] = "FallbackToLogsOnError";
  ASSERT_TRUE(syncer_->syncPod(p));
  auto list = runtime_.listContainers();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  std::string log = list->front().log_path;
  std::filesystem::create_directories(std::filesystem::path(log).parent_path());
  std::ofstream(log) << "2024-01-02T03:04:05.000000001Z stdout P DONE\n";
  runtime_.exitContainer("u1", "c", 1, now_ns_);
  auto st = syncer_->syncPod(p);
  ASSERT_TRUE(st);
  EXPECT_EQ((*st)["phase"], "Failed");
  EXPECT_EQ(containerStatus(*st)["state"]["terminated"]["message"], "DONE");
  // Read once: the status no longer depends on the log.
  std::filesystem::remove(log);
  st = syncer_->currentStatus(p);
  EXPECT_EQ(containerStatus(*st)["state"]["terminated"]["message"], "DONE");

  // Succeeded with an empty file: no message at all.
  p["metadata"]["uid"] = "u2";
  ASSERT_TRUE(syncer_->syncPod(p));
  runtime_.exitContainer("u2", "c", 0, now_ns_);
  st = syncer_->syncPod(p);
  EXPECT_EQ((*st)["phase"], "Succeeded");
  EXPECT_FALSE(containerStatus(*st)["state"]["terminated"].contains("message"));
}

TEST_F(PodSyncTest, TerminationMessagesShareThePodsBudget) {
  json p = pod("Never");
  p["spec"]["containers"].push_back(
      {{"name", "d"}, {"image", "busybox"}, {"imagePullPolicy", "IfNotPresent"}});
  p["spec"]["containers"].push_back(
      {{"name", "e"}, {"image", "busybox"}, {"imagePullPolicy", "IfNotPresent"}});
  p["spec"]["containers"].push_back(
      {{"name", "f"}, {"image", "busybox"}, {"imagePullPolicy", "IfNotPresent"}});
  ASSERT_TRUE(syncer_->syncPod(p));
  std::ofstream(messageFile(runtime_, "c")) << std::string(4000, 'm');
  runtime_.exitContainer("u1", "c", 0, now_ns_);
  auto st = syncer_->currentStatus(p);
  ASSERT_TRUE(st);
  // 12 KiB for the pod, four containers: 3072 bytes each.
  EXPECT_EQ(containerStatus(*st)["state"]["terminated"]["message"].get<std::string>().size(),
            3072u);
}

TEST_F(PodSyncTest, ProjectedServiceAccountVolumeHasTokenCaAndNamespace) {
  objects_.cms["default/kube-root-ca.crt"] = {{"data", {{"ca.crt", "PEM"}}}};
  objects_.cms["default/bin"] = {{"binaryData", {{"b", "AAE="}}}};
  json p = pod();
  json sources = json::parse(R"([
      {"serviceAccountToken":{"expirationSeconds":3607,"path":"token"}},
      {"configMap":{"name":"kube-root-ca.crt","items":[{"key":"ca.crt","path":"ca.crt"}]}},
      {"configMap":{"name":"bin","items":[{"key":"b","path":"bin"}]}},
      {"downwardAPI":{"items":[{"path":"namespace",
          "fieldRef":{"apiVersion":"v1","fieldPath":"metadata.namespace"}}]}}])");
  p["spec"]["volumes"] = {
      {{"name", "kube-api-access-abcde"}, {"projected", {{"sources", sources}}}}};
  ASSERT_TRUE(syncer_->syncPod(p));
  std::string dir =
      volumes_.podDir("u1") + "/volumes/kubernetes.io~projected/kube-api-access-abcde";
  auto read = [](const std::string& path) {
    std::ifstream f(path);
    return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  };
  EXPECT_EQ(read(dir + "/token"), "token-abc");
  EXPECT_EQ(read(dir + "/ca.crt"), "PEM");
  EXPECT_EQ(read(dir + "/namespace"), "default");
  EXPECT_EQ(read(dir + "/bin"), std::string("\x00\x01", 2));
  EXPECT_EQ(std::filesystem::read_symlink(dir + "/token").string(), "..data/token");
  ASSERT_TRUE(syncer_->cleanupPod("u1"));
}

// imagePullPolicy as the kubelet's image manager applies it (pkg/kubelet/images/image_manager.go
// shouldPullImage, EnsureImageExists).
class PullPolicyTest : public PodSyncTest {
 protected:
  json podWith(const std::string& image, const std::string& policy) {
    json p = pod("Never");
    auto& c = p["spec"]["containers"][0];
    c["image"] = image;
    if (policy.empty())
      c.erase("imagePullPolicy");
    else
      c["imagePullPolicy"] = policy;
    return p;
  }
  std::string waitingReason(const json& p) {
    auto st = syncer_->syncPod(p);
    EXPECT_TRUE(st);
    return st ? containerStatus(*st)["state"]["waiting"].value("reason", "") : "";
  }
};

TEST_F(PullPolicyTest, NeverWithAMissingImageIsErrImageNeverPullWithTheKubeletsMessage) {
  json p = podWith("example.com/missing:1", "Never");
  auto st = syncer_->syncPod(p);
  ASSERT_TRUE(st);
  json waiting = containerStatus(*st)["state"]["waiting"];
  EXPECT_EQ(waiting["reason"], "ErrImageNeverPull");
  EXPECT_EQ(waiting["message"],
            "Container image \"example.com/missing:1\" is not present with pull policy of Never");
  EXPECT_EQ((*st)["phase"], "Pending");
  EXPECT_TRUE(runtime_.pulls().empty()) << "Never must not touch the registry";
  EXPECT_EQ(runtime_.startedCount(), 0);
  // It stays so (no back-off reason takes over) until the image appears.
  EXPECT_EQ(waitingReason(p), "ErrImageNeverPull");
  runtime_.addImage("example.com/missing:1");
  auto again = syncer_->syncPod(p);
  ASSERT_TRUE(again);
  EXPECT_TRUE(containerStatus(*again)["state"].contains("running"));
  EXPECT_TRUE(runtime_.pulls().empty());
}

TEST_F(PullPolicyTest, IfNotPresentAndNeverUseALocalImageWithoutPulling) {
  runtime_.addImage("example.com/app:1");
  for (const char* policy : {"IfNotPresent", "Never"}) {
    json p = podWith("example.com/app:1", policy);
    p["metadata"]["uid"] = std::string("u-") + policy;
    auto st = syncer_->syncPod(p);
    ASSERT_TRUE(st);
    EXPECT_TRUE(containerStatus(*st)["state"].contains("running")) << policy;
  }
  EXPECT_TRUE(runtime_.pulls().empty());
}

TEST_F(PullPolicyTest, IfNotPresentPullsAMissingImageAndAlwaysPullsEvenWhenPresent) {
  json p = podWith("example.com/app:2", "IfNotPresent");
  ASSERT_TRUE(syncer_->syncPod(p));
  EXPECT_EQ(runtime_.pulls(), std::vector<std::string>{"example.com/app:2"});
  runtime_.addImage("example.com/app:3");
  json a = podWith("example.com/app:3", "Always");
  a["metadata"]["uid"] = "u-always";
  ASSERT_TRUE(syncer_->syncPod(a));
  EXPECT_EQ(runtime_.pulls().size(), 2u);
  EXPECT_EQ(runtime_.pulls().back(), "example.com/app:3");
}

TEST_F(PullPolicyTest, WithoutAPolicyLatestOrNoTagIsAlwaysAndATagIsIfNotPresent) {
  // The API server defaults it; a static pod (no API server defaulting) needs the same rule.
  struct Case {
    const char* image;
    bool pulls;
  } cases[] = {{"example.com/app", true},
               {"example.com/app:latest", true},
               {"localhost:5000/app", true},
               {"example.com/app:1.2", false},
               {"localhost:5000/app:v1", false}};
  int n = 0;
  for (const auto& c : cases) {
    runtime_.addImage(c.image);
    json p = podWith(c.image, "");
    p["metadata"]["uid"] = "u-" + std::to_string(++n);
    auto before = runtime_.pulls().size();
    ASSERT_TRUE(syncer_->syncPod(p));
    EXPECT_EQ(runtime_.pulls().size() > before, c.pulls) << c.image;
  }
  std::string by_digest = "example.com/app@sha256:" + std::string(64, 'a');
  runtime_.addImage(by_digest);
  json p = podWith(by_digest, "");
  p["metadata"]["uid"] = "u-digest";
  auto before = runtime_.pulls().size();
  ASSERT_TRUE(syncer_->syncPod(p));
  EXPECT_EQ(runtime_.pulls().size(), before) << "a digest reference defaults to IfNotPresent";
}

}  // namespace
}  // namespace skiff::agent
