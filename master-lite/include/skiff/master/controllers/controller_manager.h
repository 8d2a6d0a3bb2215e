#pragma once

// Runs the scheduler and every controller in process, each through the client of its own
// identity (ControllerOptions::client_for) or all through one ApiClient, sharing one set of
// informers. start() lists every watched
// resource before the workers begin; stop() stops workers first, then informers, and returns
// when no controller thread is left.

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "skiff/master/client/api_client.h"
#include "skiff/master/informer/clock.h"

namespace skiff::master {

struct ControllerOptions {
  std::string cluster_cidr = "10.244.0.0/16";  // --cluster-cidr
  int node_cidr_mask_size = 24;                // --node-cidr-mask-size
  bool allocate_node_cidrs = true;
  Duration node_monitor_period = std::chrono::seconds(5);
  Duration node_monitor_grace_period = std::chrono::seconds(50);
  int terminated_pod_gc_threshold = 12500;
  Duration pod_gc_period = std::chrono::seconds(20);
  // Workers per controller (kube-controller-manager's --concurrent-*-syncs defaults: 5 for
  // deployments/replicasets, 2 for daemonsets...; one is plenty for a small cluster).
  int concurrent_syncs = 2;
  bool run_scheduler = true;
  // false: the scheduler alone (it holds its own leader election lease, kube-scheduler).
  bool run_controllers = true;
  // PEM of the cluster CA; "" = no kube-root-ca.crt ConfigMaps are published.
  std::string root_ca_pem;
  std::shared_ptr<Clock> clock;  // null: the real clock
  // The client an identity acts through, as kube-controller-manager with
  // --use-service-account-credentials: each controller gets one for its ServiceAccount
  // kube-system/<name> (replicaset-controller, node-controller...), the shared informers one for
  // "kube-controller-manager", the scheduler one for "kube-scheduler". Null: everything uses
  // the client given to newControllerManager.
  std::function<std::unique_ptr<ApiClient>(const std::string& identity)> client_for;
};

class ControllerManager {
 public:
  virtual ~ControllerManager() = default;
  virtual Result<void> start() = 0;
  virtual void stop() = 0;
};

// Fails on invalid options (a bad cluster CIDR...).
Result<std::unique_ptr<ControllerManager>> newControllerManager(ApiClient& client,
                                                                ControllerOptions options);

}  // namespace skiff::master
