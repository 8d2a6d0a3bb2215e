#include "skiff/agent/agent.h"

#include "agent_parts.h"

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
#include "skiff/agent/local_storage.h"
#include "skiff/agent/node_facts.h"
#include "skiff/agent/node_status.h"
#include "skiff/agent/object_source.h"
#include "skiff/agent/pod_status.h"
#include "skiff/agent/pod_sync.h"
#include "skiff/agent/probe_manager.h"
#include "skiff/agent/resources.h"
#include "skiff/agent/runner.h"
#include "skiff/agent/static_pods.h"
#include "skiff/agent/tls_util.h"
#include "skiff/agent/volumes.h"
#include "skiff/common/file.h"
#include "skiff/common/log.h"
#include "skiff/common/split_list.h"
#include "skiff/common/version.h"

namespace skiff::agent {

using nlohmann::json;
using skiff::log::kv;
using namespace parts;

namespace {

std::atomic<bool> g_stop{false};
CancelToken* g_cancel = nullptr;

void onSignal(int) { g_stop = true; }

}  // namespace

int runAgent(const AgentConfig& cfg) {
  auto lg = skiff::log::get("agent");
  // glibc gives each thread that allocates its own arena (up to 8 per core); the pod workers,
  // the API server threads and the watchers would each keep the memory a burst of pod syncs
  // freed. One arena: the 100-pod bench showed no slower start than with two and 0.4 MB less
  // idle RSS (the agent mostly waits on the kernel and the API). Set before any thread starts.
  ::mallopt(M_ARENA_MAX, 1);
  ::signal(SIGPIPE, SIG_IGN);
  struct sigaction sa {};
  sa.sa_handler = onSignal;
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);

  auto fail = [&](const Error& e) {
    SKIFF_LOG_ERROR(lg, "Agent failed", kv("err", e.message()));
    return 1;
  };

  // The agent should be the last thing the OOM killer picks (kubelet: -999).
  {
    std::ofstream adj("/proc/self/oom_score_adj");
    adj << cfg.oom_score_adj << std::flush;
    if (!adj) {
      SKIFF_LOG_WARN(lg, "Failed to set oom_score_adj of the agent",
                     kv("oomScoreAdj", cfg.oom_score_adj), kv("err", std::strerror(errno)));
    }
  }

  std::error_code ec;
  std::filesystem::create_directories(cfg.root_dir, ec);
  if (ec)
    return fail(
        Error(ErrorCode::Internal, "create root dir '" + cfg.root_dir + "': " + ec.message()));

  auto made_facts = makeNodeFacts(cfg);
  if (!made_facts) return fail(made_facts.error());
  NodeFactsPtr facts = std::move(*made_facts);
  auto snapshot = facts->collect();
  if (!snapshot) return fail(snapshot.error());
  std::string node_name =
      cfg.hostname_override.empty() ? snapshot->hostname : cfg.hostname_override;
  for (auto& c : node_name) c = static_cast<char>(std::tolower(c));

  // Credentials: an existing kubeconfig wins; otherwise join with the bootstrap token.
  KubeConfig kc;
  std::string kc_path = cfg.kubeconfigPath();
  if (std::filesystem::exists(kc_path)) {
    auto loaded = loadKubeconfig(kc_path);
    if (!loaded) return fail(loaded.error());
    kc = *loaded;
    auto listed = splitList(cfg.server);
    if (!listed.empty() && std::find(listed.begin(), listed.end(), kc.server) == listed.end()) {
      SKIFF_LOG_WARN(lg, "Kubeconfig server is not one of --server, using the kubeconfig first",
                     kv("kubeconfig", kc.server), kv("server", cfg.server));
    }
  } else if (!cfg.token.empty()) {
    auto joined = joinCluster(cfg, node_name);
    if (!joined) return fail(joined.error());
    kc = *joined;
  } else {
    return fail(Error(ErrorCode::Invalid, "no kubeconfig at '" + kc_path +
                                              "': join with --server, --token and "
                                              "--ca-cert-hash, or pass --kubeconfig"));
  }
  // HA masters: every --server entry besides the kubeconfig's is a fallback.
  auto transport = transportFromKubeconfig(kc, splitList(cfg.server));
  if (!transport) return fail(transport.error());
  auto client = std::make_shared<KubeClient>(*transport);

