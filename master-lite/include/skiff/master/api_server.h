#pragma once

// skiff-master's API server, assembled: store (SQLite), registry, authentication, HTTPS, PKI and
// the admin kubeconfig. client() is the in-process ApiClient of the API server's own work
// (system:apiserver); clientFor() the one a controller or the scheduler acts through.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "skiff/common/result.h"
#include "skiff/master/client/api_client.h"

namespace skiff::master {

struct ApiServerOptions {
  std::string data_dir = "/var/lib/skiff/master";
  std::string kubeconfig_out = "/etc/skiff/admin.kubeconfig";
  std::string bind_address = "0.0.0.0";
  int secure_port = 6443;
  std::string advertise_address;  // "" = first non-loopback IPv4 of this host (or 127.0.0.1)
  std::string service_cluster_ip_range = "10.96.0.0/12";
  std::string service_node_port_range = "30000-32767";
  std::string token_auth_file;
  // --anonymous-auth (kube-apiserver's default true): a request without credentials is
  // system:anonymous (group system:unauthenticated) and authorized like any other, which the
  // bootstrap RBAC policy allows only the public-info paths (/healthz, /version, ...): 403
  // elsewhere. false: every such request is 401.
  bool anonymous_auth = true;
  // --authorization-mode: comma-separated authorizers in order (Node, RBAC, AlwaysAllow,
  // AlwaysDeny), as kube-apiserver's flag.
  std::string authorization_mode = "Node,RBAC";
  std::int64_t not_ready_toleration_seconds = 300;  // DefaultTolerationSeconds admission
  std::int64_t unreachable_toleration_seconds = 300;
  std::int64_t store_retain_revisions = 10000;
  // --storage: "sqlite" (<data-dir>/store.db) or "etcd" (kube-apiserver's --etcd-* flags).
  std::string storage = "sqlite";
  std::vector<std::string> etcd_servers;
  std::string etcd_prefix = "/registry";
  std::string etcd_cafile, etcd_certfile, etcd_keyfile;
  // --etcd-transport: "grpc" or "gateway" (etcd's JSON gateway); empty = the store's default.
  std::string etcd_transport;
  std::chrono::milliseconds etcd_compaction_interval{std::chrono::minutes(5)};
  // false: SQLite WAL with synchronous=NORMAL: an acknowledged write survives kill -9 of the
  // process (it is in the WAL file), not a power loss. true: synchronous=FULL (fsync per write).
  bool store_fsync = false;
  int threads = 4;
  // AdmissionConfiguration file (the PodSecurity plugin's defaults and exemptions); "" =
  // everything privileged, nothing exempt.
  std::string admission_control_config_file;
  // Audit log (kube-apiserver's --audit-* flags); no log without a path. "-" = stdout.
  std::string audit_policy_file;
  std::string audit_log_path;
  int audit_log_maxsize = 0;    // MB before rotation (0 = 100, lumberjack's default)
  int audit_log_maxbackup = 0;  // rotated files kept (0 = all)
  int audit_log_maxage = 0;     // days rotated files are kept (0 = forever)
};

class ApiServer {
 public:
  virtual ~ApiServer() = default;
  // system:masters, same path as HTTP (validation, defaulting, admission, store, watch).
  virtual ApiClient& client() = 0;
  // A client acting as a component's identity (api::componentIdentity: "kube-scheduler",
  // "kube-controller-manager" or a controller's ServiceAccount name), authorized as HTTP
  // requests are. Valid while the server is.
  virtual std::unique_ptr<ApiClient> clientFor(const std::string& identity) = 0;
  virtual int port() const = 0;
  virtual const std::string& advertiseAddress() const = 0;
  // PEM of the cluster CA (published to pods as the kube-root-ca.crt ConfigMap).
  virtual const std::string& rootCaPem() const = 0;
  virtual void stop() = 0;
};

Result<std::unique_ptr<ApiServer>> startApiServer(const ApiServerOptions& options);

// Runs namespace finalization (delete every namespaced object, then drop the `kubernetes`
// finalizer) for Terminating namespaces. The namespace controller proper belongs to the
// controller manager; this keeps `kubectl delete ns` working when it is not running.
class NamespaceFinalizer {
 public:
  virtual ~NamespaceFinalizer() = default;
  virtual void stop() = 0;
};
std::unique_ptr<NamespaceFinalizer> startNamespaceFinalizer(ApiClient& client);

}  // namespace skiff::master
