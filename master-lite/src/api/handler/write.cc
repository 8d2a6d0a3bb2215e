// The write verbs: create, update, patch (JSON, merge, strategic, apply), delete and
// deletecollection, and how their bodies are decoded (reference/kube-api-surface.md §4-§5).
#include <algorithm>

#include "../strict_fields.h"
#include "handler_internal.h"
#include "skiff/master/api/object_util.h"
#include "skiff/master/api/protobuf.h"

namespace skiff::master::api::handler {
namespace {

Result<json> parseBody(const HttpRequest& req, bool allow_empty) {
  std::string ct = req.header("content-type");
  auto semi = ct.find(';');
  std::string media = semi == std::string::npos ? ct : ct.substr(0, semi);
  while (!media.empty() && media.back() == ' ') media.pop_back();
  if (media == "application/vnd.kubernetes.protobuf") return decodeKubernetesProtobuf(req.body);
  if (media == "application/cbor" || media == "application/vnd.kubernetes.cbor") {
    return Error(ErrorCode::Unsupported,
                 "the body of the request was in an unknown format - accepted media types "
                 "include: application/json, application/yaml");
  }
  if (req.body.empty()) {
    if (allow_empty) return json();
    return Error(ErrorCode::BadRequest, "the body of the request is empty");
  }
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded()) {
    if (media == "application/yaml" || media == "application/apply-patch+yaml") {
      return Error(ErrorCode::Unsupported,
                   "skiff accepts YAML request bodies only in their JSON form; send "
                   "application/json (kubectl does)");
    }
    return Error(ErrorCode::BadRequest,
                 "the body of the request could not be decoded: invalid JSON (\"" +
                     req.body.substr(0, std::min<std::size_t>(req.body.size(), 40)) + "...\")");
  }
  return body;
}

DeleteOptions deleteOptionsFrom(const json& body, const Query& query) {
  DeleteOptions d;
  if (body.is_object()) {
    if (body.contains("gracePeriodSeconds") && body["gracePeriodSeconds"].is_number_integer()) {
      d.grace_period_seconds = body["gracePeriodSeconds"].get<std::int64_t>();
    }
    d.propagation_policy = body.value("propagationPolicy", "");
    if (body.contains("orphanDependents") && body["orphanDependents"].is_boolean())
      d.orphan_dependents = body["orphanDependents"].get<bool>();
    const json& pre = body.value("preconditions", json());
    if (pre.is_object()) {
      if (pre.contains("uid") && pre["uid"].is_string())
        d.precondition_uid = pre["uid"].get<std::string>();
      if (pre.contains("resourceVersion") && pre["resourceVersion"].is_string()) {
        d.precondition_resource_version = pre["resourceVersion"].get<std::string>();
      }
    }
  }
  if (!q(query, "gracePeriodSeconds").empty()) {
    try {
      d.grace_period_seconds = std::stoll(q(query, "gracePeriodSeconds"));
    } catch (...) {
    }
  }
  if (!q(query, "propagationPolicy").empty()) d.propagation_policy = q(query, "propagationPolicy");
  if (!q(query, "orphanDependents").empty())
    d.orphan_dependents = q(query, "orphanDependents") == "true";
  return d;
}

// DELETE bodies are JSON, or protobuf from typed client-go clients (kubectl >= 1.32, the
// controllers and e2e tests: their propagationPolicy, grace period and preconditions).
Result<DeleteOptions> deleteOptionsOf(const ResourceRequest& rq) {
  json body;
  std::string ct = rq.req.header("content-type");
  if (!rq.req.body.empty() && ct.find("protobuf") != std::string::npos) {
    auto decoded = decodeKubernetesProtobuf(rq.req.body);
    if (!decoded)
      return Error(ErrorCode::BadRequest,
                   "the body of the request could not be decoded as DeleteOptions: " +
                       decoded.error().message());
    body = std::move(*decoded);
  } else if (!rq.req.body.empty()) {
    body = json::parse(rq.req.body, nullptr, false);
    if (body.is_discarded())
      return Error(ErrorCode::BadRequest,
                   "the body of the request could not be decoded as DeleteOptions");
  }
  return deleteOptionsFrom(body, rq.query);
}

Result<PatchKind> patchKindOf(const HttpRequest& req) {
  std::string ct = req.header("content-type");
  ct = ct.substr(0, ct.find(';'));
  if (ct == "application/json-patch+json") return PatchKind::Json;
  if (ct == "application/merge-patch+json") return PatchKind::Merge;
  if (ct == "application/strategic-merge-patch+json") return PatchKind::Strategic;
  if (ct == "application/apply-patch+yaml" || ct == "application/apply-patch+cbor")
    return PatchKind::Apply;
  return Error(ErrorCode::Unsupported,
               "the body of the request was in an unknown format - accepted media types include: "
               "application/json-patch+json, application/merge-patch+json, "
               "application/apply-patch+yaml, application/strategic-merge-patch+json");
}

}  // namespace