  // Runtime and network (adapters to the runtime and netproxy libraries).
  ContainerRuntimePtr runtime;
  std::string runtime_problem;
  if (auto r = makeContainerRuntime(cfg); r) {
    runtime = *r;
  } else {
    runtime_problem = r.error().message();
    SKIFF_LOG_ERROR(lg, "Container runtime unavailable, node will be NotReady",
                    kv("err", runtime_problem));
    runtime = std::make_shared<UnavailableRuntime>(runtime_problem);
  }
  for (const auto& archive : cfg.preload_images) {
    if (!runtime_problem.empty() || !std::filesystem::exists(archive)) continue;
    auto n = importImageArchive(*runtime, archive);
    if (n) {
      SKIFF_LOG_INFO(lg, "Imported bundled images", kv("archive", archive),
                     kv("images", n->size()));
    } else {
      SKIFF_LOG_WARN(lg, "Importing bundled images failed, ignoring", kv("archive", archive),
                     kv("err", n.error().message()));
    }
  }
  // The air-gap directory: archives there (now and later) go into the same store.
  std::unique_ptr<ImageImportDir> import_dir;
  if (runtime_problem.empty()) {
    import_dir = std::make_unique<ImageImportDir>(
        cfg.image_import_dir.empty() ? cfg.root_dir + "/images" : cfg.image_import_dir,
        [&runtime](const std::string& path) { return importImageArchive(*runtime, path); });
    if (auto r = import_dir->start(); !r) {
      SKIFF_LOG_ERROR(lg, "Image import directory not watched", kv("err", r.error().message()));
    } else {
      SKIFF_LOG_INFO(lg, "Watching the image import directory", kv("dir", import_dir->dir()));
    }
  }
  PodNetworkManagerPtr network;
  if (auto n = makePodNetwork(cfg, node_name); n) {
    network = *n;
  } else {
    SKIFF_LOG_ERROR(lg, "Pod network unavailable", kv("err", n.error().message()));
  }

  // Node registration, lease and status.
  NodeRegistration reg;
  reg.name = node_name;
  reg.node_ip = cfg.node_ip;
  reg.labels = cfg.node_labels;
  reg.annotations[kStorageRootAnnotation] = cfg.storage_root;
  reg.taints = cfg.register_with_taints;
  reg.kubelet_port = cfg.port;
  reg.lease_duration_seconds = cfg.node_lease_duration_seconds;
  reg.kubelet_version = skiff::kKubeVersion;
  reg.runtime_version = runtime->version();
  reg.report_frequency = cfg.node_status_report_frequency;
  std::unique_ptr<NodeStatusManager> status;
  std::unique_ptr<EvictionManager> eviction;
  auto health = [&]() {
    NodeHealth h;
    h.runtime_ready = runtime_problem.empty();
    h.runtime_message = runtime_problem;
    h.network_ready = status && !status->podCidr().empty() && (!network || network->ready());
    if (eviction) {
      NodePressure p = eviction->pressure();
      h.memory_pressure = p.memory;
      h.disk_pressure = p.disk;
      h.pid_pressure = p.pid;
    }
    auto images = runtime->listImages();
    if (images) {
      for (const auto& i : *images) {
        json names = json::array();
        for (const auto& d : i.repo_digests) names.push_back(d);
        for (const auto& t : i.repo_tags) names.push_back(t);
        h.images.push_back({{"names", names}, {"sizeBytes", i.size}});
      }
    }
    return h;
  };
  WallClock wall = [] { return std::chrono::system_clock::now(); };
  status = std::make_unique<NodeStatusManager>(client, reg, *facts, health, wall);
  for (int attempt = 0; !g_stop; ++attempt) {
    auto r = status->registerNode();
    if (r) break;
    SKIFF_LOG_WARN(lg, "Unable to register node with API server, will retry", kv("node", node_name),
                   kv("err", r.error().message()));
    std::this_thread::sleep_for(std::chrono::seconds(std::min(attempt + 1, 7)));
  }
  if (g_stop) return 0;

  if (network && !status->podCidr().empty()) network->setPodCidr(status->podCidr());

