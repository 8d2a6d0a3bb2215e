#pragma once

// The pieces AgentProcess wires together that are not components of their own: the stand-in
// runtime, the watch handlers feeding the node status, pod network routes and the proxy, the
// kubelet API's view of the agent, and two start-up helpers. Internal to agent_process.cc.

#include "skiff/agent/agent.h"

#include <malloc.h>

#include <signal.h>
#include <systemd/sd-daemon.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "skiff/agent/dns/node_local_dns.h"
#include "skiff/agent/event_recorder.h"
#include "skiff/agent/eviction.h"
#include "skiff/agent/eviction_stats.h"
#include "skiff/agent/image_gc.h"
#include "skiff/agent/image_import_dir.h"
#include "skiff/agent/join.h"
#include "skiff/agent/kube_client.h"
#include "skiff/agent/kubeconfig.h"
#include "skiff/agent/kubelet.h"
#include "skiff/agent/kubelet_server.h"
#include "skiff/agent/node_facts.h"
#include "skiff/agent/node_status.h"
#include "skiff/agent/object_source.h"
#include "skiff/agent/pod_status.h"
#include "skiff/agent/pod_sync.h"
#include "skiff/agent/probe_manager.h"
#include "skiff/agent/resources.h"
#include "skiff/agent/runner.h"
#include "skiff/agent/static_pods.h"
#include "skiff/agent/stats_summary.h"
#include "skiff/agent/tls_util.h"
#include "skiff/agent/volumes.h"
#include "skiff/common/file.h"
#include "skiff/common/log.h"
#include "skiff/common/version.h"

namespace skiff::agent::parts {

using nlohmann::json;
using skiff::log::kv;

// A runtime stand-in while no runtime is available: lists nothing, refuses to run anything, so
// the node registers and reports NotReady with the reason instead of the agent exiting.
class UnavailableRuntime final : public ContainerRuntime {
 public:
  explicit UnavailableRuntime(std::string why) : why_(std::move(why)) {}
  std::string version() override { return "unavailable://0"; }
  Result<std::string> runPodSandbox(const SandboxConfig&) override { return err(); }
  Result<void> stopPodSandbox(const std::string&) override { return ok(); }
  Result<void> removePodSandbox(const std::string&) override { return ok(); }
  Result<std::vector<SandboxStatus>> listPodSandboxes() override {
    return std::vector<SandboxStatus>{};
  }
  Result<std::string> createContainer(const std::string&, const ContainerConfig&) override {
    return err();
  }
  Result<void> startContainer(const std::string&) override { return err(); }
  Result<void> stopContainer(const std::string&, std::chrono::seconds) override { return ok(); }
  Result<void> removeContainer(const std::string&) override { return ok(); }
  Result<ImageGcReport> garbageCollectImages(const ImageGcPolicy&) override { return err(); }
  Result<std::vector<ContainerInfo>> listContainers() override {
    return std::vector<ContainerInfo>{};
  }
  Result<ExecResult> execSync(const std::string&, const std::vector<std::string>&,
                              std::chrono::seconds) override {
    return err();
  }
  Result<std::unique_ptr<ExecSession>> exec(const std::string&, const std::vector<std::string>&,
                                            bool, bool) override {
    return err();
  }
  Result<ImageInfo> pullImage(const std::string&) override { return err(); }
  Result<std::optional<ImageInfo>> imageStatus(const std::string&) override {
    return std::optional<ImageInfo>();
  }
  Result<std::vector<ImageInfo>> listImages() override { return std::vector<ImageInfo>{}; }
  Result<std::vector<ContainerStats>> listContainerStats() override {
    return std::vector<ContainerStats>{};
  }

