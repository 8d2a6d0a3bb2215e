// Pods (pkg/registry/core/pod/strategy.go): admission defaults on create (ServiceAccount,
// priority, default tolerations), status starting Pending with the QoS class, and graceful
// deletion: a bound, running pod gets deletionTimestamp = now + grace and stays until the
// node's agent confirms it is gone (a second delete with grace 0).
#include <chrono>

#include "serviceaccount_admission.h"
#include "skiff/master/api/defaults.h"
#include "skiff/master/api/object_util.h"
#include "strategies.h"

namespace skiff::master::api {
namespace {

bool hasDeletionTimestamp(const json& obj) {
  const json& d = at(obj, {"metadata", "deletionTimestamp"});
  return d.is_string() && !d.get<std::string>().empty();
}

class PodStrategy : public Strategy {
 public:
  PodStrategy(DefaultingOptions defaulting, ServiceAccountLookup service_accounts)
      : defaulting_(defaulting), service_accounts_(std::move(service_accounts)) {}

  Result<void> admitCreate(const ResourceInfo&, json& obj, const WriteOptions&) override {
    if (service_accounts_) SKIFF_TRY(admitPodServiceAccount(obj, service_accounts_));
    admitNewPod(obj, defaulting_);
    json status = json::object();
    status["phase"] = "Pending";
    status["qosClass"] = podQosClass(obj.value("spec", json::object()));
    obj["status"] = status;
    return ok();
  }

  // The Priority admission plugin sets spec.priority and preemptionPolicy on create and keeps
  // them on an update that leaves them out (its Update branch); here, because this registry
  // validates an update before the mutating admission runs.
  void prepareForUpdate(const ResourceInfo& r, json& obj, const json& old) const override {
    Strategy::prepareForUpdate(r, obj, old);
    if (!obj.contains("spec") || !obj["spec"].is_object()) return;
    json& spec = obj["spec"];
    const json& was = at(old, {"spec"});
    for (const char* k : {"priority", "preemptionPolicy"}) {
      if ((!spec.contains(k) || spec[k].is_null()) && was.is_object() && was.contains(k))
        spec[k] = was[k];
    }
  }

  // podStatusStrategy: the owner references stay as stored (old kubelets corrupted them).
  json prepareForStatusUpdate(const ResourceInfo& r, const json& obj,
                              const json& old) const override {
    json next = Strategy::prepareForStatusUpdate(r, obj, old);
    keepStoredMetadataField(next, old, "ownerReferences");
    return next;
  }

  // CheckGracefulDelete: the grace period is the request's, else the pod's
  // terminationGracePeriodSeconds (30); 0 for a pod never bound or already finished. A delete
  // may only shorten a grace period already running.
  Result<bool> beginDelete(const ResourceInfo&, json& next,
                           const DeleteOptions& del) const override {
    const json& obj = next;
    std::int64_t grace = del.grace_period_seconds.value_or(
        at(obj, {"spec", "terminationGracePeriodSeconds"}).is_number_integer()
            ? at(obj, {"spec", "terminationGracePeriodSeconds"}).get<std::int64_t>()
            : 30);
    std::string phase = str(obj, {"status", "phase"});
    if (str(obj, {"spec", "nodeName"}).empty() || phase == "Succeeded" || phase == "Failed")
      grace = 0;
    if (grace < 0) grace = 0;
    const json& cur_grace = at(obj, {"metadata", "deletionGracePeriodSeconds"});
    bool shorter = !cur_grace.is_number_integer() || grace < cur_grace.get<std::int64_t>();
    json& meta = next["metadata"];
    if (grace > 0 && shorter) {
      meta["deletionTimestamp"] = formatTime(Clock::now() + std::chrono::seconds(grace));
      meta["deletionGracePeriodSeconds"] = grace;
      return true;
    }
    if (grace == 0 && shorter) {
      if (!hasDeletionTimestamp(obj)) meta["deletionTimestamp"] = formatTime(Clock::now());
      meta["deletionGracePeriodSeconds"] = 0;
      return true;
    }
    return false;
  }

  // The pod goes once its grace period is over (the agent deletes it again with grace 0).
  bool readyToRemove(const json& obj) const override {
    return at(obj, {"metadata", "deletionGracePeriodSeconds"}) == 0;
  }

 private:
  DefaultingOptions defaulting_;
  ServiceAccountLookup service_accounts_;
};

}  // namespace

StrategyPtr newPodStrategy(const DefaultingOptions& defaulting,
                           ServiceAccountLookup service_accounts) {
  return std::make_shared<PodStrategy>(defaulting, std::move(service_accounts));
}

}  // namespace skiff::master::api
