#pragma once

// skiff-agent's settings: flags (kubelet's names), a KubeletConfiguration-style file (--config,
// YAML or JSON, kubelet.config.k8s.io/v1beta1 field names) and kubelet's defaults
// (reference/kubelet-and-anchors.md §4). As with kubelet, a flag given on the command line
// overrides the file.

#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "skiff/agent/container_runtime.h"
#include "skiff/common/result.h"

namespace skiff::agent {

struct AgentConfig {
  // Joining and credentials.
  std::string server;        // --server https://HOST:6443 (join)
  std::string token;         // --token <id>.<secret> (bootstrap token, join only)
  std::string ca_cert_hash;  // --ca-cert-hash sha256:<hex>
  std::string kubeconfig;    // --kubeconfig; default <root-dir>/kubelet.kubeconfig

  // Node identity.
  std::string hostname_override;
  std::string node_ip;
  std::map<std::string, std::string> node_labels;
  std::vector<nlohmann::json> register_with_taints;  // v1.Taint objects

  // Resources.
  int max_pods = 110;
  std::map<std::string, std::string> kube_reserved;  // cpu=100m,memory=256Mi
  std::map<std::string, std::string> system_reserved;
  // signal -> threshold ("100Mi", "10%"); kubelet's Linux defaults unless set.
  std::map<std::string, std::string> eviction_hard = {{"memory.available", "100Mi"},
                                                      {"nodefs.available", "10%"},
                                                      {"imagefs.available", "15%"},
                                                      {"nodefs.inodesFree", "5%"}};
  // Soft thresholds act only after holding for their grace period (signal -> Go duration); no
  // defaults, as in the kubelet.
  std::map<std::string, std::string> eviction_soft;
  std::map<std::string, std::string> eviction_soft_grace_period;
  // After acting on a threshold, how much beyond it the signal must recover (signal -> amount).
  std::map<std::string, std::string> eviction_minimum_reclaim;
  // The longest grace period a soft eviction gives a pod (capped by the pod's own).
  std::chrono::seconds eviction_max_pod_grace_period{0};
  // Image GC (imageGCHighThresholdPercent 85, imageGCLowThresholdPercent 80, imageMinimumGCAge 2m).
  ImageGcPolicy image_gc;
  // How long a pressure condition stays after its threshold was last crossed (kubelet: 5m).
  std::chrono::seconds eviction_pressure_transition_period{300};
  // How often the eviction manager observes the node (kubelet's housekeeping, 10 s).
  std::chrono::seconds eviction_monitoring_interval{10};

  // Paths, runtime and network.
  std::string root_dir = "/var/lib/skiff/agent";
  std::string runtime = "native";  // native | runc
  std::string runtime_root = "/var/lib/skiff/runtime";
  std::string pod_log_dir = "/var/log/pods";
  // Where local-path PersistentVolumes of this node are (k3s: /var/lib/rancher/k3s/storage).
  std::string storage_root = "/var/lib/skiff/storage";
  // Parent of kubepods in each cgroup hierarchy (tests use a throwaway one); empty = top.
  std::string runtime_cgroup_parent;
  // Image archives imported at start when their images are missing (the bundled busybox).
  std::vector<std::string> preload_images = {"/usr/share/skiff/images/busybox-oci.tar"};
  // The air-gap directory (k3s' agent/images): every *.tar, *.tar.gz, *.tar.zst archive in it is
  // imported at start and whenever one appears or changes. Empty: <root_dir>/images.
  std::string image_import_dir;
  std::string cluster_cidr = "10.244.0.0/16";
  std::string pod_manifest_path = "/etc/skiff/manifests";
  // kube-system/kube-dns's ClusterIP, which skiff-master creates (issue 18).
  std::vector<std::string> cluster_dns = {"10.96.0.10"};
  std::string cluster_domain = "cluster.local";
  // kubelet --resolv-conf: host DNS settings for dnsPolicy Default and the DNS forwarder.
  std::string resolv_conf = "/etc/resolv.conf";
  // The node-local cluster DNS server (agent/src/dns) and its record TTL in seconds.
  bool serve_cluster_dns = true;
  int cluster_dns_ttl = 30;

  // Serving.
  int port = 10250;
  std::string address = "0.0.0.0";
  int healthz_port = 10248;
  std::string healthz_bind_address = "127.0.0.1";
  std::string tls_cert_file;
  std::string tls_private_key_file;
  std::string client_ca_file;

  // Loops (kubelet defaults).
  std::chrono::seconds node_status_update_frequency{10};
  std::chrono::seconds node_status_report_frequency{300};
  int node_lease_duration_seconds = 40;
  std::chrono::seconds sync_frequency{60};
  std::chrono::seconds file_check_frequency{20};
  std::chrono::seconds crash_loop_initial{10};
  std::chrono::seconds crash_loop_max{300};

  // The agent's own /proc/self/oom_score_adj (kubelet --oom-score-adj, default -999).
  int oom_score_adj = -999;

  bool run_proxy = true;
  // kube-proxy's --proxy-mode: iptables | nftables | ipvs | auto (nftables unless the host is
  // demonstrably iptables-legacy; ipvs falls back to nftables when the kernel has no IPVS).
  // Also the pod network's rules (nftables in IPVS mode).
  std::string proxy_mode = "auto";
  // kube-proxy's --ipvs-scheduler (IPVS mode): rr, lc, sh, ...
  std::string ipvs_scheduler = "rr";
  // kube-proxy's --nodeport-addresses (CIDRs); empty: every local address.
  std::vector<std::string> nodeport_addresses;
  // kube-proxy's --sync-period (full resync) and --min-sync-period.
  std::chrono::seconds proxy_sync_period{30};
  std::chrono::seconds proxy_min_sync_period{1};
  std::string log_level = "info";

  std::string kubeconfigPath() const {
    return kubeconfig.empty() ? root_dir + "/kubelet.kubeconfig" : kubeconfig;
  }
};

// "a=b,c=d" -> {a:b, c:d}; empty input is an empty map; a term without '=' is an error.
Result<std::map<std::string, std::string>> parseKeyValueList(const std::string& text,
                                                             const std::string& flag);
// --eviction-hard "memory.available<100Mi,nodefs.available<10%" as the kubelet's signal -> value
// map, checked by hostinfo's parser (the one the node's allocatable is computed with).
Result<std::map<std::string, std::string>> parseEvictionThresholds(
    const std::string& text, const std::string& flag = "--eviction-hard");
// Go duration ("5m0s", "30s", "1h30m", "1.5s" rounds down) as whole seconds; >= 0.
Result<std::chrono::seconds> parseGoDuration(const std::string& text, const std::string& what);
// --register-with-taints "key=value:NoSchedule,key2:NoExecute".
Result<std::vector<nlohmann::json>> parseTaints(const std::string& text);
// Node labels a kubelet may not set on itself (kubelet's NodeRestriction rules) are refused:
// only kubernetes.io/ and k8s.io/ labels in the allowed set, anything else user-defined.
Result<void> validateNodeLabels(const std::map<std::string, std::string>& labels);

// Fills `cfg` from a KubeletConfiguration document; only fields the user set in the file are
// applied, so the caller applies command-line flags afterwards.
Result<void> applyConfigFile(const std::string& path, AgentConfig& cfg);
Result<void> applyKubeletConfiguration(const nlohmann::json& doc, AgentConfig& cfg);

}  // namespace skiff::agent
