// Handler::handle: authenticate, parse the route once, authorize, then dispatch to one function
// per verb (read.cc, write.cc), the node proxy (node_proxy.cc) or a non-resource path
// (non_resource.cc) (reference/kube-api-surface.md §0-§6).
#include "skiff/master/api/handler.h"

#include <algorithm>
#include <cctype>
#include <optional>

#include "handler_internal.h"
#include "skiff/master/api/impersonation.h"
#include "skiff/master/api/object_util.h"
#include "skiff/master/selectors.h"

namespace skiff::master::api {
namespace handler {

HttpResponse ResourceRequest::finish(HttpResponse resp) const {
  for (auto& w : warnings) resp.headers.push_back(w);
  return resp;
}

HttpResponse ResourceRequest::fail(const Error& e) const {
  return finish(errorResponse(e, &r, rt.name));
}

HttpResponse ResourceRequest::respondObject(int code, const json& obj) const {
  if (table && obj.value("kind", "") == r.kind) {
    json t = renderTable(r, {obj}, str(obj, {"metadata", "resourceVersion"}), "", Clock::now(),
                         includeObject(query));
    HttpResponse resp = tableResponse(t);
    resp.status = code;
    return finish(std::move(resp));
  }
  return finish(jsonResponse(code, obj));
}

namespace {

using VerbFn = HttpResponse (*)(ResourceRequest&);

// The verb table: one handler per Kubernetes verb.
const std::map<std::string, VerbFn>& verbTable() {
  static const std::map<std::string, VerbFn> verbs = {
      {"get", serveGet},       {"list", serveList},
      {"watch", serveWatch},   {"create", serveCreate},
      {"update", serveUpdate}, {"patch", servePatch},
      {"delete", serveDelete}, {"deletecollection", serveDeleteCollection},
  };
  return verbs;
}

// RequestInfo: a list, watch or deletecollection whose fieldSelector pins metadata.name is
// authorized (and audited) as a request for that name, so a Role's resourceNames can allow it
// (extension-apiserver-authentication-reader, which aggregated API servers list through).
std::string nameFromFieldSelector(const std::string& verb, const Query& query) {
  if (verb != "list" && verb != "watch" && verb != "deletecollection") return "";
  auto sel = FieldSelector::parse(q(query, "fieldSelector"));
  if (!sel) return "";
  for (const auto& t : sel->terms()) {
    if (t.field != "metadata.name" || !t.equal) continue;
    // IsValidPathSegmentName
    if (t.value.empty() || t.value == "." || t.value == ".." ||
        t.value.find_first_of("/%") != std::string::npos)
      return "";
    return t.value;
  }
  return "";
}

struct Caller {
  UserInfo user;
  bool authenticated = false;
};

// A client certificate (verified by TLS), else a bearer token, else system:anonymous (401
// instead when anonymous requests are off).
Result<Caller> authenticate(const HttpRequest& req, Authenticator& authn, bool anonymous_auth) {
  Caller c;
  if (req.cert_user) {
    c.user = *req.cert_user;
    c.authenticated = true;
  }
  std::string authz = req.header("authorization");
  if (!c.authenticated && authz.size() > 7 &&
      (authz.rfind("Bearer ", 0) == 0 || authz.rfind("bearer ", 0) == 0)) {
    std::string token = authz.substr(7);
    while (!token.empty() && token.back() == ' ') token.pop_back();
    SKIFF_ASSIGN_OR_RETURN(c.user, authn.authenticateToken(token));
    c.authenticated = true;
  }
  if (!c.authenticated && !anonymous_auth) return Error(ErrorCode::Unauthorized, "Unauthorized");
  if (!c.authenticated) c.user = {"system:anonymous", {"system:unauthenticated"}};
  return c;
}

// Impersonate-* headers: the request acts as the impersonated user once the caller may.
Result<Caller> impersonateIfAsked(const HttpRequest& req, Registry& registry, Caller c) {
  ImpersonationRequest ir = impersonationOf(req.headers);
  if (!ir.any()) return c;
  SKIFF_ASSIGN_OR_RETURN(c.user, impersonate(registry, c.user, ir));
  return c;
}

// Warning: 299 - "<text>" with the text quoted as Go's strconv.Quote (kube-apiserver).
std::string warningHeader(const std::string& text) {
  std::string out = "299 - \"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// The request as the audit policy sees it, before authorization.
RequestAuditInfo auditInfoOf(const HttpRequest& req, const std::string& path, const Route& rt,
                             const Query& query, const UserInfo* user) {
  RequestAuditInfo a;
  a.audit_id = req.header("audit-id").empty() ? newUid() : req.header("audit-id");
  if (user) a.user = *user;
  a.path = path;
  a.resource_request = rt.resource && rt.info;
  if (!a.resource_request) {
    a.verb = req.method;
    for (char& c : a.verb) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return a;
  }
  a.verb = verbFor(req.method, rt, rt.legacy_watch || qbool(query, "watch"));
  a.api_group = rt.group;
  a.api_version = rt.version;
  a.resource = rt.info->resource;
  a.subresource = rt.subresource;
  a.ns = rt.ns;
  a.name = rt.name.empty() ? nameFromFieldSelector(a.verb, query) : rt.name;
  return a;
}

HttpResponse handleNonResource(Registry& registry, const HandlerOptions& options,
                               const HttpRequest& req, const std::string& path,
                               const std::vector<std::string>& seg, const Caller& caller,
                               RequestAuditInfo& audit) {
  RequestAttributes a;
  a.verb = req.method == "GET" || req.method == "HEAD" ? "get" : "post";
  a.path = path.size() > 1 && path.back() == '/' ? path.substr(0, path.size() - 1) : path;
  auto az = authorize(registry, caller.user, a);
  audit.authz_decision = az ? "allow" : "forbid";
  if (!az) return errorResponse(az.error());
  return serveNonResource(a.path, seg, req.header("accept"), options);
}

// What a write says besides its body: dryRun, fieldManager (default: the user agent's
// program name), force.
Result<WriteOptions> writeOptionsOf(const HttpRequest& req, const Query& query,
                                    const UserInfo& user) {
  WriteOptions wopts;
  wopts.user = user;
  wopts.dry_run = q(query, "dryRun") == "All";
  if (!q(query, "dryRun").empty() && q(query, "dryRun") != "All") {
    return Error(ErrorCode::BadRequest,
                 "Invalid dryRun: " + q(query, "dryRun") + ": supported values: \"All\"");
  }
  wopts.field_manager = q(query, "fieldManager");
  if (wopts.field_manager.empty()) {
    std::string ua = req.header("user-agent");
    wopts.field_manager = ua.substr(0, ua.find('/'));
    if (wopts.field_manager.empty()) wopts.field_manager = "unknown";
  }
  wopts.force = qbool(query, "force");
  return wopts;
}

Result<Selection> selectionOf(const Query& query) {
  Selection sel;
  sel.label_selector = q(query, "labelSelector");
  sel.field_selector = q(query, "fieldSelector");
  sel.continue_token = q(query, "continue");
  sel.resource_version = q(query, "resourceVersion");
  sel.allow_watch_bookmarks = qbool(query, "allowWatchBookmarks");
  sel.send_initial_events = qbool(query, "sendInitialEvents");
  if (!q(query, "limit").empty()) {
    try {
      sel.limit = std::max(0LL, std::stoll(q(query, "limit")));
    } catch (...) {
      return Error(ErrorCode::BadRequest, "invalid limit: " + q(query, "limit"));
    }
  }
  if (sel.send_initial_events && !sel.allow_watch_bookmarks) {
    return Error(ErrorCode::Invalid,
                 "ListOptions.meta.k8s.io \"\" is invalid: sendInitialEvents: Forbidden: "
                 "sendInitialEvents requires setting allowWatchBookmarks to true");
  }
  return sel;
}

// 404 for routes no resource serves; "" when the route is servable, else the response.
std::optional<HttpResponse> checkRoute(const HttpRequest& req, const Route& rt,
                                       const std::string& verb) {
  const ResourceInfo& r = *rt.info;
  if (verb.empty()) return methodNotAllowed(req.method, r);
  const auto& served = r.servedVerbs();
  if (rt.subresource.empty() && std::find(served.begin(), served.end(), verb) == served.end())
    return methodNotAllowed(req.method, r);
  if (!rt.subresource.empty() && !r.hasSubresource(rt.subresource)) return notFoundPath();
  if (r.namespaced && rt.ns.empty() && !rt.name.empty()) return notFoundPath();
  if (r.namespaced && rt.ns.empty() && verb != "list" && verb != "watch") return notFoundPath();
  return std::nullopt;
}

HttpResponse handleResource(Registry& registry, const HandlerOptions& options,
                            const HttpRequest& req, const std::string& path, const Route& rt,
                            const Query& query, const Caller& caller, RequestAuditInfo& audit) {
  if (rt.unknown || !rt.info) return notFoundPath();
  const ResourceInfo& r = *rt.info;
  std::string verb = verbFor(req.method, rt, rt.legacy_watch || qbool(query, "watch"));
  // The proxy subresources relay OPTIONS too; it maps to no verb, as in kube-apiserver's
  // RequestInfo, so only a "*" rule allows it.
  bool proxy = isProxySubresource(rt);
  if (proxy && req.method == "OPTIONS") verb = "*";
  if (auto bad = checkRoute(req, rt, verb)) return std::move(*bad);
  if (proxy && req.method == "OPTIONS") verb = "";

  RequestAttributes attrs{verb,
                          &r,
                          rt.subresource,
                          rt.ns,
                          rt.name.empty() ? nameFromFieldSelector(verb, query) : rt.name,
                          path};
  // exec/attach/portforward are "create" on the subresource even when sent as GET (websocket).
  if (rt.subresource == "exec" || rt.subresource == "attach" || rt.subresource == "portforward")
    attrs.verb = "create";
  auto az = authorize(registry, caller.user, attrs);
  audit.authz_decision = az ? "allow" : "forbid";
  if (!az) return errorResponse(az.error());
  // A proxied request's query is the backend's: no dryRun or fieldManager of ours.
  auto wopts =
      proxy ? Result<WriteOptions>(WriteOptions{}) : writeOptionsOf(req, query, caller.user);
  if (!wopts) return errorResponse(wopts.error());
  wopts->notes = &audit.notes;

  ResourceRequest rq{req,   rt,       r,       query,  caller.user,
                     attrs, registry, options, *wopts, q(query, "fieldValidation"),
                     {},    false,    {}};
  if (!r.deprecation.empty()) {
    rq.warnings.emplace_back("Warning", "299 - \"" + r.deprecation + "\"");
  }
  if (isNodeProxy(rt)) return serveNodeProxy(rq);
  if (proxy) return serveProxySubresource(rq);
  auto sel = selectionOf(query);
  if (!sel) return rq.fail(sel.error());
  rq.sel = std::move(sel).value();
  rq.table = wantsTable(req.header("accept"));
  // The review kinds have no table form (kube-apiserver gives them no TableConvertor): a client
  // that accepts nothing but a Table gets 406 there, any other the object.
  if (rq.table && r.verbs == std::vector<std::string>{"create"}) {
    if (acceptsOnlyConversions(req.header("accept"))) return notAcceptable();
    rq.table = false;
  }
  HttpResponse resp = verbTable().at(verb)(rq);
  for (const std::string& w : audit.notes.warnings)
    resp.headers.emplace_back("Warning", warningHeader(w));
  return resp;
}

}  // namespace
}  // namespace handler

HttpResponse Handler::handle(const HttpRequest& req) {
  using namespace handler;
  std::string path = req.target, query_string;
  if (auto qp = path.find('?'); qp != std::string::npos) {
    query_string = path.substr(qp + 1);
    path = path.substr(0, qp);
  }
  Query query = parseQuery(query_string);
  std::vector<std::string> seg = splitPath(path);
  Route rt = parseRoute(seg);
  auto caller = authenticate(req, authn_, options_.anonymous_auth);
  if (caller) caller = impersonateIfAsked(req, registry_, std::move(caller).value());
  RequestAuditInfo audit = auditInfoOf(req, path, rt, query, caller ? &caller->user : nullptr);
  std::unique_ptr<AuditRecord> record = auditor_ ? auditor_->begin(req, audit) : nullptr;
  // Group-versions served through an APIService go to their backend (aggregated.cc).
  std::optional<HttpResponse> proxied =
      caller ? serveAggregated(registry_, options_, req, seg, caller->user, caller->authenticated)
             : std::nullopt;
  HttpResponse resp =
      proxied        ? std::move(*proxied)
      : !caller      ? errorResponse(caller.error())
      : !rt.resource ? handleNonResource(registry_, options_, req, path, seg, *caller, audit)
                     : handleResource(registry_, options_, req, path, rt, query, *caller, audit);
  if (path == "/apis") mergeAggregatedDiscovery(options_, req.header("accept"), resp);
  resp.headers.emplace_back("Audit-Id", audit.audit_id);
  if (record) record->finish(audit, resp);
  return resp;
}

}  // namespace skiff::master::api