  // Pods.
  KubeletLimits limits;
  limits.allocatable_milli_cpu =
      quantityMilli(snapshot->allocatable.value("cpu", json("0"))).value_or(0);
  limits.allocatable_memory =
      quantityValue(snapshot->allocatable.value("memory", json("0"))).value_or(0);
  limits.max_pods = cfg.max_pods;
  // Made before anything that syncs pods: the object source reads Services from it.
  std::unique_ptr<BoundedFrequencyRunner> proxy_runner, dns_runner;
  auto poke = [&] {
    if (proxy_runner) proxy_runner->run();
    if (dns_runner) dns_runner->run();
  };
  auto services_cache = std::make_unique<ObjectCache>(poke);
  auto slices_cache = std::make_unique<ObjectCache>(poke);
  // The proxy's change tracker, fed by the Service and EndpointSlice reflectors before their
  // caches poke the proxy runner. Declared before `threads`, which joins the reflectors.
  netproxy::ServiceTracker proxy_changes;
  ProxyFeed services_feed(proxy_changes, ProxyFeed::Kind::Services, *services_cache);
  ProxyFeed slices_feed(proxy_changes, ProxyFeed::Kind::EndpointSlices, *slices_cache);
  auto objects = makeApiObjectSource(
      client, [&](const std::string& ns) { return services_cache->inNamespace(ns); });
  auto mounter = makeRealMounter();
  VolumeManager volumes(cfg.root_dir, *objects, *mounter);
  volumes.setStorageRoot(cfg.storage_root);
  Backoff crash(cfg.crash_loop_initial, cfg.crash_loop_max, wall);
  Backoff image_backoff(std::chrono::seconds(10), std::chrono::seconds(300), wall);
  PodSyncConfig psc;
  psc.node_name = node_name;
  psc.host_ip = status->nodeIp();
  psc.root_dir = cfg.root_dir;
  psc.log_dir = cfg.pod_log_dir;
  psc.cluster_dns = cfg.cluster_dns;
  psc.cluster_domain = cfg.cluster_domain;
  psc.resolv_conf = cfg.resolv_conf;
  psc.memory_capacity = quantityValue(snapshot->capacity.value("memory", json("0"))).value_or(0);
  psc.min_oom_score_adj = lowestOomScoreAdj();
  psc.allocatable_milli_cpu = limits.allocatable_milli_cpu;
  psc.allocatable_memory = limits.allocatable_memory;
  auto probe_runner = makeProbeRunner(*runtime);
  Kubelet* kubelet_ptr = nullptr;
  ProbeManager probes(*probe_runner, [&](const std::string& uid) {
    if (kubelet_ptr != nullptr) kubelet_ptr->updateUid(uid);
  });
  PodSyncer syncer(psc, *runtime, network.get(), volumes, *objects, crash, image_backoff, &probes,
                   wall);
  Kubelet kubelet(client, syncer, *runtime, limits);
  kubelet_ptr = &kubelet;

  // Kubelet events (posted from their own thread).
  EventRecorder recorder(client, node_name, wall);
  volumes.setClaimEvents(
      [&recorder](const json& pvc, const std::string& reason, const std::string& msg) {
        recorder.claimEvent(pvc, "Warning", reason, msg);
      });
  syncer.setEventRecorder(&recorder);
  kubelet.setEventRecorder(&recorder);
  probes.setFailureHook([&](const std::string& uid, const std::string& container, ProbeType type,
                            const std::string& output) {
    auto pod = kubelet.podByUid(uid);
    if (!pod) return;
    recorder.podEvent(*pod, EventRecorder::containerFieldPath(*pod, container), "Warning",
                      events::kUnhealthy,
                      std::string(probeTypeName(type)) + " probe failed: " + output);
  });
  recorder.nodeEvent("Normal", "Starting", "Starting kubelet.");

  // Eviction manager over this machine's stats; it also gates admission.
  auto thresholds =
      parseEvictionSettings({cfg.eviction_hard, cfg.eviction_soft, cfg.eviction_soft_grace_period,
                             cfg.eviction_minimum_reclaim});
  if (!thresholds) return fail(thresholds.error());
  auto eviction_stats = makeNodeEvictionStats({cfg.root_dir, cfg.runtime_root}, *runtime);
  eviction = std::make_unique<EvictionManager>(
      *thresholds, *eviction_stats, [&] { return kubelet.activePods(); },
      [&](const json& pod, const std::string& message, std::chrono::seconds grace) {
        return kubelet.evictPod(pod, message, grace);
      },
      wall, cfg.eviction_pressure_transition_period, cfg.eviction_max_pod_grace_period);
  // Image GC: periodic, and the eviction manager's node-level reclaim under disk pressure.
  ImageGcManager image_gc(*runtime, cfg.image_gc,
                          [&](const std::string& type, const std::string& reason,
                              const std::string& msg) { recorder.nodeEvent(type, reason, msg); });
  eviction->setNodeReclaim([&](const std::string&) {
    auto freed = image_gc.deleteUnusedImages();
    if (!freed)
      SKIFF_LOG_WARN(
          lg, "Eviction manager: unexpected error when attempting to reduce resource pressure",
          kv("err", freed.error().message()));
    return freed && *freed > 0;
  });
  eviction->synchronize();  // conditions right from the first status report
  kubelet.setAdmitHook([&](const json& pod) { return eviction->admit(pod); });

