#pragma once

// The running agent as one object (Envoy's source/server next to source/exe): it owns every piece
// runAgent wires together, set up one subsystem at a time by run(). The members are declared in
// the order they are set up, so they are destroyed in reverse. Internal to agent/src/.

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "agent_parts.h"

namespace skiff::agent {

class AgentProcess {
 public:
  // `stop` is set from the SIGTERM/SIGINT handler (agent.cc); registration and the main loop
  // poll it.
  AgentProcess(const AgentConfig& cfg, const std::atomic<bool>& stop);
  AgentProcess(const AgentProcess&) = delete;
  AgentProcess& operator=(const AgentProcess&) = delete;

  // Sets everything up, serves until `stop`, stops. Returns the process exit code: 0 on a
  // signal (also while still registering), 1 on a start-up error (logged as "Agent failed").
  int run();

 private:
  using WorkGuard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;

  // Start-up, in run()'s order (agent_process.cc).
  Result<void> identifyNode();     // root dir, node facts, node name
  Result<void> loadCredentials();  // kubeconfig or join; the API client
  void openRuntime();              // runtime (or its stand-in), bundled images, import dir
  void openPodNetwork();
  bool registerNode();      // false when stopped before the node registered
  void buildPodPipeline();  // volumes, probes, syncer, kubelet
  void buildServiceCaches();
  PodSyncConfig podSyncConfig(const KubeletLimits& limits);
  void wireEvents();
  Result<void> startEviction();  // eviction manager and image GC
  void startNodeStatus();        // lease and status runners
  void startPodWatch();
  void startClusterDns();
  void listenDns(const std::string& cidr);
  void startNodeWatch();
  void onPodCidrAssigned();
  void startServiceProxy();
  bool syncServiceProxy();
  void startHousekeeping();  // relist, local-path reclaim, eviction loops
  Result<void> startServer();
  void stopAll();
  int fail(const Error& e);
  NodeHealth nodeHealth();

  // Serving and the background loops (agent_loops.cc).
  void serveUntilStopped();  // sd_notify READY, the watchdog, until `stop`
  void relistLoop();
  void reclaimLoop();
  void evictionLoop();

  const AgentConfig& cfg_;
  const std::atomic<bool>& stop_;
  std::shared_ptr<spdlog::logger> lg_;

  // Node and credentials.
  NodeFactsPtr facts_;
  std::optional<NodeFactsSnapshot> snapshot_;
  std::string node_name_;
  KubeConfig kc_;
  KubeClientPtr client_;

  // Runtime and network.
  ContainerRuntimePtr runtime_;
  std::string runtime_problem_;
  std::unique_ptr<ImageImportDir> import_dir_;
  PodNetworkManagerPtr network_;

  // Node status (and the eviction manager, which its health reads).
  std::unique_ptr<NodeStatusManager> status_;
  std::unique_ptr<EvictionManager> eviction_;
  WallClock wall_;

  // Pods. The runners are poked by the caches, so they are declared before them.
  std::unique_ptr<BoundedFrequencyRunner> proxy_runner_, dns_runner_;
  std::unique_ptr<parts::ObjectCache> services_cache_, slices_cache_;
  // The proxy's change tracker, fed by the Service and EndpointSlice reflectors before their
  // caches poke the proxy runner. Declared before `threads_`, which joins the reflectors.
  netproxy::ServiceTracker proxy_changes_;
  std::unique_ptr<parts::ProxyFeed> services_feed_, slices_feed_;
  std::unique_ptr<ObjectSource> objects_;
  std::unique_ptr<Mounter> mounter_;
  std::unique_ptr<VolumeManager> volumes_;
  std::optional<Backoff> crash_, image_backoff_;
  std::unique_ptr<ProbeRunner> probe_runner_;
  std::unique_ptr<ProbeManager> probes_;
  std::unique_ptr<PodSyncer> syncer_;
  std::unique_ptr<Kubelet> kubelet_;
  std::unique_ptr<EventRecorder> recorder_;
  std::unique_ptr<EvictionStatsSource> eviction_stats_;
  std::unique_ptr<ImageGcManager> image_gc_;

  // Loops and watches.
  CancelToken cancel_;
  boost::asio::io_context lease_io_, status_io_;
  WorkGuard lease_guard_, status_guard_;
  std::unique_ptr<BoundedFrequencyRunner> lease_runner_, status_runner_;
  parts::Threads threads_;
  std::unique_ptr<Reflector> pods_reflector_;
  std::unique_ptr<dns::NodeLocalDns> cluster_dns_;
  boost::asio::io_context dns_io_;
  WorkGuard dns_guard_;
  std::unique_ptr<parts::NodeWatch> node_watch_;
  std::unique_ptr<Reflector> node_reflector_;
  boost::asio::io_context proxy_io_;
  WorkGuard proxy_guard_;
  std::unique_ptr<ServiceProxySink> proxy_;
  std::unique_ptr<Reflector> services_reflector_, slices_reflector_;

  // The kubelet API.
  std::unique_ptr<parts::ApiSource> api_source_;
  std::unique_ptr<KubeletServer> server_;
};

}  // namespace skiff::agent
