// serviceaccounts/token: the TokenRequest API (authentication.k8s.io/v1), as upstream's
// pkg/registry/core/serviceaccount/storage/token.go. Defaults (audiences = the API server's,
// expirationSeconds 3600), validation (at least 10 minutes), the bound object (Pod, Secret or
// Node, which must exist and, when a uid is given, be that object), then a signed token.
#include <chrono>

#include "registry_internal.h"
#include "skiff/master/api/object_util.h"
#include "skiff/master/api/validation.h"

namespace skiff::master::api {
namespace {

namespace sa = serviceaccount;

const ResourceInfo& tokenRequestInfo() {
  static const ResourceInfo info = [] {
    ResourceInfo r;
    r.group = "authentication.k8s.io";
    r.version = "v1";
    r.resource = "tokenrequests";
    r.kind = "TokenRequest";
    r.namespaced = true;
    return r;
  }();
  return info;
}

// spec with its defaults, or the Invalid error upstream's ValidateTokenRequest returns.
Result<json> defaultedSpec(const json& body, const std::string& name) {
  if (!body.is_object()) return Error(ErrorCode::BadRequest, "TokenRequest body must be an object");
  json spec = body.value("spec", json::object());
  if (!spec.is_object()) spec = json::object();
  if (!spec["audiences"].is_array()) spec["audiences"] = json::array();
  if (!spec.contains("expirationSeconds") || spec["expirationSeconds"].is_null())
    spec["expirationSeconds"] = 3600;
  if (!spec["expirationSeconds"].is_number_integer()) {
    return Error(ErrorCode::BadRequest,
                 "TokenRequest in version \"v1\" cannot be handled as a TokenRequest: "
                 "spec.expirationSeconds: expected an integer");
  }
  std::int64_t secs = spec["expirationSeconds"].get<std::int64_t>();
  FieldErrors errs;
  if (secs < sa::kMinExpirationSeconds) {
    errs.push_back({FieldError::Type::Invalid, "spec.expirationSeconds", secs,
                    "may not specify a duration less than 10 minutes"});
  }
  if (secs > (1LL << 32)) {
    errs.push_back({FieldError::Type::Invalid, "spec.expirationSeconds", secs,
                    "may not specify a duration larger than 2^32 seconds"});
  }
  if (!errs.empty()) return invalidError(tokenRequestInfo(), name, errs);
  return spec;
}

std::string uidOf(const json& obj) { return str(obj, {"metadata", "uid"}); }

Error uidConflict(const std::string& kind, const std::string& name, const std::string& uid) {
  return Error(ErrorCode::Conflict, "Operation cannot be fulfilled on " + kind + " \"" + name +
                                        "\": the UID in the bound object reference (" + uid +
                                        ") does not match the UID in record. The object might "
                                        "have been deleted and then recreated");
}

// NodeRestriction (plugin/pkg/admission/noderestriction): a node asks only for tokens bound
// to a pod running on it.
Result<void> nodeRestriction(const UserInfo& user, const sa::BoundTokenRequest& request,
                             const json& ref) {
  if (!user.inGroup("system:nodes") || user.inGroup("system:masters") ||
      user.name.rfind("system:node:", 0) != 0)
    return ok();
  std::string node = user.name.substr(12);
  std::string prefix = "serviceaccounts \"" + request.service_account.name + "\" is forbidden: ";
  if (!request.pod) {
    return Error(ErrorCode::Forbidden, prefix + "node requested token not bound to a pod");
  }
  if (!request.node || request.node->name != node) {
    return Error(ErrorCode::Forbidden,
                 prefix + "node requested token bound to a pod scheduled on a different node");
  }
  if (!ref.is_object() || ref.value("uid", "").empty()) {
    return Error(ErrorCode::Forbidden,
                 prefix + "node requested token with a pod binding without a uid");
  }
  return ok();
}

}  // namespace

// Fills request.pod/secret/node from spec.boundObjectRef.
Result<void> Registry::bindTokenRequest(const std::string& ns, const std::string& sa_name,
                                        const json& ref, sa::BoundTokenRequest& request) {
  if (!ref.is_object()) return ok();
  std::string kind = ref.value("kind", ""), name = ref.value("name", "");
  std::string api_version = ref.value("apiVersion", "");
  std::string group = api_version.find('/') == std::string::npos
                          ? ""
                          : api_version.substr(0, api_version.find('/'));
  const ResourceInfo* info = nullptr;
  if (group.empty() && (kind == "Pod" || kind == "Secret"))
    info = findResource("", "v1", kind == "Pod" ? "pods" : "secrets");
  if (group.empty() && kind == "Node") info = findResource("", "v1", "nodes");
  if (!info) {
    std::string version = api_version.substr(api_version.find('/') + 1);
    return Error(ErrorCode::BadRequest,
                 "cannot bind token to object of type " + group + "/" + version + ", Kind=" + kind);
  }
  SKIFF_ASSIGN_OR_RETURN(json obj, read(*info, info->namespaced ? ns : "", name, nullptr));
  std::string want = ref.value("uid", "");
  if (!want.empty() && want != uidOf(obj)) return uidConflict(kind, name, want);
  sa::ObjectRef bound{name, uidOf(obj)};
  if (kind == "Secret") request.secret = bound;
  if (kind == "Node") request.node = bound;
  if (kind == "Pod") {
    if (str(obj, {"spec", "serviceAccountName"}) != sa_name) {
      return Error(ErrorCode::BadRequest, "cannot bind token for serviceaccount \"" + sa_name +
                                              "\" to pod running with different serviceaccount "
                                              "name.");
    }
    request.pod = bound;
    std::string node = str(obj, {"spec", "nodeName"});
    if (!node.empty()) {
      auto n = read(*findResource("", "v1", "nodes"), "", node, nullptr);
      if (n) request.node = sa::ObjectRef{node, uidOf(*n)};
    }
  }
  return ok();
}

Result<WriteResult> Registry::requestToken(const ResourceInfo& r, const std::string& ns,
                                           const std::string& name, const json& body,
                                           const WriteOptions& opts) {
  if (!options_.service_account_tokens) {
    return Error(ErrorCode::NotFound, "the server could not find the requested resource");
  }
  SKIFF_ASSIGN_OR_RETURN(json spec, defaultedSpec(body, name));
  SKIFF_ASSIGN_OR_RETURN(json account, read(r, ns, name, nullptr));
  sa::BoundTokenRequest request;
  request.ns = ns;
  request.service_account = {name, uidOf(account)};
  for (const auto& a : spec["audiences"])
    if (a.is_string()) request.audiences.push_back(a.get<std::string>());
  request.expiration_seconds = spec["expirationSeconds"].get<std::int64_t>();
  SKIFF_TRY(bindTokenRequest(ns, name, spec.value("boundObjectRef", json()), request));
  SKIFF_TRY(nodeRestriction(opts.user, request, spec.value("boundObjectRef", json())));
  auto now = std::chrono::duration_cast<std::chrono::seconds>(Clock::now().time_since_epoch());
  SKIFF_ASSIGN_OR_RETURN(auto issued,
                         options_.service_account_tokens->issueBound(request, now.count()));
  spec["audiences"] = issued.audiences;
  json out = {
      {"kind", "TokenRequest"},
      {"apiVersion", "authentication.k8s.io/v1"},
      {"metadata", {{"name", name}, {"namespace", ns}, {"creationTimestamp", nullptr}}},
      {"spec", spec},
      {"status",
       {{"token", issued.token},
        // The requested lifetime even when the token's exp was extended: the kubelet
        // refreshes at 80 % of what it asked for (upstream reports it the same way).
        {"expirationTimestamp",
         formatTime(Clock::time_point(now + std::chrono::seconds(request.expiration_seconds)))}}}};
  return WriteResult{out, true, true};
}

}  // namespace skiff::master::api
