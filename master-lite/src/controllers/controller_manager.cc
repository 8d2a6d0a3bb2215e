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
      : client_(client), opts_(std::move(opts)), informers_(client) {
    if (!opts_.clock) opts_.clock = realClock();
  }
  ~ControllerManagerImpl() override { stop(); }

  Result<void> init() {
    auto clock = opts_.clock;
    if (opts_.run_controllers) SKIFF_TRY(addControllers());
    if (opts_.run_scheduler) {
      SchedulerOptions so;
      so.clock = clock;
      scheduler_ = newScheduler(client_, so);
    }
    return {};
  }

  Result<void> addControllers() {
    auto clock = opts_.clock;
    add(newReplicaSetController(client_, clock), opts_.concurrent_syncs);
    add(newReplicaSetController(client_, clock, true), 1);
    add(newDeploymentController(client_, clock), 1);  // one worker: see DeploymentController
    add(newDaemonSetController(client_, clock), 1);
    add(newStatefulSetController(client_, clock), 1);
    add(newJobController(client_, clock), opts_.concurrent_syncs);
    add(newCronJobController(client_, clock), 1);
    add(newEndpointsController(client_, clock), opts_.concurrent_syncs);
    add(newEndpointSliceController(client_, clock), 1);
    add(newNamespaceController(client_, clock), 1);
    add(newServiceAccountController(client_, clock), 1);
    if (!opts_.root_ca_pem.empty()) add(newRootCaPublisher(client_, clock, opts_.root_ca_pem), 1);
    add(newClusterRoleAggregationController(client_, clock), 1);
    add(newGarbageCollector(client_, clock), opts_.concurrent_syncs);
    if (opts_.allocate_node_cidrs) {
      NodeIpamOptions ipam;
      ipam.cluster_cidr = opts_.cluster_cidr;
      ipam.node_cidr_mask_size = opts_.node_cidr_mask_size;
      SKIFF_ASSIGN_OR_RETURN(auto c, newNodeIpamController(client_, clock, ipam));
      add(std::move(c), 1);
    }
    NodeLifecycleOptions nl;
    nl.node_monitor_period = opts_.node_monitor_period;
    nl.node_monitor_grace_period = opts_.node_monitor_grace_period;
    add(newNodeLifecycleController(client_, clock, nl), 1);
    add(newTaintEvictionController(client_, clock), 1);
    PodGcOptions gc;
    gc.terminated_pod_gc_threshold = opts_.terminated_pod_gc_threshold;
    gc.period = opts_.pod_gc_period;
    add(newPodGcController(client_, clock, gc), 1);
    add(newResourceQuotaController(client_, clock), 1);
    add(newDisruptionController(client_, clock), 1);
    add(newHorizontalPodAutoscalerController(client_, clock), 1);
    add(newPersistentVolumeController(client_, clock), 1);
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
  void add(std::unique_ptr<Controller> c, int workers) {
    controllers_.emplace_back(std::move(c), workers < 1 ? 1 : workers);
  }

  ApiClient& client_;
  ControllerOptions opts_;
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
