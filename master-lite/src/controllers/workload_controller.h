#pragma once

// The base of the controllers that reconcile one workload kind and own what they create
// (DaemonSet, StatefulSet and Job: pods; CronJob: Jobs).

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "skiff/master/controllers/controller.h"
#include "skiff/master/informer/meta.h"
#include "skiff/master/informer/options.h"
#include "util.h"

namespace skiff::master {

// Queues the key of every added or updated object of `resource`, and the key of the
// controlling owner (of kind `kind`) of every changed `owned` object. sync(key) reads the
// object through the API (ctl::liveObject) and hands it to syncLive; there is nothing to do
// when it is gone or being deleted. Events are reported as "<name>-controller".
class WorkloadController : public RecordingController {
 public:
  void registerHandlers(SharedInformers& inf) override {
    objects_ = &enqueueAddedAndUpdated(inf, resource_);
    enqueueControllerOf(inf, owned_, kind_);
  }

  Result<void> sync(const std::string& key) final {
    SKIFF_ASSIGN_OR_RETURN(std::optional<json> live,
                           ctl::liveObject(client_, resource_, key, kind_));
    if (!live) return {};
    return syncLive(std::move(*live));
  }

 protected:
  WorkloadController(const std::string& name, ApiClient& client, std::shared_ptr<Clock> clock,
                     GroupVersionResource resource, std::string kind,
                     GroupVersionResource owned = gvr::kPods)
      : RecordingController(name, client, std::move(clock), name + "-controller"),
        resource_(std::move(resource)),
        kind_(std::move(kind)),
        owned_(std::move(owned)) {}

  // Reconciles the object as read (its kind set).
  virtual Result<void> syncLive(json obj) = 0;

  // Creates `pod` in the namespace of `owner` and reports it on the owner as upstream's pod
  // control does ("Created pod: <name>", or FailedCreate with the error).
  Result<void> createPodFor(const json& owner, const json& pod) {
    auto r = client_.create(gvr::kPods, meta::ns(owner), pod);
    if (!r) {
      recorder_.event(owner, "Warning", "FailedCreate", "Error creating: " + r.error().message());
      return std::move(r).error();
    }
    recorder_.event(owner, "Normal", "SuccessfulCreate", "Created pod: " + meta::name(*r));
    return {};
  }
  // Deletes `pod`, that one (its uid) only; already gone is no error.
  Result<void> removePod(const json& pod) {
    return ctl::ignoreNotFound(
        client_.remove(gvr::kPods, meta::ns(pod), meta::name(pod), opts::withUid(meta::uid(pod))));
  }

  Informer* objects_ = nullptr;  // of `resource`, once the handlers are registered

 private:
  GroupVersionResource resource_;
  std::string kind_;
  GroupVersionResource owned_;
};

}  // namespace skiff::master
