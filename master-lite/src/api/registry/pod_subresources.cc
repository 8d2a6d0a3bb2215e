// pods/binding (the scheduler's write: spec.nodeName and the PodScheduled condition, once) and
// pods/eviction (a delete that PodDisruptionBudgets may refuse with 429), as upstream's
// pkg/registry/core/pod/storage BindingREST and EvictionREST.
#include "registry_internal.h"
#include "skiff/master/api/object_util.h"

namespace skiff::master::api {
namespace {

json successStatus() {
  return {{"kind", "Status"},
          {"apiVersion", "v1"},
          {"metadata", json::object()},
          {"status", "Success"},
          {"code", 201}};
}

// Sets spec.nodeName and PodScheduled=True on `pod`.
void assignNode(json& pod, const std::string& node) {
  pod["spec"]["nodeName"] = node;
  json& conds = pod["status"]["conditions"];
  if (!conds.is_array()) conds = json::array();
  bool found = false;
  for (auto& c : conds) {
    if (c.value("type", "") == "PodScheduled") {
      c["status"] = "True";
      c.erase("reason");
      c.erase("message");
      c["lastTransitionTime"] = nowString();
      found = true;
    }
  }
  if (!found) {
    conds.push_back({{"type", "PodScheduled"},
                     {"status", "True"},
                     {"lastProbeTime", nullptr},
                     {"lastTransitionTime", nowString()}});
  }
}

}  // namespace

Result<WriteResult> Registry::bindPod(const ResourceInfo& r, const std::string& ns,
                                      const std::string& name, const json& obj,
                                      const WriteOptions& opts) {
  if (!obj.is_object()) return Error(ErrorCode::BadRequest, "binding body must be an object");
  std::string node = str(obj, {"target", "name"});
  if (node.empty()) {
    return Error(ErrorCode::Invalid,
                 "Binding \"" + name + "\" is invalid: target.name: Required value");
  }
  for (int attempt = 0; attempt < 5; ++attempt) {
    std::int64_t rev = 0;
    SKIFF_ASSIGN_OR_RETURN(json pod, read(r, ns, name, &rev));
    if (hasDeletionTimestamp(pod)) {
      return Error(ErrorCode::Conflict, "Operation cannot be fulfilled on pods/binding \"" + name +
                                            "\": pod " + name +
                                            " is being deleted, cannot be assigned to a host");
    }
    std::string current = str(pod, {"spec", "nodeName"});
    if (!current.empty()) {
      return Error(ErrorCode::Conflict, "Operation cannot be fulfilled on pods/binding \"" + name +
                                            "\": pod " + name + " is already assigned to node \"" +
                                            current + "\"");
    }
    assignNode(pod, node);
    if (opts.dry_run) break;
    auto w = store_.update(key(r, ns, name), encodeForStore(pod), rev);
    if (w) break;
    if (!w.error().is(ErrorCode::Conflict)) return std::move(w).error();
  }
  return WriteResult{successStatus(), true, true};
}

Result<WriteResult> Registry::evictPod(const ResourceInfo& r, const std::string& ns,
                                       const std::string& name, const json& obj,
                                       const WriteOptions& opts) {
  DeleteOptions del;
  const json& d = obj.is_object() ? obj.value("deleteOptions", json()) : json();
  if (d.is_object()) {
    if (d.contains("gracePeriodSeconds") && d["gracePeriodSeconds"].is_number_integer()) {
      del.grace_period_seconds = d["gracePeriodSeconds"].get<std::int64_t>();
    }
    if (at(d, {"preconditions", "uid"}).is_string())
      del.precondition_uid = at(d, {"preconditions", "uid"}).get<std::string>();
  }
  SKIFF_ASSIGN_OR_RETURN(json pod, read(r, ns, name, nullptr));
  // PodDisruptionBudgets (EvictionREST.Create): a pod that is not running yet, is finished or
  // is being deleted goes without asking; otherwise its budget must allow one more disruption,
  // which this eviction takes (disruptionsAllowed - 1, the pod in disruptedPods) under the
  // budget's resourceVersion, so concurrent evictions (kubectl drain) never overdraw it.
  std::string phase = str(pod, {"status", "phase"});
  if (phase == "Running" && !hasDeletionTimestamp(pod)) {
    SKIFF_TRY(chargeDisruptionBudget(ns, pod, opts.dry_run));
  }
  SKIFF_TRY(remove(r, ns, name, del, opts));
  return WriteResult{successStatus(), true, true};
}

Result<void> Registry::chargeDisruptionBudget(const std::string& ns, const json& pod,
                                              bool dry_run) {
  const ResourceInfo* pdbs = findResource("policy", "v1", "poddisruptionbudgets");
  if (!pdbs) return ok();
  const std::string violate = "Cannot evict pod as it would violate the pod's disruption budget.";
  for (int attempt = 0; attempt < 10; ++attempt) {
    SKIFF_ASSIGN_OR_RETURN(json list, this->list(*pdbs, ns, Selection{}));
    std::vector<json> matching;
    for (auto& pdb : list["items"]) {
      auto sel = LabelSelector::fromJson(at(pdb, {"spec", "selector"}));
      if (sel && sel->matches(at(pod, {"metadata", "labels"}))) matching.push_back(std::move(pdb));
    }
    if (matching.empty()) return ok();
    if (matching.size() > 1) {
      return Error(ErrorCode::Internal,
                   "This pod has more than one PodDisruptionBudget, which the eviction "
                   "subresource does not support.");
    }
    json& pdb = matching[0];
    std::string pdb_name = str(pdb, {"metadata", "name"});
    const json& observed = at(pdb, {"status", "observedGeneration"});
    const json& generation = at(pdb, {"metadata", "generation"});
    if (!observed.is_number_integer() ||
        (generation.is_number_integer() && observed.get<long long>() < generation.get<long long>()))
      return Error(ErrorCode::Unavailable, violate);
    const json& allowed_j = at(pdb, {"status", "disruptionsAllowed"});
    long long allowed = allowed_j.is_number_integer() ? allowed_j.get<long long>() : 0;
    if (allowed < 0) {
      return Error(ErrorCode::Forbidden,
                   "poddisruptionbudgets.policy \"" + pdb_name +
                       "\" is forbidden: pdb disruptions allowed is negative");
    }
    if (allowed == 0) return Error(ErrorCode::Unavailable, violate);
    if (dry_run) return ok();
    pdb["status"]["disruptionsAllowed"] = allowed - 1;
    if (allowed - 1 == 0 && pdb["status"].contains("conditions") &&
        pdb["status"]["conditions"].is_array()) {
      for (auto& c : pdb["status"]["conditions"]) {
        if (c.value("type", "") != "DisruptionAllowed" || c.value("status", "") == "False")
          continue;
        c["status"] = "False";
        c["reason"] = "InsufficientPods";
        c["lastTransitionTime"] = nowString();
      }
    }
    pdb["status"]["disruptedPods"][str(pod, {"metadata", "name"})] = nowString();
    auto w = update(*pdbs, ns, pdb_name, pdb, WriteOptions{}, "status");
    if (w) return ok();
    if (!w.error().is(ErrorCode::Conflict)) return std::move(w).error();
  }
  return Error(ErrorCode::Unavailable, violate);
}

}  // namespace skiff::master::api