  CancelToken cancel;
  g_cancel = &cancel;
  boost::asio::io_context lease_io, status_io;
  auto lease_guard = boost::asio::make_work_guard(lease_io);
  auto status_guard = boost::asio::make_work_guard(status_io);
  BoundedFrequencyRunner lease_runner(
      lease_io, "node-lease",
      [&] {
        auto r = status->renewLease();
        if (!r)
          SKIFF_LOG_WARN(lg, "Failed to renew node lease, will retry",
                         kv("err", r.error().message()));
        return bool(r);
      },
      std::chrono::seconds(cfg.node_lease_duration_seconds) / 4,
      std::chrono::seconds(cfg.node_lease_duration_seconds) / 4, std::chrono::milliseconds(1000));
  BoundedFrequencyRunner status_runner(
      status_io, "node-status",
      [&] {
        auto r = status->syncStatus();
        if (!r)
          SKIFF_LOG_WARN(lg, "Error updating node status, will retry",
                         kv("err", r.error().message()));
        return bool(r);
      },
      std::chrono::seconds(1), cfg.node_status_update_frequency, std::chrono::seconds(2));
  lease_runner.start();
  status_runner.start();

  Threads threads;
  threads.list.emplace_back([&] { lease_io.run(); });
  threads.list.emplace_back([&] { status_io.run(); });

  ListOptions pod_sel;
  pod_sel.field_selector = "spec.nodeName=" + node_name;
  Reflector pods_reflector(client, apiPath("", "v1", "pods"), pod_sel, kubelet, "pods");
  threads.list.emplace_back([&] { pods_reflector.run(cancel); });

  // Cluster DNS (issue 18): a node-local server fed by the proxy's Service/EndpointSlice caches.
  std::unique_ptr<dns::NodeLocalDns> cluster_dns;
  boost::asio::io_context dns_io;
  auto dns_guard = boost::asio::make_work_guard(dns_io);
  auto listen_dns = [&](const std::string& cidr) {
    if (auto r = cluster_dns->listenFor(cidr); !r) {
      SKIFF_LOG_ERROR(lg, "Cluster DNS unavailable", kv("err", r.error().message()));
    } else if (proxy_runner) {
      proxy_runner->run();  // its node-local kube-dns endpoint now exists
    }
  };
  if (cfg.serve_cluster_dns && !cfg.cluster_dns.empty()) {
    cluster_dns = std::make_unique<dns::NodeLocalDns>(dns::NodeLocalDnsOptions{
        cfg.cluster_dns, cfg.cluster_domain, static_cast<std::uint32_t>(cfg.cluster_dns_ttl),
        cfg.resolv_conf, 53, 9153});
    if (!status->podCidr().empty()) listen_dns(status->podCidr());
    dns_runner = std::make_unique<BoundedFrequencyRunner>(
        dns_io, "cluster-dns",
        [&] {
          cluster_dns->update(services_cache->snapshot(), slices_cache->snapshot());
          return true;
        },
        std::chrono::milliseconds(100), std::chrono::seconds(30), std::chrono::seconds(1));
    dns_runner->start();
    threads.list.emplace_back([&] { dns_io.run(); });
  }
  NodeWatch node_watch(
      node_name, *status,
      [&] {
        std::string cidr = status->podCidr();
        SKIFF_LOG_INFO(lg, "Pod CIDR assigned", kv("node", node_name), kv("podCIDR", cidr));
        if (network) network->setPodCidr(cidr);
        if (cluster_dns) listen_dns(cidr);
        status_runner.run();
      },
      network.get());
  Reflector node_reflector(client, apiPath("", "v1", "nodes"), {}, node_watch, "nodes");
  threads.list.emplace_back([&] { node_reflector.run(cancel); });

