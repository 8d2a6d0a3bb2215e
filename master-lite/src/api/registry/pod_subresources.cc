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
  // PodDisruptionBudgets: refuse with 429 when an applicable budget allows no disruption.
  const ResourceInfo* pdbs = findResource("policy", "v1", "poddisruptionbudgets");
  if (pdbs) {
    auto list = store_.list(prefix(*pdbs, ns));
    if (list) {
      for (const auto& kv : list->items) {
        json pdb = json::parse(kv.value, nullptr, false);
        auto sel = LabelSelector::fromJson(at(pdb, {"spec", "selector"}));
        if (!sel || sel->empty() || !sel->matches(at(pod, {"metadata", "labels"}))) continue;
        if (at(pdb, {"status", "disruptionsAllowed"}).is_number_integer() &&
            at(pdb, {"status", "disruptionsAllowed"}).get<long long>() <= 0) {
          return Error(ErrorCode::Unavailable,
                       "Cannot evict pod as it would violate the pod's disruption budget.");
        }
      }
    }
  }
  SKIFF_TRY(remove(r, ns, name, del, opts));
  return WriteResult{successStatus(), true, true};
}

}  // namespace skiff::master::api
