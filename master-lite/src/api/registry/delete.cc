// DELETE and DELETECOLLECTION: preconditions, the kind's graceful deletion (strategy
// beginDelete), propagation policies as finalizers for the garbage collector, and removal once
// nothing holds the object.
#include <algorithm>

#include "registry_internal.h"
#include "skiff/master/api/object_util.h"

namespace skiff::master::api {
namespace {

Result<void> checkPreconditions(const ResourceInfo& r, const std::string& name, const json& obj,
                                std::int64_t rev, const DeleteOptions& del) {
  std::string uid = str(obj, {"metadata", "uid"});
  if (del.precondition_uid && *del.precondition_uid != uid) {
    return Error(ErrorCode::Conflict,
                 "Operation cannot be fulfilled on " + r.qualifiedResource() + " \"" + name +
                     "\": Precondition failed: UID in precondition: " + *del.precondition_uid +
                     ", UID in object meta: " + uid);
  }
  if (del.precondition_resource_version &&
      *del.precondition_resource_version != std::to_string(rev)) {
    return Error(ErrorCode::Conflict,
                 "Operation cannot be fulfilled on " + r.qualifiedResource() + " \"" + name +
                     "\": Precondition failed: ResourceVersion in precondition: " +
                     *del.precondition_resource_version +
                     ", ResourceVersion in object meta: " + std::to_string(rev));
  }
  return ok();
}

// Orphan and Foreground are carried out by the garbage collector, signalled through the orphan
// and foregroundDeletion finalizers, decided as upstream's deletionFinalizersForGarbageCollection:
// the request's policy (orphanDependents, then propagationPolicy) over a policy finalizer the
// object already carries, over the kind's default. True when the finalizers changed.
bool setPropagationFinalizers(json& meta, const DeleteOptions& del, bool orphan_by_default) {
  const json& fins =
      meta.contains("finalizers") && meta["finalizers"].is_array() ? meta["finalizers"] : json();
  auto has = [&fins](const char* f) {
    return fins.is_array() && std::find(fins.begin(), fins.end(), f) != fins.end();
  };
  bool orphan = orphan_by_default, foreground = false;
  if (has("orphan")) {
    orphan = true;
  } else if (has("foregroundDeletion")) {
    orphan = false;
    foreground = true;
  }
  if (del.orphan_dependents) {
    orphan = *del.orphan_dependents;
    foreground = false;
  } else if (!del.propagation_policy.empty()) {
    orphan = del.propagation_policy == "Orphan";
    foreground = del.propagation_policy == "Foreground";
  }
  json next = json::array();
  for (const auto& f : fins.is_array() ? fins : json::array()) {
    if (f != "orphan" && f != "foregroundDeletion") next.push_back(f);
  }
  if (orphan) next.push_back("orphan");
  if (foreground) next.push_back("foregroundDeletion");
  if (next == (fins.is_array() ? fins : json::array())) return false;
  meta["finalizers"] = std::move(next);
  return true;
}

}  // namespace

Result<WriteResult> Registry::finishDelete(const ResourceInfo& r, const std::string& ns,
                                           const json& obj, std::int64_t rev,
                                           const WriteOptions& opts) {
  std::string name = str(obj, {"metadata", "name"});
  if (opts.dry_run) {
    SKIFF_ASSIGN_OR_RETURN(json shown, present(r, obj, rev));
    return WriteResult{std::move(shown), false, true};
  }
  auto kv = store_.remove(key(r, ns, name), rev);
  if (!kv) {
    if (kv.error().is(ErrorCode::Conflict)) return conflict(r, name);
    if (kv.error().is(ErrorCode::NotFound)) return notFound(r, name);
    return std::move(kv).error();
  }
  state_->strategies.forResource(r)->released(r, obj);
  SKIFF_ASSIGN_OR_RETURN(json shown, present(r, obj, kv->mod_revision));
  return WriteResult{std::move(shown), false, true};
}

Result<WriteResult> Registry::remove(const ResourceInfo& r, const std::string& ns,
                                     const std::string& name, const DeleteOptions& del,
                                     const WriteOptions& opts) {
  StrategyPtr strategy = state_->strategies.forResource(r);
  for (int attempt = 0;; ++attempt) {
    std::int64_t rev = 0;
    SKIFF_ASSIGN_OR_RETURN(json obj, read(r, ns, name, &rev));
    SKIFF_TRY(checkPreconditions(r, name, obj, rev, del));
    SKIFF_TRY(runDeleteAdmission(r, ns, obj, opts));
    json next = obj;
    SKIFF_ASSIGN_OR_RETURN(bool changed, strategy->beginDelete(r, next, del));
    json& meta = next["metadata"];
    if (strategy->propagationFinalizers()) {
      changed = setPropagationFinalizers(meta, del, strategy->orphansByDefault()) || changed;
    }
    if (!hasFinalizers(next) && strategy->readyToRemove(next)) {
      // Changed since it was read (a controller's status write): read it again and decide
      // anew, as upstream's deletion does; preconditions are checked again on the new read.
      auto done = finishDelete(r, ns, obj, rev, opts);
      if (!done && done.error().is(ErrorCode::Conflict) && attempt < 10) continue;
      return done;
    }
    if (!hasDeletionTimestamp(next)) {
      meta["deletionTimestamp"] = nowString();
      if (!meta.contains("deletionGracePeriodSeconds")) meta["deletionGracePeriodSeconds"] = 0;
      changed = true;
    }
    if (!changed || opts.dry_run) {
      SKIFF_ASSIGN_OR_RETURN(json shown, present(r, next, rev));
      return WriteResult{std::move(shown), false, false};
    }
    SKIFF_ASSIGN_OR_RETURN(json stored, forStorage(r, next));
    auto kv = store_.update(key(r, ns, name), encodeForStore(std::move(stored)), rev);
    if (!kv) {
      if (kv.error().is(ErrorCode::Conflict) && attempt < 10) continue;
      if (kv.error().is(ErrorCode::NotFound)) return notFound(r, name);
      return std::move(kv).error();
    }
    SKIFF_ASSIGN_OR_RETURN(json shown, present(r, next, kv->mod_revision));
    return WriteResult{std::move(shown), false, false};
  }
}

Result<json> Registry::removeCollection(const ResourceInfo& r, const std::string& ns,
                                        const Selection& sel, const DeleteOptions& del,
                                        const WriteOptions& opts) {
  Selection all = sel;
  all.limit = 0;
  all.continue_token.clear();
  SKIFF_ASSIGN_OR_RETURN(json list, this->list(r, ns, all));
  json items = json::array();
  for (const auto& item : list["items"]) {
    auto res =
        remove(r, str(item, {"metadata", "namespace"}), str(item, {"metadata", "name"}), del, opts);
    if (res) {
      items.push_back(res->object);
    } else if (!res.error().is(ErrorCode::NotFound)) {
      return std::move(res).error();
    }
  }
  list["items"] = items;
  return list;
}

}  // namespace skiff::master::api
