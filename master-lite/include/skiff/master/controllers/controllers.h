#pragma once

// Factories for the individual controllers (kube-controller-manager's, in process). Each one
// takes the API client, a clock and its options; ControllerManager wires them all together.
// A controller with no options of its own is made by a ControllerFactory, which its file
// defines as makeController<ItsClass>.

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "skiff/master/client/api_client.h"
#include "skiff/master/controllers/controller.h"

namespace skiff::master {

using ControllerFactory = std::unique_ptr<Controller> (*)(ApiClient& client,
                                                          std::shared_ptr<Clock> clock);

// The ControllerFactory of C, constructed as C(client, clock).
template <typename C>
std::unique_ptr<Controller> makeController(ApiClient& client, std::shared_ptr<Clock> clock) {
  return std::make_unique<C>(client, std::move(clock));
}

// ReplicaSet (apps/v1) or, with replication_controller, ReplicationController (v1).
std::unique_ptr<Controller> newReplicaSetController(ApiClient& client, std::shared_ptr<Clock> clock,
                                                    bool replication_controller = false);
extern const ControllerFactory newDeploymentController;
extern const ControllerFactory newDaemonSetController;
extern const ControllerFactory newStatefulSetController;
// Finished Jobs past spec.ttlSecondsAfterFinished are deleted through `ttl_client` (the
// ttl-after-finished-controller's identity; null: `client`).
std::unique_ptr<Controller> newJobController(ApiClient& client, std::shared_ptr<Clock> clock,
                                             ApiClient* ttl_client = nullptr);
extern const ControllerFactory newCronJobController;
// Endpoints and EndpointSlices for Services with selectors.
extern const ControllerFactory newEndpointsController;
extern const ControllerFactory newEndpointSliceController;
extern const ControllerFactory newNamespaceController;
extern const ControllerFactory newServiceAccountController;
// Publishes the ConfigMap kube-root-ca.crt (data ca.crt = `ca_pem`) in every namespace.
std::unique_ptr<Controller> newRootCaPublisher(ApiClient& client, std::shared_ptr<Clock> clock,
                                               std::string ca_pem);
// ClusterRoles with an aggregationRule get the rules of the ClusterRoles their selectors match.
extern const ControllerFactory newClusterRoleAggregationController;
extern const ControllerFactory newGarbageCollector;

struct NodeIpamOptions {
  std::string cluster_cidr = "10.244.0.0/16";
  int node_cidr_mask_size = 24;
};
// Fails on an invalid CIDR or mask.
Result<std::unique_ptr<Controller>> newNodeIpamController(ApiClient& client,
                                                          std::shared_ptr<Clock> clock,
                                                          const NodeIpamOptions& options);

struct NodeLifecycleOptions {
  Duration node_monitor_period = std::chrono::seconds(5);
  Duration node_monitor_grace_period = std::chrono::seconds(50);  // Kubernetes 1.32 default
};
std::unique_ptr<Controller> newNodeLifecycleController(ApiClient& client,
                                                       std::shared_ptr<Clock> clock,
                                                       NodeLifecycleOptions options);
// NoExecute taint manager: evicts pods that do not tolerate their node's NoExecute taints,
// after the smallest matching tolerationSeconds.
extern const ControllerFactory newTaintEvictionController;

struct PodGcOptions {
  int terminated_pod_gc_threshold = 12500;
  Duration period = std::chrono::seconds(20);
  Duration orphan_quarantine = std::chrono::seconds(40);
};
std::unique_ptr<Controller> newPodGcController(ApiClient& client, std::shared_ptr<Clock> clock,
                                               PodGcOptions options);

// Issue 22: the resource quota controller (status.hard/used) and the disruption controller
// (PodDisruptionBudget status).
extern const ControllerFactory newResourceQuotaController;
extern const ControllerFactory newDisruptionController;
// The horizontal pod autoscaler controller (15 s sync, metrics.k8s.io).
extern const ControllerFactory newHorizontalPodAutoscalerController;

// PersistentVolume binder, local-path provisioner and the pvc/pv-protection finalizers.
extern const ControllerFactory newPersistentVolumeController;
// Generic ephemeral volumes: the claim <pod>-<volume>, owned by the pod.
extern const ControllerFactory newEphemeralVolumeController;
// Volume expansion of bound claims whose class allows it (completes at once for local-path).
extern const ControllerFactory newVolumeExpandController;
}  // namespace skiff::master
