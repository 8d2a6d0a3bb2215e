// The default command: `skiff-agent [flags]` runs the node agent (kubelet + kube-proxy).
// Flags mirror kubelet's names; --config reads a KubeletConfiguration file and flags given on the
// command line win over it, as with kubelet.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <map>
#include <memory>

#include "command.h"
#include "skiff/agent/agent.h"
#include "skiff/agent/config.h"
#include "skiff/agent/eviction.h"
#include "skiff/agent/image_gc.h"
#include "skiff/common/log.h"
#include "skiff/common/split_list.h"
#include "skiff/hostinfo/resource_flags.h"

namespace skiff::agent::cmd {
namespace {

struct RunFlags {
  AgentConfig cfg;
  std::string config_file;
  std::string node_labels, taints, kube_reserved, system_reserved, eviction_hard;
  std::string eviction_transition, eviction_soft, eviction_soft_grace, eviction_min_reclaim;
  int eviction_max_pod_grace = 0;
  std::string image_min_age;
  std::string cluster_dns;
};

// How the node finds and joins the cluster.
void addJoinFlags(CLI::App& app, RunFlags& flags, AgentConfig& c) {
  app.add_option("--server", c.server,
                 "API server(s), https://HOST:6443; several masters comma separated (the first "
                 "joins, the others are fallbacks)");
  app.add_option("--token", c.token, "bootstrap token <id>.<secret> for the first join");
  app.add_option("--ca-cert-hash", c.ca_cert_hash,
                 "sha256:<hex> of the cluster CA's public key (pins the CA on join)");
  app.add_option("--kubeconfig", c.kubeconfig,
                 "kubeconfig with the node's credentials (default <root-dir>/kubelet.kubeconfig)");
  app.add_option("--config", flags.config_file, "KubeletConfiguration file (YAML or JSON)");
}

// What the node registers as and where it keeps its files.
void addNodeFlags(CLI::App& app, RunFlags& flags, AgentConfig& c) {
  app.add_option("--hostname-override", c.hostname_override,
                 "node name to use instead of the host name");
  app.add_option("--node-ip", c.node_ip, "IP address the node advertises (InternalIP)");
  app.add_option("--node-labels", flags.node_labels,
                 "labels to add when registering the node, key=value,...");
  app.add_option("--register-with-taints", flags.taints,
                 "taints to register the node with, key=value:Effect,...");
  app.add_option("--root-dir", c.root_dir, "directory for the agent's files")
      ->capture_default_str();
  app.add_option("--max-pods", c.max_pods, "maximum number of pods on this node")
      ->capture_default_str();
}

// Reserved resources, eviction thresholds and image garbage collection.
void addResourceFlags(CLI::App& app, RunFlags& flags, AgentConfig& c) {
  app.add_option("--kube-reserved", flags.kube_reserved,
                 "resources reserved for Kubernetes components, cpu=100m,memory=256Mi,...");
  app.add_option("--system-reserved", flags.system_reserved,
                 "resources reserved for the system, cpu=100m,memory=256Mi,...");
  app.add_option("--eviction-hard", flags.eviction_hard,
                 "hard eviction thresholds (default memory.available<100Mi,nodefs.available<10%,"
                 "imagefs.available<15%,nodefs.inodesFree<5%)");
  app.add_option(
      "--eviction-soft", flags.eviction_soft,
      "soft eviction thresholds, e.g. memory.available<1.5Gi (each needs a grace period)");
  app.add_option(
      "--eviction-soft-grace-period", flags.eviction_soft_grace,
      "how long a soft threshold must hold before eviction, e.g. memory.available=1m30s");
  app.add_option("--eviction-minimum-reclaim", flags.eviction_min_reclaim,
                 "how far past a threshold the signal must recover after evicting, "
                 "e.g. memory.available=0Mi,nodefs.available=500Mi");
  app.add_option("--eviction-max-pod-grace-period", flags.eviction_max_pod_grace,
                 "longest grace period (seconds) a soft eviction gives a pod")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--image-gc-high-threshold", c.image_gc.high_threshold_percent,
                 "percent of image disk usage at which image GC always runs (100 disables it)")
      ->capture_default_str();
  app.add_option("--image-gc-low-threshold", c.image_gc.low_threshold_percent,
                 "percent of image disk usage image GC frees down to")
      ->capture_default_str();
  app.add_option("--minimum-image-ttl-duration", flags.image_min_age,
                 "minimum age of an unused image before GC may remove it (default 2m0s)");
  app.add_option("--eviction-pressure-transition-period", flags.eviction_transition,
                 "how long a pressure condition stays after its threshold was last crossed "
                 "(default 5m0s)");
}

// The container runtime, storage, logs and images.
void addRuntimeFlags(CLI::App& app, AgentConfig& c) {
  app.add_option("--runtime", c.runtime, "container runtime backend")
      ->check(CLI::IsMember({"native", "runc"}))
      ->capture_default_str();
  app.add_option("--runtime-root", c.runtime_root, "runtime state directory")
      ->capture_default_str();
  app.add_option("--runtime-cgroup-parent", c.runtime_cgroup_parent,
                 "cgroup under which the runtime creates kubepods (default: the top)");
  app.add_option("--storage-root", c.storage_root,
                 "where local-path PersistentVolumes of this node are created")
      ->capture_default_str();
  app.add_option("--pod-log-dir", c.pod_log_dir, "where container logs are written")
      ->capture_default_str();
  app.add_option("--preload-image", c.preload_images,
                 "image archives imported at start when missing (repeatable)")
      ->capture_default_str();
  app.add_option("--image-import-dir", c.image_import_dir,
                 "air-gap image directory: *.tar, *.tar.gz and *.tar.zst archives there are "
                 "imported at start and when they appear or change (default <root-dir>/images)");
}

// The pod network and cluster DNS.
void addDnsFlags(CLI::App& app, RunFlags& flags, AgentConfig& c) {
  app.add_option("--cluster-cidr", c.cluster_cidr, "cluster pod network")->capture_default_str();
  app.add_option("--cluster-dns", flags.cluster_dns, "DNS server IPs for pods, comma separated");
  app.add_option("--cluster-domain", c.cluster_domain, "cluster DNS domain")->capture_default_str();
  app.add_option("--resolv-conf", c.resolv_conf,
                 "host resolver config for dnsPolicy Default and DNS forwarding")
      ->capture_default_str();
  app.add_option("--serve-cluster-dns", c.serve_cluster_dns,
                 "run the node-local cluster DNS server for --cluster-dns")
      ->capture_default_str();
  app.add_option("--cluster-dns-ttl", c.cluster_dns_ttl, "TTL of cluster DNS records, seconds")
      ->capture_default_str()
      ->check(CLI::Range(0, 3600));
}

// Static pods, the kubelet API and healthz, and the agent process.
void addServingFlags(CLI::App& app, AgentConfig& c) {
  app.add_option("--pod-manifest-path", c.pod_manifest_path, "directory of static pod manifests")
      ->capture_default_str();
  app.add_option("--port", c.port, "kubelet API port (HTTPS)")->capture_default_str();
  app.add_option("--address", c.address, "kubelet API bind address")->capture_default_str();
  app.add_option("--healthz-port", c.healthz_port, "healthz port (0 disables)")
      ->capture_default_str();
  app.add_option("--healthz-bind-address", c.healthz_bind_address, "healthz bind address")
      ->capture_default_str();
  app.add_option("--tls-cert-file", c.tls_cert_file, "serving certificate for the kubelet API");
  app.add_option("--tls-private-key-file", c.tls_private_key_file, "key for --tls-cert-file");
  app.add_option("--client-ca-file", c.client_ca_file,
                 "CA that signs client certificates allowed on the kubelet API");
  app.add_option("--oom-score-adj", c.oom_score_adj,
                 "the oom_score_adj of the agent process, in [-1000, 1000]")
      ->check(CLI::Range(-1000, 1000))
      ->capture_default_str();
}

// The service proxy.
void addProxyFlags(CLI::App& app, AgentConfig& c) {
  app.add_flag("!--no-proxy", c.run_proxy, "do not run the service proxy");
  app.add_option("--proxy-mode", c.proxy_mode,
                 "service proxy (and pod network rules) backend: iptables, nftables, ipvs or "
                 "auto (nftables unless the host uses iptables-legacy; ipvs falls back to "
                 "nftables when the kernel has no IPVS)")
      ->check(CLI::IsMember({"auto", "iptables", "nftables", "ipvs"}))
      ->capture_default_str();
  app.add_option("--ipvs-scheduler", c.ipvs_scheduler,
                 "IPVS scheduler of every virtual server in IPVS mode (rr, lc, dh, sh, ...)")
      ->capture_default_str();
  app.add_option("--nodeport-addresses", c.nodeport_addresses,
                 "CIDRs whose local addresses serve NodePorts (default: every local address)")
      ->delimiter(',');
  app.add_option_function<int>(
         "--sync-period", [&c](int s) { c.proxy_sync_period = std::chrono::seconds(s); },
         "seconds between full service proxy resyncs (default 30)")
      ->check(CLI::Range(1, 86400));
  app.add_option_function<int>(
         "--min-sync-period", [&c](int s) { c.proxy_min_sync_period = std::chrono::seconds(s); },
         "minimum seconds between service proxy syncs (default 1)")
      ->check(CLI::Range(0, 3600));
}

// --config: the file is the base; the flags the user typed win over it.
Result<void> layerFlagsOverConfigFile(const RunFlags& flags, const CLI::App& app,
                                      AgentConfig& cfg) {
  // The file is the base; re-apply the flags the user typed on top of it.
  AgentConfig from_file = cfg;
  if (auto r = applyConfigFile(flags.config_file, from_file); !r) return r.error();
  auto given = [&](const char* name) { return app.count(name) > 0; };
  if (!given("--max-pods")) cfg.max_pods = from_file.max_pods;
  if (!given("--port")) cfg.port = from_file.port;
  if (!given("--address")) cfg.address = from_file.address;
  if (!given("--healthz-port")) cfg.healthz_port = from_file.healthz_port;
  if (!given("--healthz-bind-address")) cfg.healthz_bind_address = from_file.healthz_bind_address;
  if (!given("--pod-manifest-path")) cfg.pod_manifest_path = from_file.pod_manifest_path;
  if (!given("--image-import-dir")) cfg.image_import_dir = from_file.image_import_dir;
  if (!given("--cluster-domain")) cfg.cluster_domain = from_file.cluster_domain;
  if (!given("--resolv-conf")) cfg.resolv_conf = from_file.resolv_conf;
  if (!given("--tls-cert-file")) cfg.tls_cert_file = from_file.tls_cert_file;
  if (!given("--tls-private-key-file")) cfg.tls_private_key_file = from_file.tls_private_key_file;
  if (!given("--client-ca-file")) cfg.client_ca_file = from_file.client_ca_file;
  if (!given("--proxy-mode")) cfg.proxy_mode = from_file.proxy_mode;
  if (!given("--ipvs-scheduler")) cfg.ipvs_scheduler = from_file.ipvs_scheduler;
  if (!given("--nodeport-addresses")) cfg.nodeport_addresses = from_file.nodeport_addresses;
  cfg.kube_reserved = from_file.kube_reserved;
  cfg.system_reserved = from_file.system_reserved;
  cfg.eviction_hard = from_file.eviction_hard;
  cfg.eviction_soft = from_file.eviction_soft;
  cfg.eviction_soft_grace_period = from_file.eviction_soft_grace_period;
  cfg.eviction_minimum_reclaim = from_file.eviction_minimum_reclaim;
  if (!given("--image-gc-high-threshold"))
    cfg.image_gc.high_threshold_percent = from_file.image_gc.high_threshold_percent;
  if (!given("--image-gc-low-threshold"))
    cfg.image_gc.low_threshold_percent = from_file.image_gc.low_threshold_percent;
  cfg.image_gc.min_age = from_file.image_gc.min_age;
  if (!given("--eviction-max-pod-grace-period")) {
    cfg.eviction_max_pod_grace_period = from_file.eviction_max_pod_grace_period;
  }
  cfg.eviction_pressure_transition_period = from_file.eviction_pressure_transition_period;
  cfg.cluster_dns = from_file.cluster_dns;
  cfg.node_lease_duration_seconds = from_file.node_lease_duration_seconds;
  return {};
}

// --kube-reserved / --system-reserved: the key=value list, each value a valid quantity.
Result<std::map<std::string, std::string>> reservedFlag(const std::string& text, const char* flag) {
  SKIFF_ASSIGN_OR_RETURN(auto list, parseKeyValueList(text, flag));
  SKIFF_TRY(hostinfo::parseReservedMap(list, flag));
  return list;
}

// Node labels, taints and reserved resources given as flags.
Result<void> applyNodeFlags(const RunFlags& flags, AgentConfig& cfg) {
  if (!flags.node_labels.empty()) {
    auto l = parseKeyValueList(flags.node_labels, "--node-labels");
    if (!l) return l.error();
    if (auto v = validateNodeLabels(*l); !v) return v.error();
    cfg.node_labels = *l;
  }
  if (!flags.taints.empty()) {
    SKIFF_ASSIGN_OR_RETURN(cfg.register_with_taints, parseTaints(flags.taints));
  }
  if (!flags.kube_reserved.empty()) {
    SKIFF_ASSIGN_OR_RETURN(cfg.kube_reserved, reservedFlag(flags.kube_reserved, "--kube-reserved"));
  }
  if (!flags.system_reserved.empty()) {
    SKIFF_ASSIGN_OR_RETURN(cfg.system_reserved,
                           reservedFlag(flags.system_reserved, "--system-reserved"));
  }
  return {};
}

// Eviction and image GC flags, then the whole eviction configuration is validated.
Result<void> applyEvictionFlags(const RunFlags& flags, const CLI::App& app, AgentConfig& cfg) {
  if (!flags.eviction_hard.empty()) {
    SKIFF_ASSIGN_OR_RETURN(cfg.eviction_hard, parseEvictionThresholds(flags.eviction_hard));
  }
  if (app.count("--eviction-max-pod-grace-period") > 0) {
    cfg.eviction_max_pod_grace_period = std::chrono::seconds(flags.eviction_max_pod_grace);
  }
  if (!flags.eviction_soft.empty()) {
    SKIFF_ASSIGN_OR_RETURN(cfg.eviction_soft,
                           parseEvictionThresholds(flags.eviction_soft, "--eviction-soft"));
  }
  if (!flags.eviction_soft_grace.empty()) {
    SKIFF_ASSIGN_OR_RETURN(
        cfg.eviction_soft_grace_period,
        parseKeyValueList(flags.eviction_soft_grace, "--eviction-soft-grace-period"));
  }
  if (!flags.eviction_min_reclaim.empty()) {
    SKIFF_ASSIGN_OR_RETURN(
        cfg.eviction_minimum_reclaim,
        parseKeyValueList(flags.eviction_min_reclaim, "--eviction-minimum-reclaim"));
  }
  if (!flags.image_min_age.empty()) {
    SKIFF_ASSIGN_OR_RETURN(cfg.image_gc.min_age,
                           parseGoDuration(flags.image_min_age, "--minimum-image-ttl-duration"));
  }
  if (auto v = validateImageGcPolicy(cfg.image_gc); !v) return v.error();
  // The whole eviction configuration is checked before anything starts.
  if (auto t =
          parseEvictionSettings({cfg.eviction_hard, cfg.eviction_soft,
                                 cfg.eviction_soft_grace_period, cfg.eviction_minimum_reclaim});
      !t) {
    return t.error();
  }
  if (!flags.eviction_transition.empty()) {
    SKIFF_ASSIGN_OR_RETURN(
        cfg.eviction_pressure_transition_period,
        parseGoDuration(flags.eviction_transition, "--eviction-pressure-transition-period"));
  }
  return {};
}

// --cluster-dns: comma-separated server IPs.
void applyClusterDnsFlag(const RunFlags& flags, AgentConfig& cfg) {
  if (!flags.cluster_dns.empty()) cfg.cluster_dns = splitList(flags.cluster_dns);
}

// The run step: the flags (and --config) become the AgentConfig the agent runs with.
int runFromFlags(const RunFlags& flags, const CLI::App& app) {
  AgentConfig cfg = flags.cfg;
  auto fail = [](const Error& e) {
    std::fprintf(stderr, "skiff-agent: %s\n", e.message().c_str());
    return 1;
  };
  if (!flags.config_file.empty()) {
    if (auto r = layerFlagsOverConfigFile(flags, app, cfg); !r) return fail(r.error());
  }
  if (auto r = applyNodeFlags(flags, cfg); !r) return fail(r.error());
  if (auto r = applyEvictionFlags(flags, app, cfg); !r) return fail(r.error());
  applyClusterDnsFlag(flags, cfg);
  if (cfg.max_pods <= 0) {
    std::fprintf(stderr, "skiff-agent: --max-pods must be greater than 0\n");
    return 1;
  }
  skiff::log::setup(cfg.log_level);
  return runAgent(cfg);
}

Added addRun(CLI::App& app) {
  auto flags = std::make_shared<RunFlags>();
  AgentConfig& c = flags->cfg;
  addJoinFlags(app, *flags, c);
  addNodeFlags(app, *flags, c);
  addResourceFlags(app, *flags, c);
  addRuntimeFlags(app, c);
  addDnsFlags(app, *flags, c);
  addServingFlags(app, c);
  addProxyFlags(app, c);
  app.add_option("--log-level", c.log_level, "trace, debug, info, warn, error")
      ->capture_default_str();

  auto run = [flags, &app]() -> int { return runFromFlags(*flags, app); };
  return Added{nullptr, run};
}

const Registration reg("run", &addRun);

}  // namespace
}  // namespace skiff::agent::cmd
