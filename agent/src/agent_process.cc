#include "agent_process.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <thread>

#include "skiff/agent/local_storage.h"
#include "skiff/common/split_list.h"

namespace skiff::agent {

using nlohmann::json;
using skiff::log::kv;
using namespace parts;

AgentProcess::AgentProcess(const AgentConfig& cfg, const std::atomic<bool>& stop)
    : cfg_(cfg),
      stop_(stop),
      lg_(skiff::log::get("agent")),
      lease_guard_(boost::asio::make_work_guard(lease_io_)),
      status_guard_(boost::asio::make_work_guard(status_io_)),
      dns_guard_(boost::asio::make_work_guard(dns_io_)),
      proxy_guard_(boost::asio::make_work_guard(proxy_io_)) {}

int AgentProcess::run() {
  if (auto r = identifyNode(); !r) return fail(r.error());
  if (auto r = loadCredentials(); !r) return fail(r.error());
  openRuntime();
  openPodNetwork();
  if (!registerNode()) return 0;
  buildPodPipeline();
  wireEvents();
  if (auto r = startEviction(); !r) return fail(r.error());
  startNodeStatus();
  startPodWatch();
  startClusterDns();
  startNodeWatch();
  startServiceProxy();
  startHousekeeping();
  // From here on a failure stops every loop first (a kubelet port already taken must end the
  // agent with its error, not hang on threads that never stop).
  if (auto r = startServer(); !r) {
    stopAll();
    return fail(r.error());
  }
  serveUntilStopped();
  SKIFF_LOG_INFO(lg_, "Agent stopping; pods keep running", kv("node", node_name_));
  (void)sd_notify(0, "STOPPING=1");
  server_->stop();
  stopAll();
  return 0;
}

int AgentProcess::fail(const Error& e) {
  SKIFF_LOG_ERROR(lg_, "Agent failed", kv("err", e.message()));
  return 1;
}

Result<void> AgentProcess::identifyNode() {
  std::error_code ec;
  std::filesystem::create_directories(cfg_.root_dir, ec);
  if (ec)
    return Error(ErrorCode::Internal, "create root dir '" + cfg_.root_dir + "': " + ec.message());

  auto made_facts = makeNodeFacts(cfg_);
  if (!made_facts) return made_facts.error();
  facts_ = std::move(*made_facts);
  auto snapshot = facts_->collect();
  if (!snapshot) return snapshot.error();
  snapshot_ = std::move(*snapshot);
  node_name_ = cfg_.hostname_override.empty() ? snapshot_->hostname : cfg_.hostname_override;
  for (auto& c : node_name_) c = static_cast<char>(std::tolower(c));
  return {};
}

// Credentials: an existing kubeconfig wins; otherwise join with the bootstrap token.
Result<void> AgentProcess::loadCredentials() {
  std::string kc_path = cfg_.kubeconfigPath();
  if (std::filesystem::exists(kc_path)) {
    auto loaded = loadKubeconfig(kc_path);
    if (!loaded) return loaded.error();
    kc_ = *loaded;
    auto listed = splitList(cfg_.server);
    if (!listed.empty() && std::find(listed.begin(), listed.end(), kc_.server) == listed.end()) {
      SKIFF_LOG_WARN(lg_, "Kubeconfig server is not one of --server, using the kubeconfig first",
                     kv("kubeconfig", kc_.server), kv("server", cfg_.server));
    }
  } else if (!cfg_.token.empty()) {
    auto joined = joinCluster(cfg_, node_name_);
    if (!joined) return joined.error();
    kc_ = *joined;
  } else {
    return Error(ErrorCode::Invalid, "no kubeconfig at '" + kc_path +
                                         "': join with --server, --token and "
                                         "--ca-cert-hash, or pass --kubeconfig");
  }
  // HA masters: every --server entry besides the kubeconfig's is a fallback.
  auto transport = transportFromKubeconfig(kc_, splitList(cfg_.server));
  if (!transport) return transport.error();
  client_ = std::make_shared<KubeClient>(*transport);
  return {};
}

// Runtime (adapter to the runtime library); a stand-in that reports why when it is unavailable.
void AgentProcess::openRuntime() {
  if (auto r = makeContainerRuntime(cfg_); r) {
    runtime_ = *r;
  } else {
    runtime_problem_ = r.error().message();
    SKIFF_LOG_ERROR(lg_, "Container runtime unavailable, node will be NotReady",
                    kv("err", runtime_problem_));
    runtime_ = std::make_shared<UnavailableRuntime>(runtime_problem_);
  }
  for (const auto& archive : cfg_.preload_images) {
    if (!runtime_problem_.empty() || !std::filesystem::exists(archive)) continue;
    auto n = importImageArchive(*runtime_, archive);
    if (n) {
      SKIFF_LOG_INFO(lg_, "Imported bundled images", kv("archive", archive),
                     kv("images", n->size()));
    } else {
      SKIFF_LOG_WARN(lg_, "Importing bundled images failed, ignoring", kv("archive", archive),
                     kv("err", n.error().message()));
    }
  }
  // The air-gap directory: archives there (now and later) go into the same store.
  if (runtime_problem_.empty()) {
    import_dir_ = std::make_unique<ImageImportDir>(
        cfg_.image_import_dir.empty() ? cfg_.root_dir + "/images" : cfg_.image_import_dir,
        [this](const std::string& path) { return importImageArchive(*runtime_, path); });
    if (auto r = import_dir_->start(); !r) {
      SKIFF_LOG_ERROR(lg_, "Image import directory not watched", kv("err", r.error().message()));
    } else {
      SKIFF_LOG_INFO(lg_, "Watching the image import directory", kv("dir", import_dir_->dir()));
    }
  }
}

// Pod network (adapter to the netproxy library).
void AgentProcess::openPodNetwork() {
  if (auto n = makePodNetwork(cfg_, node_name_); n) {
    network_ = *n;
  } else {
    SKIFF_LOG_ERROR(lg_, "Pod network unavailable", kv("err", n.error().message()));
  }
}

// Node registration, lease and status. Retries until registered or stopped.
bool AgentProcess::registerNode() {
  NodeRegistration reg;
  reg.name = node_name_;
  reg.node_ip = cfg_.node_ip;
  reg.labels = cfg_.node_labels;
  reg.annotations[kStorageRootAnnotation] = cfg_.storage_root;
  reg.taints = cfg_.register_with_taints;
  reg.kubelet_port = cfg_.port;
  reg.lease_duration_seconds = cfg_.node_lease_duration_seconds;
  reg.kubelet_version = skiff::kKubeVersion;
  reg.runtime_version = runtime_->version();
  reg.report_frequency = cfg_.node_status_report_frequency;
  wall_ = [] { return std::chrono::system_clock::now(); };
  status_ = std::make_unique<NodeStatusManager>(
      client_, reg, *facts_, [this] { return nodeHealth(); }, wall_);
  for (int attempt = 0; !stop_; ++attempt) {
    auto r = status_->registerNode();
    if (r) break;
    SKIFF_LOG_WARN(lg_, "Unable to register node with API server, will retry",
                   kv("node", node_name_), kv("err", r.error().message()));
    std::this_thread::sleep_for(std::chrono::seconds(std::min(attempt + 1, 7)));
  }
  if (stop_) return false;

  if (network_ && !status_->podCidr().empty()) network_->setPodCidr(status_->podCidr());
  return true;
}

NodeHealth AgentProcess::nodeHealth() {
  NodeHealth h;
  h.runtime_ready = runtime_problem_.empty();
  h.runtime_message = runtime_problem_;
  h.network_ready = status_ && !status_->podCidr().empty() && (!network_ || network_->ready());
  if (eviction_) {
    NodePressure p = eviction_->pressure();
    h.memory_pressure = p.memory;
    h.disk_pressure = p.disk;
    h.pid_pressure = p.pid;
  }
  auto images = runtime_->listImages();
  if (images) {
    for (const auto& i : *images) {
      json names = json::array();
      for (const auto& d : i.repo_digests) names.push_back(d);
      for (const auto& t : i.repo_tags) names.push_back(t);
      h.images.push_back({{"names", names}, {"sizeBytes", i.size}});
    }
  }
  return h;
}

// Pods: everything that syncs them.
void AgentProcess::buildPodPipeline() {
  KubeletLimits limits;
  limits.allocatable_milli_cpu =
      quantityMilli(snapshot_->allocatable.value("cpu", json("0"))).value_or(0);
  limits.allocatable_memory =
      quantityValue(snapshot_->allocatable.value("memory", json("0"))).value_or(0);
  limits.max_pods = cfg_.max_pods;
  buildServiceCaches();
  objects_ = makeApiObjectSource(
      client_, [this](const std::string& ns) { return services_cache_->inNamespace(ns); });
  mounter_ = makeRealMounter();
  volumes_ = std::make_unique<VolumeManager>(cfg_.root_dir, *objects_, *mounter_);
  volumes_->setStorageRoot(cfg_.storage_root);
  crash_.emplace(cfg_.crash_loop_initial, cfg_.crash_loop_max, wall_);
  image_backoff_.emplace(std::chrono::seconds(10), std::chrono::seconds(300), wall_);
  PodSyncConfig psc = podSyncConfig(limits);
  probe_runner_ = makeProbeRunner(*runtime_);
  probes_ = std::make_unique<ProbeManager>(*probe_runner_, [this](const std::string& uid) {
    if (kubelet_ != nullptr) kubelet_->updateUid(uid);
  });
  syncer_ = std::make_unique<PodSyncer>(psc, *runtime_, network_.get(), *volumes_, *objects_,
                                        *crash_, *image_backoff_, probes_.get(), wall_);
  kubelet_ = std::make_unique<Kubelet>(client_, *syncer_, *runtime_, limits);
}

// The Services and EndpointSlices caches (and the proxy's feeds into them). Made before anything
// that syncs pods: the object source reads Services from the Services cache.
void AgentProcess::buildServiceCaches() {
  auto poke = [this] {
    if (proxy_runner_) proxy_runner_->run();
    if (dns_runner_) dns_runner_->run();
  };
  services_cache_ = std::make_unique<ObjectCache>(poke);
  slices_cache_ = std::make_unique<ObjectCache>(poke);
  services_feed_ =
      std::make_unique<ProxyFeed>(proxy_changes_, ProxyFeed::Kind::Services, *services_cache_);
  slices_feed_ =
      std::make_unique<ProxyFeed>(proxy_changes_, ProxyFeed::Kind::EndpointSlices, *slices_cache_);
}

PodSyncConfig AgentProcess::podSyncConfig(const KubeletLimits& limits) {
  PodSyncConfig psc;
  psc.node_name = node_name_;
  psc.host_ip = status_->nodeIp();
  psc.root_dir = cfg_.root_dir;
  psc.log_dir = cfg_.pod_log_dir;
  psc.cluster_dns = cfg_.cluster_dns;
  psc.cluster_domain = cfg_.cluster_domain;
  psc.resolv_conf = cfg_.resolv_conf;
  psc.memory_capacity = quantityValue(snapshot_->capacity.value("memory", json("0"))).value_or(0);
  psc.min_oom_score_adj = lowestOomScoreAdj();
  psc.allocatable_milli_cpu = limits.allocatable_milli_cpu;
  psc.allocatable_memory = limits.allocatable_memory;
  return psc;
}

// Kubelet events (posted from their own thread).
void AgentProcess::wireEvents() {
  recorder_ = std::make_unique<EventRecorder>(client_, node_name_, wall_);
  volumes_->setClaimEvents(
      [this](const json& pvc, const std::string& reason, const std::string& msg) {
        recorder_->claimEvent(pvc, "Warning", reason, msg);
      });
  syncer_->setEventRecorder(recorder_.get());
  kubelet_->setEventRecorder(recorder_.get());
  probes_->setFailureHook([this](const std::string& uid, const std::string& container,
                                 ProbeType type, const std::string& output) {
    auto pod = kubelet_->podByUid(uid);
    if (!pod) return;
    recorder_->podEvent(*pod, EventRecorder::containerFieldPath(*pod, container), "Warning",
                        events::kUnhealthy,
                        std::string(probeTypeName(type)) + " probe failed: " + output);
  });
  recorder_->nodeEvent("Normal", "Starting", "Starting kubelet.");
}

// Eviction manager over this machine's stats; it also gates admission. Image GC: periodic, and
// the eviction manager's node-level reclaim under disk pressure.
Result<void> AgentProcess::startEviction() {
  auto thresholds =
      parseEvictionSettings({cfg_.eviction_hard, cfg_.eviction_soft,
                             cfg_.eviction_soft_grace_period, cfg_.eviction_minimum_reclaim});
  if (!thresholds) return thresholds.error();
  eviction_stats_ = makeNodeEvictionStats({cfg_.root_dir, cfg_.runtime_root}, *runtime_);
  eviction_ = std::make_unique<EvictionManager>(
      *thresholds, *eviction_stats_, [this] { return kubelet_->activePods(); },
      [this](const json& pod, const std::string& message, std::chrono::seconds grace) {
        return kubelet_->evictPod(pod, message, grace);
      },
      wall_, cfg_.eviction_pressure_transition_period, cfg_.eviction_max_pod_grace_period);
  image_gc_ = std::make_unique<ImageGcManager>(
      *runtime_, cfg_.image_gc,
      [this](const std::string& type, const std::string& reason, const std::string& msg) {
        recorder_->nodeEvent(type, reason, msg);
      });
  eviction_->setNodeReclaim([this](const std::string&) {
    auto freed = image_gc_->deleteUnusedImages();
    if (!freed)
      SKIFF_LOG_WARN(
          lg_, "Eviction manager: unexpected error when attempting to reduce resource pressure",
          kv("err", freed.error().message()));
    return freed && *freed > 0;
  });
  eviction_->synchronize();  // conditions right from the first status report
  kubelet_->setAdmitHook([this](const json& pod) { return eviction_->admit(pod); });
  return {};
}

namespace {
// A runner's pass over `step`: a failure is logged with `failed` and makes the runner retry.
template <typename Step>
std::function<bool()> loggedRetry(std::shared_ptr<spdlog::logger> lg, const char* failed,
                                  Step step) {
  return [lg = std::move(lg), failed, step] {
    auto r = step();
    if (!r) SKIFF_LOG_WARN(lg, failed, kv("err", r.error().message()));
    return bool(r);
  };
}
}  // namespace

void AgentProcess::startNodeStatus() {
  lease_runner_ = std::make_unique<BoundedFrequencyRunner>(
      lease_io_, "node-lease",
      loggedRetry(lg_, "Failed to renew node lease, will retry",
                  [this] { return status_->renewLease(); }),
      std::chrono::seconds(cfg_.node_lease_duration_seconds) / 4,
      std::chrono::seconds(cfg_.node_lease_duration_seconds) / 4, std::chrono::milliseconds(1000));
  status_runner_ = std::make_unique<BoundedFrequencyRunner>(
      status_io_, "node-status",
      loggedRetry(lg_, "Error updating node status, will retry",
                  [this] { return status_->syncStatus(); }),
      std::chrono::seconds(1), cfg_.node_status_update_frequency, std::chrono::seconds(2));
  lease_runner_->start();
  status_runner_->start();

  threads_.list.emplace_back([this] { lease_io_.run(); });
  threads_.list.emplace_back([this] { status_io_.run(); });
}

void AgentProcess::startPodWatch() {
  ListOptions pod_sel;
  pod_sel.field_selector = "spec.nodeName=" + node_name_;
  pods_reflector_ =
      std::make_unique<Reflector>(client_, apiPath("", "v1", "pods"), pod_sel, *kubelet_, "pods");
  threads_.list.emplace_back([this] { pods_reflector_->run(cancel_); });
}

// Cluster DNS (issue 18): a node-local server fed by the proxy's Service/EndpointSlice caches.
void AgentProcess::startClusterDns() {
  if (!cfg_.serve_cluster_dns || cfg_.cluster_dns.empty()) return;
  cluster_dns_ = std::make_unique<dns::NodeLocalDns>(dns::NodeLocalDnsOptions{
      cfg_.cluster_dns, cfg_.cluster_domain, static_cast<std::uint32_t>(cfg_.cluster_dns_ttl),
      cfg_.resolv_conf, 53, 9153});
  if (!status_->podCidr().empty()) listenDns(status_->podCidr());
  dns_runner_ = std::make_unique<BoundedFrequencyRunner>(
      dns_io_, "cluster-dns",
      [this] {
        cluster_dns_->update(services_cache_->snapshot(), slices_cache_->snapshot());
        return true;
      },
      std::chrono::milliseconds(100), std::chrono::seconds(30), std::chrono::seconds(1));
  dns_runner_->start();
  threads_.list.emplace_back([this] { dns_io_.run(); });
}

void AgentProcess::listenDns(const std::string& cidr) {
  if (auto r = cluster_dns_->listenFor(cidr); !r) {
    SKIFF_LOG_ERROR(lg_, "Cluster DNS unavailable", kv("err", r.error().message()));
  } else if (proxy_runner_) {
    proxy_runner_->run();  // its node-local kube-dns endpoint now exists
  }
}

void AgentProcess::startNodeWatch() {
  node_watch_ = std::make_unique<NodeWatch>(
      node_name_, *status_, [this] { onPodCidrAssigned(); }, network_.get());
  node_reflector_ = std::make_unique<Reflector>(client_, apiPath("", "v1", "nodes"), ListOptions{},
                                                *node_watch_, "nodes");
  threads_.list.emplace_back([this] { node_reflector_->run(cancel_); });
}

void AgentProcess::onPodCidrAssigned() {
  std::string cidr = status_->podCidr();
  SKIFF_LOG_INFO(lg_, "Pod CIDR assigned", kv("node", node_name_), kv("podCIDR", cidr));
  if (network_) network_->setPodCidr(cidr);
  if (cluster_dns_) listenDns(cidr);
  status_runner_->run();
}

// kube-proxy: Services + EndpointSlices -> iptables, through a bounded-frequency runner
// (minSyncPeriod 1 s, syncPeriod 30 s as kube-proxy's defaults).
void AgentProcess::startServiceProxy() {
  if (cfg_.run_proxy) {
    auto p = makeServiceProxy(cfg_, node_name_);
    if (p) {
      proxy_ = std::move(*p);
    } else {
      SKIFF_LOG_ERROR(lg_, "Service proxy unavailable", kv("err", p.error().message()));
    }
  }
  if (!proxy_ && !cluster_dns_) return;
  if (proxy_)
    proxy_runner_ = std::make_unique<BoundedFrequencyRunner>(
        proxy_io_, "service-proxy", [this] { return syncServiceProxy(); },
        cfg_.proxy_min_sync_period, cfg_.proxy_sync_period, std::chrono::seconds(5));
  services_reflector_ = std::make_unique<Reflector>(
      client_, apiPath("", "v1", "services"), ListOptions{},
      proxy_ ? static_cast<ReflectorHandler&>(*services_feed_) : *services_cache_, "services");
  slices_reflector_ = std::make_unique<Reflector>(
      client_, apiPath("discovery.k8s.io", "v1", "endpointslices"), ListOptions{},
      proxy_ ? static_cast<ReflectorHandler&>(*slices_feed_) : *slices_cache_, "endpointslices");
  threads_.list.emplace_back([this] { services_reflector_->run(cancel_); });
  threads_.list.emplace_back([this] { slices_reflector_->run(cancel_); });
  if (proxy_runner_) {
    proxy_runner_->start();
    threads_.list.emplace_back([this] { proxy_io_.run(); });
  }
}

bool AgentProcess::syncServiceProxy() {
  if (cluster_dns_) {  // the node-local kube-dns endpoint, once its server listens
    if (auto local = cluster_dns_->localEndpointSlice(node_name_)) {
      proxy_changes_.setSlice(*local);
    }
  }
  auto r = proxy_->sync(proxy_changes_);
  if (!r) {
    SKIFF_LOG_WARN(lg_, "Service proxy sync failed, will retry", kv("err", r.error().message()));
    return false;
  }
  SKIFF_LOG_DEBUG(lg_, "Service proxy synced", kv("result", *r));
  return true;
}

void AgentProcess::startHousekeeping() {
  threads_.list.emplace_back([this] { relistLoop(); });
  threads_.list.emplace_back([this] { reclaimLoop(); });
  threads_.list.emplace_back([this] { evictionLoop(); });
}

// Kubelet API (:10250) and healthz (127.0.0.1:10248).
Result<void> AgentProcess::startServer() {
  api_source_ = std::make_unique<ApiSource>(*kubelet_, *syncer_, *runtime_, node_name_);
  auto serving = servingCert(cfg_, node_name_, status_->nodeIp());
  if (!serving) return serving.error();
  KubeletServerOptions so;
  so.address = cfg_.address;
  so.port = cfg_.port;
  so.healthz_address = cfg_.healthz_bind_address;
  so.healthz_port = cfg_.healthz_port > 0 ? cfg_.healthz_port : -1;
  so.cert_pem = serving->cert_pem;
  so.key_pem = serving->key_pem;
  so.client_ca_pem = kc_.tls.ca_pem;
  if (!cfg_.client_ca_file.empty()) {
    auto ca = readFile(cfg_.client_ca_file, 1u << 20);
    if (!ca) return ca.error();
    so.client_ca_pem = *ca;
  }
  auto server = startKubeletServer(so, *api_source_);
  if (!server) return server.error();
  server_ = std::move(*server);
  SKIFF_LOG_INFO(lg_, "Kubelet API serving", kv("port", server_->port()),
                 kv("healthzPort", server_->healthzPort()));
  return {};
}

// Stops every loop and joins every thread, before the reflectors and caches (declared after
// `threads_`) are destroyed.
void AgentProcess::stopAll() {
  cancel_.cancel();
  lease_runner_->stop();
  status_runner_->stop();
  if (proxy_runner_) proxy_runner_->stop();
  if (dns_runner_) dns_runner_->stop();
  proxy_guard_.reset();
  proxy_io_.stop();
  dns_io_.stop();
  lease_guard_.reset();
  status_guard_.reset();
  lease_io_.stop();
  status_io_.stop();
  for (auto& t : threads_.list) {
    if (t.joinable()) t.join();
  }
  probes_->stop();
  kubelet_->stop();
}

}  // namespace skiff::agent