 private:
  Error err() const { return Error(ErrorCode::Unavailable, why_); }
  std::string why_;
};

// The lowest oom_score_adj our children may take: anything when we hold CAP_SYS_RESOURCE
// (probed by lowering our own score to -1000 and back), otherwise our own current score.
int64_t lowestOomScoreAdj();

struct Threads {
  std::vector<std::thread> list;
  ~Threads() {
    for (auto& t : list) {
      if (t.joinable()) t.join();
    }
  }
};

// Handles the nodes watch: our own Node feeds the status manager (podCIDR), the others feed
// the route table of the pod network (flannel host-gw).
class NodeWatch final : public ReflectorHandler {
 public:
  NodeWatch(std::string name, NodeStatusManager& status, std::function<void()> on_change,
            PodNetworkManager* network)
      : name_(std::move(name)),
        status_(status),
        on_change_(std::move(on_change)),
        network_(network) {}
  void replace(const std::vector<json>& items) override {
    {
      std::lock_guard lk(mu_);
      routes_.clear();
    }
    for (const auto& n : items) see(n, false);
    syncRoutes();
  }
  void apply(const WatchEvent& ev) override {
    if (ev.type == "DELETED") {
      std::lock_guard lk(mu_);
      routes_.erase(ev.object["metadata"].value("name", ""));
    } else {
      see(ev.object, false);
    }
    syncRoutes();
  }

 private:
  void see(const json& n, bool) {
    std::string name = n["metadata"].value("name", "");
    if (name == name_) {
      std::string before = status_.podCidr();
      status_.observeNode(n);
      if (status_.podCidr() != before) on_change_();
      return;
    }
    // Other nodes: their podCIDR is reached through their InternalIP (flannel host-gw).
    std::string cidr = n.value("spec", json::object()).value("podCIDR", "");
    std::string ip;
    for (const auto& a : n.value("status", json::object()).value("addresses", json::array())) {
      if (a.value("type", "") == "InternalIP") ip = a.value("address", "");
    }
    std::lock_guard lk(mu_);
    if (!cidr.empty() && !ip.empty()) {
      routes_[name] = {cidr, ip};
    } else {
      routes_.erase(name);
    }
  }
  void syncRoutes() {
    if (network_ == nullptr) return;
    std::map<std::string, std::pair<std::string, std::string>> copy;
    {
      std::lock_guard lk(mu_);
      copy = routes_;
    }
    auto r = network_->syncNodeRoutes(copy);
    if (!r) {
      auto lg = skiff::log::get("agent");
      SKIFF_LOG_WARN(lg, "Syncing node routes failed, will retry", kv("err", r.error().message()));
    }
  }
  std::string name_;
  NodeStatusManager& status_;
  std::function<void()> on_change_;
  PodNetworkManager* network_;
  std::mutex mu_;
  std::map<std::string, std::pair<std::string, std::string>> routes_;
};

// A keyed copy of a watched collection (Services, EndpointSlices) for the proxy; any change
// pokes the proxy runner, which coalesces bursts (BoundedFrequencyRunner). The Services copy
// also gives pods their service env vars, once it has listed.
class ObjectCache final : public ReflectorHandler {
 public:
  explicit ObjectCache(std::function<void()> changed) : changed_(std::move(changed)) {}
  void replace(const std::vector<json>& items) override {
    {
      std::lock_guard lk(mu_);
      objs_.clear();
      for (const auto& o : items) objs_[key(o)] = o;
      listed_ = true;
    }
    changed_();
  }
  void apply(const WatchEvent& ev) override {
    {
      std::lock_guard lk(mu_);
      if (ev.type == "DELETED") {
        objs_.erase(key(ev.object));
      } else {
        objs_[key(ev.object)] = ev.object;
      }
    }
    changed_();
  }
  std::vector<json> snapshot() {
    std::lock_guard lk(mu_);
    std::vector<json> out;
    out.reserve(objs_.size());
    for (const auto& [_, o] : objs_) out.push_back(o);
    return out;
  }
  // The objects of one namespace; nullopt until the first list arrived.
  std::optional<std::vector<json>> inNamespace(const std::string& ns) {
    std::lock_guard lk(mu_);
    if (!listed_) return std::nullopt;
    std::vector<json> out;
    std::string prefix = ns + "/";
    for (auto it = objs_.lower_bound(prefix); it != objs_.end() && it->first.starts_with(prefix);
         ++it) {
      out.push_back(it->second);
    }
    return out;
  }