  // kube-proxy: Services + EndpointSlices -> iptables, through a bounded-frequency runner
  // (minSyncPeriod 1 s, syncPeriod 30 s as kube-proxy's defaults).
  boost::asio::io_context proxy_io;
  auto proxy_guard = boost::asio::make_work_guard(proxy_io);
  std::unique_ptr<ServiceProxySink> proxy;
  if (cfg.run_proxy) {
    auto p = makeServiceProxy(cfg, node_name);
    if (p) {
      proxy = std::move(*p);
    } else {
      SKIFF_LOG_ERROR(lg, "Service proxy unavailable", kv("err", p.error().message()));
    }
  }
  std::unique_ptr<Reflector> services_reflector, slices_reflector;
  if (proxy || cluster_dns) {
    if (proxy)
      proxy_runner = std::make_unique<BoundedFrequencyRunner>(
          proxy_io, "service-proxy",
          [&] {
            if (cluster_dns) {  // the node-local kube-dns endpoint, once its server listens
              if (auto local = cluster_dns->localEndpointSlice(node_name)) {
                proxy_changes.setSlice(*local);
              }
            }
            auto r = proxy->sync(proxy_changes);
            if (!r) {
              SKIFF_LOG_WARN(lg, "Service proxy sync failed, will retry",
                             kv("err", r.error().message()));
              return false;
            }
            SKIFF_LOG_DEBUG(lg, "Service proxy synced", kv("result", *r));
            return true;
          },
          cfg.proxy_min_sync_period, cfg.proxy_sync_period, std::chrono::seconds(5));
    services_reflector = std::make_unique<Reflector>(
        client, apiPath("", "v1", "services"), ListOptions{},
        proxy ? static_cast<ReflectorHandler&>(services_feed) : *services_cache, "services");
    slices_reflector = std::make_unique<Reflector>(
        client, apiPath("discovery.k8s.io", "v1", "endpointslices"), ListOptions{},
        proxy ? static_cast<ReflectorHandler&>(slices_feed) : *slices_cache, "endpointslices");
    threads.list.emplace_back([&] { services_reflector->run(cancel); });
    threads.list.emplace_back([&] { slices_reflector->run(cancel); });
    if (proxy_runner) {
      proxy_runner->start();
      threads.list.emplace_back([&] { proxy_io.run(); });
    }
  }

  // PLEG relist every second; full resync every 10 s (backoff expiry, volume refresh).
  threads.list.emplace_back([&] {
    int tick = 0;
    while (!cancel.waitFor(std::chrono::seconds(1))) {
      kubelet.relist();
      // Static pods: rescan the manifest directory (fileCheckFrequency, 20 s).
      if (tick % cfg.file_check_frequency.count() == 0) {
        auto scan = scanStaticPods(cfg.pod_manifest_path, node_name);
        for (const auto& e : scan.errors) {
          SKIFF_LOG_WARN(lg, "Skipping static pod manifest", kv("err", e));
        }
        kubelet.setStaticPods(scan.pods);
      }
      ++tick;
      if (tick % 60 == 0) {
        kubelet.resyncAll(true);  // syncFrequency 1 min
      } else if (tick % 5 == 0) {
        kubelet.resyncAll(false);
      }
    }
  });

  // Released local-path volumes of this node with reclaim Delete: directory, then PV.
  threads.list.emplace_back([&] {
    while (!cancel.waitFor(std::chrono::seconds(5))) {
      auto n = reclaimLocalPathVolumes(*client, node_name, cfg.storage_root);
      if (!n)
        SKIFF_LOG_WARN(lg, "Reclaiming local-path volumes failed, will retry",
                       kv("err", n.error().message()));
    }
  });

