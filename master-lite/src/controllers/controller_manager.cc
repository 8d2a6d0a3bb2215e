#include "skiff/master/controllers/controller_manager.h"

#include <vector>

#include "skiff/common/log.h"
#include "skiff/master/controllers/controllers.h"
#include "skiff/master/informer/shared_informers.h"
#include "skiff/master/scheduler/scheduler.h"

namespace skiff::master {

namespace {

class ControllerManagerImpl : public ControllerManager {
 public:
  ControllerManagerImpl(ApiClient& client, ControllerOptions opts)
      : client_(client),
        opts_(std::move(opts)),
        informer_client_(opts_.client_for ? opts_.client_for("kube-controller-manager") : nullptr),
        informers_(informer_client_ ? *informer_client_ : client) {
    if (!opts_.clock) opts_.clock = realClock();
  }
  ~ControllerManagerImpl() override { stop(); }

  Result<void> init() {
    auto clock = opts_.clock;
    if (opts_.run_controllers) SKIFF_TRY(addControllers());
    if (opts_.run_scheduler) {
      SchedulerOptions so;
      so.clock = clock;
      scheduler_ = newScheduler(as("kube-scheduler"), so);
    }
    return {};
  }

  Result<void> addControllers() {
    auto clock = opts_.clock;
    add(newReplicaSetController(as("replicaset-controller"), clock), opts_.concurrent_syncs);
    add(newReplicaSetController(as("replication-controller"), clock, true), 1);
    // One worker: see DeploymentController.
    add(newDeploymentController(as("deployment-controller"), clock), 1);
    add(newDaemonSetController(as("daemon-set-controller"), clock), 1);
    add(newStatefulSetController(as("statefulset-controller"), clock), 1);
    add(newJobController(as("job-controller"), clock, &as("ttl-after-finished-controller")),
        opts_.concurrent_syncs);
    add(newCronJobController(as("cronjob-controller"), clock), 1);
    add(newEndpointsController(as("endpoint-controller"), clock), opts_.concurrent_syncs);
    add(newEndpointSliceController(as("endpointslice-controller"), clock), 1);
    add(newNamespaceController(as("namespace-controller"), clock), 1);
    add(newServiceAccountController(as("service-account-controller"), clock), 1);
    if (!opts_.root_ca_pem.empty())
      add(newRootCaPublisher(as("root-ca-cert-publisher"), clock, opts_.root_ca_pem), 1);
    add(newClusterRoleAggregationController(as("clusterrole-aggregation-controller"), clock), 1);
    add(newGarbageCollector(as("generic-garbage-collector"), clock), opts_.concurrent_syncs);
    ApiClient& node_controller = as("node-controller");  // node lifecycle and IPAM, as upstream
    if (opts_.allocate_node_cidrs) {
      NodeIpamOptions ipam;
      ipam.cluster_cidr = opts_.cluster_cidr;
      ipam.node_cidr_mask_size = opts_.node_cidr_mask_size;
      SKIFF_ASSIGN_OR_RETURN(auto c, newNodeIpamController(node_controller, clock, ipam));
      add(std::move(c), 1);
    }
    NodeLifecycleOptions nl;
    nl.node_monitor_period = opts_.node_monitor_period;
    nl.node_monitor_grace_period = opts_.node_monitor_grace_period;
    add(newNodeLifecycleController(node_controller, clock, nl), 1);
    // Under node-controller's role, as upstream ("taint-manager uses existing cluster role from
    // node-controller"); its events still say taint-eviction-controller.
    add(newTaintEvictionController(node_controller, clock), 1);
    PodGcOptions gc;
    gc.terminated_pod_gc_threshold = opts_.terminated_pod_gc_threshold;
    gc.period = opts_.pod_gc_period;
    add(newPodGcController(as("pod-garbage-collector"), clock, gc), 1);
    add(newResourceQuotaController(as("resourcequota-controller"), clock), 1);
    add(newDisruptionController(as("disruption-controller"), clock), 1);
    add(newHorizontalPodAutoscalerController(as("horizontal-pod-autoscaler"), clock), 1);
    add(newPersistentVolumeController(as("persistent-volume-binder"), clock), 1);
    add(newEphemeralVolumeController(as("ephemeral-volume-controller"), clock), 1);
    add(newVolumeExpandController(as("expand-controller"), clock), 1);
    for (auto& [c, n] : controllers_) c->registerHandlers(informers_);
    return {};
  }

  Result<void> start() override {
    SKIFF_TRY(informers_.start(true));
    for (auto& [c, n] : controllers_) c->run(n);
    if (scheduler_) SKIFF_TRY(scheduler_->start(true));
    auto lg = log::get("master");
    SKIFF_LOG_INFO(lg, "Controllers started", log::kv("controllers", controllers_.size()));
    return {};
  }

  void stop() override {
    if (scheduler_) scheduler_->stop();
    for (auto& [c, n] : controllers_) c->stop();
    informers_.stop();
  }

 private:
  // The client `identity` acts through (see ControllerOptions::client_for).
  ApiClient& as(const std::string& identity) {
    if (!opts_.client_for) return client_;
    clients_.push_back(opts_.client_for(identity));
    return *clients_.back();
  }

  void add(std::unique_ptr<Controller> c, int workers) {
    controllers_.emplace_back(std::move(c), workers < 1 ? 1 : workers);
  }

  ApiClient& client_;
  ControllerOptions opts_;
  // Declared before what uses them: destroyed after the informers, controllers and scheduler.
  std::vector<std::unique_ptr<ApiClient>> clients_;
  std::unique_ptr<ApiClient> informer_client_;
  SharedInformers informers_;
  std::vector<std::pair<std::unique_ptr<Controller>, int>> controllers_;
  std::unique_ptr<Scheduler> scheduler_;
};

}  // namespace

Result<std::unique_ptr<ControllerManager>> newControllerManager(ApiClient& client,
                                                                ControllerOptions options) {
  auto m = std::make_unique<ControllerManagerImpl>(client, std::move(options));
  SKIFF_TRY(m->init());
  return std::unique_ptr<ControllerManager>(std::move(m));
}

}  // namespace skiff::master