Result<json> ResourceRequest::body(bool allow_empty) {
  if (req.body.size() > options.max_body_bytes) {
    return Error(ErrorCode::TooLarge, "the request body is too large (limit 3 MiB)");
  }
  SKIFF_ASSIGN_OR_RETURN(json obj, parseBody(req, allow_empty));
  if ((validation == "Strict" || validation == "Warn") && obj.is_object() &&
      rt.subresource.empty()) {
    auto unknown = unknownFields(r, obj);
    if (!unknown.empty()) {
      if (validation == "Strict") {
        std::string m = r.kind + " in version \"" + r.version + "\" cannot be handled as a " +
                        r.kind + ": strict decoding error: ";
        for (std::size_t i = 0; i < unknown.size(); ++i)
          m += (i ? ", " : "") + std::string("unknown field \"") + unknown[i] + "\"";
        return Error(ErrorCode::BadRequest, m);
      }
      for (const auto& u : unknown)
        warnings.emplace_back("Warning", "299 - \"unknown field \\\"" + u + "\\\"\"");
    }
  }
  return obj;
}

HttpResponse serveCreate(ResourceRequest& rq) {
  auto body = rq.body(false);
  if (!body) return rq.fail(body.error());
  if (!rq.rt.name.empty() && rq.rt.subresource.empty()) return methodNotAllowed("POST", rq.r);
  if (rq.rt.name.empty() && body->is_object() && rq.user.inGroup("system:nodes") &&
      !rq.user.inGroup("system:masters")) {
    // NodeRestriction: what a node may create depends on the object's name (its own Node/Lease).
    RequestAttributes named = rq.attrs;
    named.name = str(*body, {"metadata", "name"});
    if (auto az = authorize(rq.registry, rq.user, named); !az) return rq.fail(az.error());
  }
  auto res = rq.registry.create(rq.r, rq.rt.ns, *body, rq.wopts, rq.rt.subresource, rq.rt.name);
  if (!res) {
    std::string name = body->is_object() ? str(*body, {"metadata", "name"}) : "";
    return rq.finish(errorResponse(res.error(), &rq.r, name.empty() ? rq.rt.name : name));
  }
  return rq.respondObject(res->created ? 201 : 200, res->object);
}

HttpResponse serveUpdate(ResourceRequest& rq) {
  auto body = rq.body(false);
  if (!body) return rq.fail(body.error());
  auto res = rq.registry.update(rq.r, rq.rt.ns, rq.rt.name, *body, rq.wopts, rq.rt.subresource);
  if (!res) return rq.fail(res.error());
  return rq.respondObject(res->created ? 201 : 200, res->object);
}

HttpResponse servePatch(ResourceRequest& rq) {
  auto kind = patchKindOf(rq.req);
  if (!kind) return rq.fail(kind.error());
  std::string saved = rq.validation;
  if (*kind != PatchKind::Apply) rq.validation.clear();  // patches are partial objects
  auto body = rq.body(false);
  rq.validation = saved;
  if (!body) return rq.fail(body.error());
  if (*kind != PatchKind::Apply && rq.wopts.force) {
    return rq.fail(Error(ErrorCode::BadRequest, "force may not be specified for non-apply patch"));
  }
  if (*kind == PatchKind::Apply && q(rq.query, "fieldManager").empty()) {
    return rq.fail(Error(ErrorCode::BadRequest,
                         "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: "
                         "is required for apply patch"));
  }
  auto res =
      rq.registry.patch(rq.r, rq.rt.ns, rq.rt.name, *kind, *body, rq.wopts, rq.rt.subresource);
  if (!res) return rq.fail(res.error());
  return rq.respondObject(res->created ? 201 : 200, res->object);
}

HttpResponse serveDelete(ResourceRequest& rq) {
  auto del = deleteOptionsOf(rq);
  if (!del) return rq.fail(del.error());
  auto res = rq.registry.remove(rq.r, rq.rt.ns, rq.rt.name, *del, rq.wopts);
  if (!res) return rq.fail(res.error());
  // Upstream answers 200 also when deletion is pending (graceful pods, finalizers, namespaces).
  return rq.respondObject(200, res->object);
}

HttpResponse serveDeleteCollection(ResourceRequest& rq) {
  auto del = deleteOptionsOf(rq);
  if (!del) return rq.fail(del.error());
  auto res = rq.registry.removeCollection(rq.r, rq.rt.ns, rq.sel, *del, rq.wopts);
  if (!res) return rq.fail(res.error());
  return rq.finish(jsonResponse(200, *res));
}

}  // namespace skiff::master::api::handler