 private:
  static std::string key(const json& o) {
    return o["metadata"].value("namespace", "") + "/" + o["metadata"].value("name", "");
  }
  std::function<void()> changed_;
  std::mutex mu_;
  std::map<std::string, json> objs_;
  bool listed_ = false;
};

// Hands a watched Services or EndpointSlices collection to the service proxy's change tracker
// (which converts each object once, as it arrives), then to `next`: the ObjectCache, whose
// callback pokes the proxy runner, so the tracker knows of a change before the sync it causes.
class ProxyFeed final : public ReflectorHandler {
 public:
  enum class Kind { Services, EndpointSlices };
  ProxyFeed(netproxy::ServiceTracker& tracker, Kind kind, ReflectorHandler& next)
      : tracker_(tracker), kind_(kind), next_(next) {}
  void replace(const std::vector<json>& items) override {
    if (kind_ == Kind::Services) {
      tracker_.replaceServices(items);
    } else {
      tracker_.replaceSlices(items);
    }
    next_.replace(items);
  }
  void apply(const WatchEvent& ev) override {
    bool gone = ev.type == "DELETED";
    if (kind_ == Kind::Services) {
      gone ? tracker_.removeService(ev.object) : tracker_.setService(ev.object);
    } else {
      gone ? tracker_.removeSlice(ev.object) : tracker_.setSlice(ev.object);
    }
    next_.apply(ev);
  }

 private:
  netproxy::ServiceTracker& tracker_;
  Kind kind_;
  ReflectorHandler& next_;
};

class ApiSource final : public KubeletApiSource {
 public:
  ApiSource(Kubelet& k, PodSyncer& s, ContainerRuntime& r, std::string node)
      : k_(k), s_(s), r_(r), node_(std::move(node)) {}
  std::optional<json> findPod(const std::string& ns, const std::string& name) override {
    return k_.findPod(ns, name);
  }
  std::vector<json> pods() override { return k_.pods(); }
  Result<PodRuntimeView> runtimeView(const std::string& uid) override {
    return s_.runtimeView(uid);
  }
  ContainerRuntime& runtime() override { return r_; }
  std::string nodeName() override { return node_; }
  std::string metrics() override {
    int running_pods = 0, running_containers = 0, exited = 0;
    auto sandboxes = r_.listPodSandboxes();
    if (sandboxes) {
      for (const auto& sb : *sandboxes) running_pods += sb.state == SandboxState::Ready;
    }
    auto containers = r_.listContainers();
    if (containers) {
      for (const auto& c : *containers) {
        running_containers += c.state == ContainerState::Running;
        exited += c.state == ContainerState::Exited;
      }
    }
    long rss_pages = 0;
    auto statm = readFile("/proc/self/statm", 256);
    if (statm) {
      long size = 0;
      std::sscanf(statm->c_str(), "%ld %ld", &size, &rss_pages);
    }
    std::string out;
    out += "# HELP kubelet_node_name The node's name. The count is always 1.\n";
    out += "# TYPE kubelet_node_name gauge\nkubelet_node_name{node=\"" + node_ + "\"} 1\n";
    out += "# HELP kubelet_running_pods Number of pods that have a running pod sandbox\n";
    out += "# TYPE kubelet_running_pods gauge\nkubelet_running_pods " +
           std::to_string(running_pods) + "\n";
    out += "# HELP kubelet_running_containers Number of containers currently running\n";
    out += "# TYPE kubelet_running_containers gauge\n";
    out += "kubelet_running_containers{container_state=\"running\"} " +
           std::to_string(running_containers) + "\n";
    out +=
        "kubelet_running_containers{container_state=\"exited\"} " + std::to_string(exited) + "\n";
    out += "# HELP process_resident_memory_bytes Resident memory size in bytes.\n";
    out += "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes " +
           std::to_string(rss_pages * ::sysconf(_SC_PAGESIZE)) + "\n";
    return out;
  }
  json statsSummary() override { return statsSummaryJson(collectStats(r_, node_)); }
  std::string resourceMetrics() override { return resourceMetricsText(collectStats(r_, node_)); }

 private:
  Kubelet& k_;
  PodSyncer& s_;
  ContainerRuntime& r_;
  std::string node_;
};

// The kubelet serving certificate: --tls-cert-file, else a self-signed one kept under
// <root-dir>/pki (kubelet does the same without serverTLSBootstrap).
Result<CertAndKey> servingCert(const AgentConfig& cfg, const std::string& node,
                               const std::string& ip);

}  // namespace skiff::agent::parts
