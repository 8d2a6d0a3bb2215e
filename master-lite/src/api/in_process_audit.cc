// In-process calls as audited requests (in_process_audit.h).
#include "in_process_audit.h"

#include "skiff/common/version.h"
#include "skiff/master/api/empty_response_stream.h"
#include "skiff/master/api/object_util.h"

namespace skiff::master::api {
namespace {

const char* methodOf(const std::string& verb) {
  if (verb == "create") return "POST";
  if (verb == "update") return "PUT";
  if (verb == "patch") return "PATCH";
  if (verb == "delete") return "DELETE";
  return "GET";  // get, list, watch
}

// /api/v1/namespaces/<ns>/<resource>/<name>/<subresource>, or /apis/<group>/<version>/...
std::string pathOf(const ResourceInfo& r, const std::string& subresource, const std::string& ns,
                   const std::string& name) {
  std::string p = r.group.empty() ? "/api/" + r.version : "/apis/" + r.group + "/" + r.version;
  if (r.namespaced && !ns.empty()) p += "/namespaces/" + ns;
  p += "/" + r.resource;
  if (!name.empty()) p += "/" + name;
  if (!subresource.empty()) p += "/" + subresource;
  return p;
}

}  // namespace

std::string inProcessUserAgent(const InProcessIdentity& identity) {
  const std::string& user = identity.user.name;
  std::string component = identity.field_manager.empty() ? "skiff-master" : identity.field_manager;
  std::string ua = component + "/" + kKubeVersion + " (linux/amd64) kubernetes/skiff";
  const std::string sa = "system:serviceaccount:kube-system:";
  if (user.rfind(sa, 0) == 0) return ua + "/" + user.substr(sa.size());
  if (component == "kube-scheduler") return ua + "/scheduler";
  return ua;
}

std::optional<InProcessAudit::Call> InProcessAudit::begin(
    const std::string& verb, const ResourceInfo& r, const std::string& subresource,
    const std::string& ns, const std::string& name, const nlohmann::json* body,
    const std::string& query) const {
  if (auditor_ == nullptr) return std::nullopt;
  Call c;
  c.info.audit_id = newUid();
  c.info.user = user_;
  c.info.verb = verb;
  c.info.resource_request = true;
  c.info.api_group = r.group;
  c.info.api_version = r.version;
  c.info.resource = r.resource;
  c.info.subresource = subresource;
  c.info.ns = r.namespaced ? ns : "";
  c.info.name = name;
  c.info.path = pathOf(r, subresource, c.info.ns, name);
  c.request = std::make_unique<HttpRequest>();
  HttpRequest& req = *c.request;
  req.method = methodOf(verb);
  req.target = c.info.path + (query.empty() ? "" : "?" + query);
  req.headers["user-agent"] = user_agent_;
  req.remote_addr = "127.0.0.1";  // the loopback a co-located kube-controller-manager uses
  if (body != nullptr) req.headers["content-type"] = "application/json";
  c.record = auditor_->begin(req, c.info);
  if (!c.record) return std::nullopt;
  // Serialized only for a call the policy audits (the record reads it when it finishes).
  if (body != nullptr) req.body = body->dump();
  return c;
}

void InProcessAudit::decided(std::optional<Call>& call, const Result<void>& allowed) {
  if (call) call->info.authz_decision = allowed ? "allow" : "forbid";
}

void InProcessAudit::finish(std::optional<Call>& call, const Result<nlohmann::json>& result,
                            bool created) {
  if (!call) return;
  HttpResponse resp;
  if (result) {
    resp.status = created ? 201 : 200;
    resp.body = result->dump();
  } else {
    resp = errorResponse(result.error());
  }
  call->record->finish(call->info, resp);
  call.reset();
}

std::unique_ptr<ResponseStream> InProcessAudit::finishWatch(std::optional<Call>& call) {
  if (!call) return nullptr;
  HttpResponse resp;
  // The watch's body as the record sees it: nothing; it ends when the watch stops.
  resp.stream = std::make_unique<EmptyResponseStream>();
  call->record->finish(call->info, resp);
  call.reset();
  return std::move(resp.stream);
}

}  // namespace skiff::master::api
