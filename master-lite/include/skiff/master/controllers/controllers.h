#pragma once

// Factories for the individual controllers (kube-controller-manager's, in process). Each one
// takes the API client, a clock and its options; ControllerManager wires them all together.

#include <cstdint>
#include <memory>
#include <string>

#include "skiff/master/client/api_client.h"
#include "skiff/master/controllers/controller.h"

namespace skiff::master {

// ReplicaSet (apps/v1) or, with replication_controller, ReplicationController (v1).
std::unique_ptr<Controller> newReplicaSetController(ApiClient& client, std::shared_ptr<Clock> clock,
                                                    bool replication_controller = false);
std::unique_ptr<Controller> newDeploymentController(ApiClient& client,
                                                    std::shared_ptr<Clock> clock);
std::unique_ptr<Controller> newDaemonSetController(ApiClient& client, std::shared_ptr<Clock> clock);
std::unique_ptr<Controller> newStatefulSetController(ApiClient& client,
                                                     std::shared_ptr<Clock> clock);
// Finished Jobs past spec.ttlSecondsAfterFinished are deleted through `ttl_client` (the
// ttl-after-finished-controller's identity; null: `client`).
std::unique_ptr<Controller> newJobController(ApiClient& client, std::shared_ptr<Clock> clock,
                                             ApiClient* ttl_client = nullptr);
std::unique_ptr<Controller> newCronJobController(ApiClient& client, std::shared_ptr<Clock> clock);
// Endpoints and EndpointSlices for Services with selectors.
std::unique_ptr<Controller> newEndpointsController(ApiClient& client, std::shared_ptr<Clock> clock);
std::unique_ptr<Controller> newEndpointSliceController(ApiClient& client,
                                                       std::shared_ptr<Clock> clock);
std::unique_ptr<Controller> newNamespaceController(ApiClient& client, std::shared_ptr<Clock> clock);
std::unique_ptr<Controller> newServiceAccountController(ApiClient& client,
                                                        std::shared_ptr<Clock> clock);
// Publishes the ConfigMap kube-root-ca.crt (data ca.crt = `ca_pem`) in every namespace.
std::unique_ptr<Controller> newRootCaPublisher(ApiClient& client, std::shared_ptr<Clock> clock,
                                               std::string ca_pem);
// ClusterRoles with an aggregationRule get the rules of the ClusterRoles their selectors match.
std::unique_ptr<Controller> newClusterRoleAggregationController(ApiClient& client,
                                                                std::shared_ptr<Clock> clock);
std::unique_ptr<Controller> newGarbageCollector(ApiClient& client, std::shared_ptr<Clock> clock);

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
std::unique_ptr<Controller> newTaintEvictionController(ApiClient& client,
                                                       std::shared_ptr<Clock> clock);

struct PodGcOptions {
  int terminated_pod_gc_threshold = 12500;
  Duration period = std::chrono::seconds(20);
  Duration orphan_quarantine = std::chrono::seconds(40);
};
std::unique_ptr<Controller> newPodGcController(ApiClient& client, std::shared_ptr<Clock> clock,
                                               PodGcOptions options);

// Issue 22: the resource quota controller (status.hard/used) and the disruption controller
// (PodDisruptionBudget status).
std::unique_ptr<Controller> newResourceQuotaController(ApiClient& client,
                                                       std::shared_ptr<Clock> clock);
std::unique_ptr<Controller> newDisruptionController(ApiClient& client,
                                                    std::shared_ptr<Clock> clock);
// The horizontal pod autoscaler controller (15 s sync, metrics.k8s.io).
std::unique_ptr<Controller> newHorizontalPodAutoscalerController(ApiClient& client,
                                                                 std::shared_ptr<Clock> clock);

// PersistentVolume binder, local-path provisioner and the pvc/pv-protection finalizers.
std::unique_ptr<Controller> newPersistentVolumeController(ApiClient& client,
                                                          std::shared_ptr<Clock> clock);
// Generic ephemeral volumes: the claim <pod>-<volume>, owned by the pod.
std::unique_ptr<Controller> newEphemeralVolumeController(ApiClient& client,
                                                         std::shared_ptr<Clock> clock);
// Volume expansion of bound claims whose class allows it (completes at once for local-path).
std::unique_ptr<Controller> newVolumeExpandController(ApiClient& client,
                                                      std::shared_ptr<Clock> clock);
}  // namespace skiff::master