  // Eviction manager pass every 10 s; a change of pressure is reported at once.
  threads.list.emplace_back([&] {
    NodePressure last = eviction->pressure();
    auto next_image_gc = std::chrono::steady_clock::now();
    while (!cancel.waitFor(cfg.eviction_monitoring_interval)) {
      if (std::chrono::steady_clock::now() >= next_image_gc) {
        image_gc.garbageCollect();  // kubelet's ImageGCPeriod
        next_image_gc = std::chrono::steady_clock::now() + std::chrono::minutes(5);
      }
      auto evicted = eviction->synchronize();
      auto met = eviction->thresholdsMet();
      if (!met.empty()) {
        recorder.nodeEvent("Warning", "EvictionThresholdMet",
                           "Attempting to reclaim " + evictionResourceOf(met.front()));
      }
      NodePressure now = eviction->pressure();
      if (!(now == last)) {
        // kubelet's node status events: "Node node-1 status is now: NodeHasDiskPressure".
        auto say = [&](bool before, bool after, const char* on, const char* off) {
          if (before == after) return;
          recorder.nodeEvent("Normal", after ? on : off,
                             "Node " + node_name + " status is now: " + (after ? on : off));
        };
        say(last.memory, now.memory, "NodeHasInsufficientMemory", "NodeHasSufficientMemory");
        say(last.disk, now.disk, "NodeHasDiskPressure", "NodeHasNoDiskPressure");
        say(last.pid, now.pid, "NodeHasInsufficientPID", "NodeHasSufficientPID");
        status_runner.run();
      }
      (void)evicted;
      last = now;
      // Hand the pages freed since the last pass (a burst of pod syncs, a finished exec or
      // log stream) back to the kernel, so the idle footprint is what is really in use.
      ::malloc_trim(0);
    }
  });

  // Stops every loop and joins every thread, before the reflectors and caches (declared after
  // `threads`) are destroyed: on the way out, and on a failure from here on (a kubelet port
  // already taken must end the agent with its error, not hang on threads that never stop).
  auto stop_all = [&] {
    cancel.cancel();
    lease_runner.stop();
    status_runner.stop();
    if (proxy_runner) proxy_runner->stop();
    if (dns_runner) dns_runner->stop();
    proxy_guard.reset();
    proxy_io.stop();
    dns_io.stop();
    lease_guard.reset();
    status_guard.reset();
    lease_io.stop();
    status_io.stop();
    for (auto& t : threads.list) {
      if (t.joinable()) t.join();
    }
    probes.stop();
    kubelet.stop();
  };
  auto stop_and_fail = [&](const Error& e) {
    stop_all();
    return fail(e);
  };

  // Kubelet API (:10250) and healthz (127.0.0.1:10248).
  ApiSource api_source(kubelet, syncer, *runtime, node_name);
  auto serving = servingCert(cfg, node_name, status->nodeIp());
  if (!serving) return stop_and_fail(serving.error());
  KubeletServerOptions so;
  so.address = cfg.address;
  so.port = cfg.port;
  so.healthz_address = cfg.healthz_bind_address;
  so.healthz_port = cfg.healthz_port > 0 ? cfg.healthz_port : -1;
  so.cert_pem = serving->cert_pem;
  so.key_pem = serving->key_pem;
  so.client_ca_pem = kc.tls.ca_pem;
  if (!cfg.client_ca_file.empty()) {
    auto ca = readFile(cfg.client_ca_file, 1u << 20);
    if (!ca) return stop_and_fail(ca.error());
    so.client_ca_pem = *ca;
  }
  auto server = startKubeletServer(so, api_source);
  if (!server) return stop_and_fail(server.error());
  SKIFF_LOG_INFO(lg, "Kubelet API serving", kv("port", (*server)->port()),
                 kv("healthzPort", (*server)->healthzPort()));

  // systemd: READY once registered; WATCHDOG at half the configured interval.
  (void)sd_notify(0, "READY=1\nSTATUS=node registered");
  uint64_t watchdog_usec = 0;
  bool watchdog = sd_watchdog_enabled(0, &watchdog_usec) > 0;
  SKIFF_LOG_INFO(lg, "Agent running", kv("node", node_name), kv("version", skiff::kVersion));
  auto last_dog = std::chrono::steady_clock::now();
  while (!g_stop) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    if (watchdog && std::chrono::steady_clock::now() - last_dog >=
                        std::chrono::microseconds(watchdog_usec / 2)) {
      (void)sd_notify(0, "WATCHDOG=1");
      last_dog = std::chrono::steady_clock::now();
    }
  }
  SKIFF_LOG_INFO(lg, "Agent stopping; pods keep running", kv("node", node_name));
  (void)sd_notify(0, "STOPPING=1");
  (*server)->stop();
  stop_all();
  return 0;
}

}  // namespace skiff::agent
