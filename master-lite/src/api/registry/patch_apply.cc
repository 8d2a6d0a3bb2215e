// PATCH: JSON patch, merge patch, strategic merge patch and server-side apply (which creates a
// missing object), retried on a concurrent write unless the patch pins a resourceVersion.
#include "registry_internal.h"
#include "skiff/master/api/managed_fields.h"
#include "skiff/master/api/object_util.h"
#include "skiff/master/api/patch.h"

namespace skiff::master::api {
namespace {

// The patched object from `base` (the stored object, or its Scale).
Result<json> applyPatch(const ResourceInfo& r, const json& base, PatchKind kind, const json& patch,
                        const WriteOptions& opts, const std::string& subresource) {
  switch (kind) {
    case PatchKind::Json:
      return applyJsonPatch(base, patch);
    case PatchKind::Merge:
      return applyMergePatch(base, patch);
    case PatchKind::Strategic:
      return applyStrategicMergePatch(base, patch);
    case PatchKind::Apply: {
      if (!patch.is_object()) return Error(ErrorCode::BadRequest, "apply patch must be an object");
      std::string pk = patch.value("kind", ""), pa = patch.value("apiVersion", "");
      if (pk.empty() || pa.empty()) {
        return Error(ErrorCode::BadRequest, "invalid object type: " + pa + ", Kind=" + pk);
      }
      ManagedUpdate u{managerFor(opts, "unknown"), "Apply", r.groupVersion(),
                      subresource == "status" ? "status" : "", nowString()};
      return serverSideApply(base, patch, u, opts.force);
    }
  }
  return Error(ErrorCode::Internal, "unknown patch type");
}

}  // namespace

// Server-side apply to a missing object creates it, owned by the applier.
Result<WriteResult> Registry::applyCreate(const ResourceInfo& r, const std::string& ns,
                                          const std::string& name, const json& patch,
                                          const WriteOptions& opts) {
  if (!patch.is_object()) return Error(ErrorCode::BadRequest, "apply patch must be an object");
  json obj = patch;
  if (!obj.contains("metadata") || !obj["metadata"].is_object()) obj["metadata"] = json::object();
  if (obj["metadata"].value("name", "") != name) {
    if (obj["metadata"].value("name", "").empty())
      obj["metadata"]["name"] = name;
    else
      return Error(ErrorCode::BadRequest,
                   "the name of the object (" + obj["metadata"].value("name", "") +
                       ") does not match the name on the URL (" + name + ")");
  }
  ManagedUpdate u{managerFor(opts, "unknown"), "Apply", r.groupVersion(), "", nowString()};
  SKIFF_ASSIGN_OR_RETURN(json merged, serverSideApply(json::object(), obj, u, true));
  WriteOptions o = opts;
  o.field_manager.clear();
  o.user.name.clear();  // managedFields already set by apply
  json mf = merged["metadata"]["managedFields"];
  merged["metadata"].erase("managedFields");
  SKIFF_ASSIGN_OR_RETURN(WriteResult res, createObject(r, ns, merged, o));
  if (opts.dry_run) return res;
  // Record the Apply ownership on the created object.
  std::int64_t nrev = 0;
  auto created = read(r, ns, name, &nrev);
  if (created) {
    json withmf = *created;
    withmf["metadata"]["managedFields"] = mf;
    for (auto& e : withmf["metadata"]["managedFields"]) e["time"] = nowString();
    SKIFF_ASSIGN_OR_RETURN(json stored, forStorage(r, withmf));
    auto kv = store_.update(key(r, ns, name), encodeForStore(std::move(stored)), nrev);
    if (kv) {
      SKIFF_ASSIGN_OR_RETURN(res.object, present(r, withmf, kv->mod_revision));
    }
  }
  return res;
}

Result<WriteResult> Registry::patch(const ResourceInfo& r, const std::string& ns,
                                    const std::string& name, PatchKind kind, const json& patch,
                                    const WriteOptions& opts, const std::string& subresource) {
  bool pinned = !str(patch, {"metadata", "resourceVersion"}).empty();
  for (int attempt = 0;; ++attempt) {
    std::int64_t rev = 0;
    auto cur = read(r, ns, name, &rev);
    if (!cur) {
      if (kind == PatchKind::Apply && subresource.empty() && cur.error().is(ErrorCode::NotFound))
        return applyCreate(r, ns, name, patch, opts);
      return std::move(cur).error();
    }
    json base = subresource == "scale" ? scaleOf(r, *cur) : *cur;
    SKIFF_ASSIGN_OR_RETURN(json patched, applyPatch(r, base, kind, patch, opts, subresource));
    const json* applied = kind == PatchKind::Apply ? &patch : nullptr;
    if (!patched.is_object())
      return Error(ErrorCode::BadRequest, "the patch produced a non-object");
    std::string prv = str(patched, {"metadata", "resourceVersion"});
    if (!prv.empty() && prv != std::to_string(rev)) return conflict(r, name);
    Result<WriteResult> res = Error(ErrorCode::Internal, "unreachable");
    if (subresource == "scale") {
      res = updateObject(r, ns, name, patched, opts, "scale", false, nullptr);
    } else {
      res = writeUpdated(r, ns, *cur, patched, rev, opts, subresource, applied);
    }
    if (!res && res.error().is(ErrorCode::Conflict) && !pinned && attempt < 10 &&
        res.error().message().rfind("Operation cannot be fulfilled", 0) == 0) {
      continue;  // someone wrote in between: re-read and re-apply, as upstream does
    }
    return res;
  }
}

}  // namespace skiff::master::api
