// UPDATE: optimistic concurrency on metadata.resourceVersion, the kind's strategy (status
// reset, defaults, validation, admission), field ownership, no-op detection, and the removal of
// a terminating object whose last finalizer went. Also the scale subresource's update.
#include "registry_internal.h"
#include "skiff/master/api/managed_fields.h"
#include "skiff/master/api/object_util.h"
#include "skiff/master/apiextensions/apiextensions.h"
#include "strategies.h"

namespace skiff::master::api {
namespace {

// How often an update without a resourceVersion is read and applied again after losing a race
// (upstream loops until its request deadline; a busy writer can make a short bound lose).
constexpr int kMaxUnconditionalUpdateAttempts = 100;

// The body's kind, name and namespace must match the route.
Result<void> checkIdentity(const ResourceInfo& r, const std::string& ns, const std::string& name,
                           json& obj, const std::string& subresource) {
  std::string kind = obj.value("kind", "");
  if (!kind.empty() && kind != r.kind && subresource.empty()) {
    return Error(ErrorCode::BadRequest, "the object provided is unrecognized (must be of type " +
                                            r.kind + "): kind \"" + kind + "\"");
  }
  if (!obj.contains("metadata") || !obj["metadata"].is_object()) obj["metadata"] = json::object();
  std::string body_name = obj["metadata"].value("name", "");
  if (!body_name.empty() && body_name != name) {
    return Error(ErrorCode::BadRequest, "the name of the object (" + body_name +
                                            ") does not match the name on the URL (" + name + ")");
  }
  if (r.namespaced) {
    std::string on = obj["metadata"].value("namespace", "");
    if (!on.empty() && on != ns) {
      return Error(
          ErrorCode::BadRequest,
          "the namespace of the provided object does not match the namespace sent on the request");
    }
  }
  return ok();
}

// Records the writer's fields in metadata.managedFields (status writes under "status").
void recordOwnership(const ResourceInfo& r, const WriteOptions& opts,
                     const std::string& subresource, const json& old, json& next) {
  if (opts.field_manager.empty() && opts.user.name.empty()) return;
  std::string sub_for_fields = subresource == "status" ? "status" : "";
  ManagedUpdate u{managerFor(opts, "unknown"), "Update", r.groupVersion(), sub_for_fields,
                  nowString()};
  json before = old, after = next;
  for (json* o : {&before, &after}) {
    if (!sub_for_fields.empty()) {
      json s = o->contains("status") ? (*o)["status"] : json();
      *o = json{{"status", s}};
    }
  }
  recordUpdate(next, u, changedFieldSet(before, after));
}

bool sameIgnoringVersion(json a, json b) {
  for (json* o : {&a, &b}) {
    (*o)["metadata"].erase("managedFields");
    (*o)["metadata"].erase("resourceVersion");
  }
  return a == b;
}

}  // namespace

Result<WriteResult> Registry::update(const ResourceInfo& r, const std::string& ns,
                                     const std::string& name, json obj, const WriteOptions& opts,
                                     const std::string& subresource) {
  return updateObject(r, ns, name, std::move(obj), opts, subresource, false, nullptr);
}

Result<WriteResult> Registry::updateObject(const ResourceInfo& r, const std::string& ns,
                                           const std::string& name, json obj,
                                           const WriteOptions& opts, const std::string& subresource,
                                           bool allow_create, const json* applied) {
  if (!obj.is_object()) {
    return Error(ErrorCode::BadRequest,
                 "the object provided is unrecognized (must be of type " + r.kind + ")");
  }
  // An update that names no resourceVersion applies to whatever is stored (upstream's
  // unconditional update): when another write lands between the read and the write it is read
  // and applied again, as GuaranteedUpdate does, rather than answered with a 409.
  const std::string want_rv = str(obj, {"metadata", "resourceVersion"});
  for (int attempt = 0;; ++attempt) {
    std::int64_t rev = 0;
    auto cur = read(r, ns, name, &rev);
    if (!cur) {
      if (allow_create && cur.error().is(ErrorCode::NotFound)) {
        // NOLINTNEXTLINE(bugprone-use-after-move): only the last attempt moves obj, and it returns.
        return createObject(r, ns, std::move(obj), opts);
      }
      return std::move(cur).error();
    }
    if (!want_rv.empty() && want_rv != std::to_string(rev)) return conflict(r, name);
    const bool last = !want_rv.empty() || attempt >= kMaxUnconditionalUpdateAttempts;
    auto res = subresource == "scale"
                   ? updateScale(r, ns, name, last ? std::move(obj) : obj, std::move(cur).value(),
                                 rev, opts)
                   : writeUpdated(r, ns, std::move(cur).value(), last ? std::move(obj) : obj, rev,
                                  opts, subresource, applied);
    if (res || last || !res.error().is(ErrorCode::Conflict)) return res;
  }
}

// PUT .../scale: only spec.replicas changes; the answer is the new Scale.
Result<WriteResult> Registry::updateScale(const ResourceInfo& r, const std::string& ns,
                                          const std::string& name, const json& scale,
                                          const json& cur, std::int64_t rev,
                                          const WriteOptions& opts) {
  const json& replicas = at(scale, {"spec", "replicas"});
  if (!replicas.is_number_integer() || replicas.get<long long>() < 0) {
    return Error(ErrorCode::Invalid, "Scale.autoscaling \"" + name +
                                         "\" is invalid: spec.replicas: Invalid value: " +
                                         replicas.dump() + ": must be greater than or equal to 0");
  }
  json next = cur;
  if (r.custom)
    apiextensions::setCustomReplicas(r, next, replicas);
  else
    next["spec"]["replicas"] = replicas;
  SKIFF_ASSIGN_OR_RETURN(WriteResult res,
                         writeUpdated(r, ns, cur, std::move(next), rev, opts, "", nullptr));
  res.object = scaleOf(r, res.object);
  return res;
}

// The object to store: the client's object through the strategy for the main resource, the
// stored object with the new status for /status (and CSR /approval), or with the new
// spec.finalizers for a namespace's /finalize.
Result<json> Registry::nextForUpdate(const ResourceInfo& r, const std::string& ns, const json& old,
                                     json obj, const std::string& subresource, Strategy& strategy) {
  std::string name = str(old, {"metadata", "name"});
  SKIFF_TRY(checkIdentity(r, ns, name, obj, subresource));
  if (subresource == "status" || subresource == "approval") {
    return strategy.prepareForStatusUpdate(r, obj, old);
  }
  if (subresource == "finalize") {
    json next = old;
    next["spec"]["finalizers"] = at(obj, {"spec", "finalizers"}).is_array()
                                     ? at(obj, {"spec", "finalizers"})
                                     : json::array();
    return next;
  }
  json next = std::move(obj);
  strategy.prepareForUpdate(r, next, old);
  keepSystemMetadata(next["metadata"], old["metadata"]);
  strategy.defaults(r, next);
  if (r.has_generation && at(next, {"spec"}) != at(old, {"spec"})) {
    next["metadata"]["generation"] = at(old, {"metadata", "generation"}).is_number_integer()
                                         ? at(old, {"metadata", "generation"}).get<long long>() + 1
                                         : 1;
  }
  return next;
}

Result<WriteResult> Registry::writeUpdated(const ResourceInfo& r, const std::string& ns,
                                           const json& old, json obj, std::int64_t rev,
                                           const WriteOptions& opts, const std::string& subresource,
                                           const json* applied) {
  std::string name = str(old, {"metadata", "name"});
  StrategyPtr strategy = state_->strategies.forResource(r);
  SKIFF_ASSIGN_OR_RETURN(json next,
                         nextForUpdate(r, ns, old, std::move(obj), subresource, *strategy));
  next["apiVersion"] = r.groupVersion();
  next["kind"] = r.kind;
  next["metadata"]["resourceVersion"] = std::to_string(rev);
  if (subresource.empty()) {
    FieldErrors errs = strategy->validate(r, next, &old);
    if (!errs.empty()) return invalidError(r, name, errs);
    SKIFF_TRY(strategy->admitUpdate(r, next, old));
    SKIFF_TRY(strategy->admitUpdateBy(r, next, old, opts));
    SKIFF_TRY(runMutatingAdmission(r, ns, next, &old, opts, *strategy));
    SKIFF_TRY(runAdmission(r, ns, next, &old, opts));
  }
  // Field ownership; an apply was already merged by serverSideApply.
  if (!applied) recordOwnership(r, opts, subresource, old, next);
  return commitUpdate(r, ns, old, std::move(next), rev, opts, *strategy);
}

Result<WriteResult> Registry::commitUpdate(const ResourceInfo& r, const std::string& ns,
                                           const json& old, json next, std::int64_t rev,
                                           const WriteOptions& opts, Strategy& strategy) {
  std::string name = str(old, {"metadata", "name"});
  // No-op writes do not create a revision (as upstream).
  if (sameIgnoringVersion(old, next)) return WriteResult{old, false, true};
  // An object waiting only on its finalizers goes once they are all removed.
  if (hasDeletionTimestamp(next) && !hasFinalizers(next) && strategy.readyToRemove(next)) {
    return finishDelete(r, ns, next, rev, opts);
  }
  if (opts.dry_run) return WriteResult{std::move(next), false, true};
  SKIFF_ASSIGN_OR_RETURN(json stored, forStorage(r, next));
  auto kv = store_.update(key(r, ns, name), encodeForStore(std::move(stored)), rev);
  if (!kv) {
    if (kv.error().is(ErrorCode::Conflict)) return conflict(r, name);
    if (kv.error().is(ErrorCode::NotFound)) return notFound(r, name);
    return std::move(kv).error();
  }
  strategy.afterUpdate(r, old, next);
  SKIFF_ASSIGN_OR_RETURN(json shown, present(r, next, kv->mod_revision));
  return WriteResult{std::move(shown), false, true};
}

}  // namespace skiff::master::api
