// Routing, content negotiation, authorization and Status errors for the Kubernetes REST API
// (reference/kube-api-surface.md §0-§6).
#include "skiff/master/api/handler.h"

#include <algorithm>
#include <mutex>

#include "skiff/common/version.h"
#include "skiff/master/api/discovery.h"
#include "skiff/master/api/object_util.h"
#include "skiff/master/api/protobuf.h"
#include "skiff/master/api/tables.h"
#include "strict_fields.h"

namespace skiff::master::api {
namespace {

using Query = std::multimap<std::string, std::string>;

std::string q(const Query& query, const std::string& k) {
  auto it = query.find(k);
  return it == query.end() ? "" : it->second;
}

bool qbool(const Query& query, const std::string& k) {
  std::string v = q(query, k);
  std::transform(v.begin(), v.end(), v.begin(), ::tolower);
  return v == "true" || v == "1";
}

HttpResponse jsonResponse(int status, const json& body) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump();
  return r;
}

HttpResponse textResponse(int status, const std::string& body) {
  HttpResponse r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = body;
  return r;
}

std::string reasonFor(ErrorCode c) {
  switch (c) {
    case ErrorCode::NotFound:
      return "NotFound";
    case ErrorCode::AlreadyExists:
      return "AlreadyExists";
    case ErrorCode::Conflict:
      return "Conflict";
    case ErrorCode::Invalid:
      return "Invalid";
    case ErrorCode::BadRequest:
      return "BadRequest";
    case ErrorCode::Forbidden:
      return "Forbidden";
    case ErrorCode::Unauthorized:
      return "Unauthorized";
    case ErrorCode::Gone:
      return "Expired";
    case ErrorCode::TooLarge:
      return "RequestEntityTooLarge";
    case ErrorCode::Unsupported:
      return "UnsupportedMediaType";
    case ErrorCode::Unavailable:
      return "ServiceUnavailable";
    case ErrorCode::Timeout:
      return "Timeout";
    default:
      return "InternalError";
  }
}

// Invalid messages carry "<field>: <detail>" parts; rebuild StatusCauses from them.
json causesFrom(const std::string& msg) {
  json causes = json::array();
  auto pos = msg.find(" is invalid: ");
  if (pos == std::string::npos) return causes;
  std::string rest = msg.substr(pos + 13);
  std::vector<std::string> parts;
  if (!rest.empty() && rest.front() == '[' && rest.back() == ']') {
    rest = rest.substr(1, rest.size() - 2);
    std::size_t start = 0;
    // Parts are separated by ", " followed by a field path and ": ".
    for (std::size_t i = 0; i + 2 < rest.size(); ++i) {
      if (rest[i] == ',' && rest[i + 1] == ' ') {
        std::string next = rest.substr(i + 2, 80);
        auto colon = next.find(": ");
        auto space = next.find(' ');
        if (colon != std::string::npos && (space == std::string::npos || colon < space)) {
          parts.push_back(rest.substr(start, i - start));
          start = i + 2;
        }
      }
    }
    parts.push_back(rest.substr(start));
  } else {
    parts.push_back(rest);
  }
  for (const auto& p : parts) {
    auto colon = p.find(": ");
    if (colon == std::string::npos) continue;
    std::string field = p.substr(0, colon), m = p.substr(colon + 2);
    std::string reason = "FieldValueInvalid";
    if (m.rfind("Required value", 0) == 0)
      reason = "FieldValueRequired";
    else if (m.rfind("Unsupported value", 0) == 0)
      reason = "FieldValueNotSupported";
    else if (m.rfind("Duplicate value", 0) == 0)
      reason = "FieldValueDuplicate";
    else if (m.rfind("Forbidden", 0) == 0)
      reason = "FieldValueForbidden";
    else if (m.rfind("Too long", 0) == 0)
      reason = "FieldValueTooLong";
    causes.push_back({{"reason", reason}, {"message", m}, {"field", field}});
  }
  return causes;
}

struct Route {
  bool resource = false;
  std::string group, version;
  const ResourceInfo* info = nullptr;
  std::string ns, name, subresource;
  bool legacy_watch = false;
  bool unknown = false;
};

std::vector<std::string> splitPath(const std::string& path) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    std::size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) out.push_back(urlDecode(path.substr(i, j - i), false));
    i = j;
  }
  return out;
}

// /api/v1/..., /apis/<g>/<v>/... -> resource route.
Route route(const std::vector<std::string>& seg) {
  Route r;
  std::size_t i;
  if (seg.size() >= 2 && seg[0] == "api") {
    r.group = "";
    r.version = seg[1];
    i = 2;
  } else if (seg.size() >= 3 && seg[0] == "apis") {
    r.group = seg[1];
    r.version = seg[2];
    i = 3;
  } else {
    return r;
  }
  if (i >= seg.size()) return r;
  r.resource = true;
  std::vector<std::string> rest(seg.begin() + static_cast<long>(i), seg.end());
  if (!rest.empty() && rest[0] == "watch") {
    r.legacy_watch = true;
    rest.erase(rest.begin());
  }
  if (rest.size() >= 3 && rest[0] == "namespaces") {
    const ResourceInfo* nsinfo = findResource(r.group, r.version, "namespaces");
    if (nsinfo && rest.size() == 3 && nsinfo->hasSubresource(rest[2])) {
      r.info = nsinfo;
      r.name = rest[1];
      r.subresource = rest[2];
      return r;
    }
    r.ns = rest[1];
    rest.erase(rest.begin(), rest.begin() + 2);
  }
  if (rest.empty() || rest.size() > 3) {
    r.unknown = true;
    return r;
  }
  r.info = findResource(r.group, r.version, rest[0]);
  if (!r.info) {
    r.unknown = true;
    return r;
  }
  if (rest.size() >= 2) r.name = rest[1];
  if (rest.size() == 3) r.subresource = rest[2];
  if (!r.info->namespaced && !r.ns.empty()) r.unknown = true;
  return r;
}

HttpResponse notFoundPath() {
  return jsonResponse(404, {{"kind", "Status"},
                            {"apiVersion", "v1"},
                            {"metadata", json::object()},
                            {"status", "Failure"},
                            {"message", "the server could not find the requested resource"},
                            {"reason", "NotFound"},
                            {"details", json::object()},
                            {"code", 404}});
}

HttpResponse methodNotAllowed(const std::string& verb, const ResourceInfo& r) {
  return jsonResponse(
      405, {{"kind", "Status"},
            {"apiVersion", "v1"},
            {"metadata", json::object()},
            {"status", "Failure"},
            {"message", verb + " is not supported on resources of kind \"" + r.resource + "\""},
            {"reason", "MethodNotAllowed"},
            {"details", json::object()},
            {"code", 405}});
}

bool wantsTable(const std::string& accept) { return accept.find("as=Table") != std::string::npos; }

TableObject includeObject(const Query& query) {
  std::string v = q(query, "includeObject");
  if (v == "None") return TableObject::None;
  if (v == "Object") return TableObject::Object;
  return TableObject::Metadata;
}

HttpResponse tableResponse(const json& table) {
  HttpResponse r = jsonResponse(200, table);
  r.content_type = "application/json;as=Table;v=v1;g=meta.k8s.io";
  return r;
}

// A watch as a chunked stream of newline-terminated events.
class WatchStream : public ResponseStream {
 public:
  WatchStream(WatchQueuePtr q, const ResourceInfo& r, bool table, TableObject include,
              std::chrono::steady_clock::time_point deadline, bool bookmarks)
      : q_(std::move(q)),
        r_(r),
        table_(table),
        include_(include),
        deadline_(deadline),
        bookmarks_(bookmarks) {}
  ~WatchStream() override { q_->stop(); }

  bool read(std::string& out) override {
    auto items = q_->next(512);
    for (auto& it : items) {
      if (table_ && (it.type == WatchEventType::Added || it.type == WatchEventType::Modified ||
                     it.type == WatchEventType::Deleted)) {
        std::lock_guard l(mu_);
        json t = renderTable(r_, {it.object}, str(it.object, {"metadata", "resourceVersion"}), "",
                             Clock::now(), include_, first_);
        first_ = false;
        out += encodeWatchLine(WatchQueue::Item{it.type, std::move(t), ""});
      } else {
        out += encodeWatchLine(it);
      }
    }
    if (items.empty() && q_->closed()) return false;
    return true;
  }
  void setNotify(std::function<void()> fn) override { q_->setNotify(std::move(fn)); }
  std::chrono::steady_clock::time_point deadline() const override { return deadline_; }
  std::string idle() override {
    if (!bookmarks_) return "";
    return encodeWatchLine(q_->bookmark());
  }

 private:
  WatchQueuePtr q_;
  const ResourceInfo& r_;
  bool table_;
  TableObject include_;
  std::chrono::steady_clock::time_point deadline_;
  bool bookmarks_;
  std::mutex mu_;
  bool first_ = true;
};

// A stream that carries one ERROR event then ends (410 for a compacted resourceVersion: Python
// only understands the in-stream form, client-go both).
class ErrorStream : public ResponseStream {
 public:
  explicit ErrorStream(json status)
      : line_(json{{"type", "ERROR"}, {"object", std::move(status)}}.dump() + "\n") {}
  bool read(std::string& out) override {
    out += line_;
    line_.clear();
    return false;
  }
  void setNotify(std::function<void()> fn) override {
    if (fn) fn();
  }
  std::chrono::steady_clock::time_point deadline() const override {
    return std::chrono::steady_clock::time_point::max();
  }
  std::string idle() override { return ""; }

 private:
  std::string line_;
};

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
    if (body.value("orphanDependents", false)) d.propagation_policy = "Orphan";
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
  return d;
}

std::string verbFor(const std::string& method, const Route& r, bool watch) {
  if (method == "GET") {
    if (!r.name.empty()) return "get";
    return watch ? "watch" : "list";
  }
  if (method == "POST") return "create";
  if (method == "PUT") return "update";
  if (method == "PATCH") return "patch";
  if (method == "DELETE") return r.name.empty() ? "deletecollection" : "delete";
  return "";
}

}  // namespace

std::string urlDecode(const std::string& s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else if (s[i] == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

int httpCodeFor(ErrorCode c) {
  switch (c) {
    case ErrorCode::NotFound:
      return 404;
    case ErrorCode::AlreadyExists:
      return 409;
    case ErrorCode::Conflict:
      return 409;
    case ErrorCode::Invalid:
      return 422;
    case ErrorCode::BadRequest:
      return 400;
    case ErrorCode::Forbidden:
      return 403;
    case ErrorCode::Unauthorized:
      return 401;
    case ErrorCode::Gone:
      return 410;
    case ErrorCode::TooLarge:
      return 413;
    case ErrorCode::Unsupported:
      return 415;
    case ErrorCode::Unavailable:
      return 503;
    case ErrorCode::Timeout:
      return 504;
    default:
      return 500;
  }
}

json statusFromError(const Error& e, const ResourceInfo* r, const std::string& name) {
  int code = httpCodeFor(e.code());
  std::string reason = reasonFor(e.code());
  if (e.message().rfind("Cannot evict pod", 0) == 0) {
    code = 429;
    reason = "TooManyRequests";
  }
  json s = {{"kind", "Status"},    {"apiVersion", "v1"},     {"metadata", json::object()},
            {"status", "Failure"}, {"message", e.message()}, {"reason", reason},
            {"code", code}};
  json details = json::object();
  if (r && e.code() != ErrorCode::BadRequest && e.code() != ErrorCode::Unauthorized) {
    if (!name.empty()) details["name"] = name;
    if (e.code() == ErrorCode::Invalid) {
      details["group"] = r->group;
      details["kind"] = r->kind;
      details["causes"] = causesFrom(e.message());
    } else {
      details["group"] = r->group;
      details["kind"] = r->resource;
    }
    // Namespace lookups on create name the namespace, not the object.
    if (e.code() == ErrorCode::NotFound && e.message().rfind("namespaces \"", 0) == 0 &&
        r->resource != "namespaces") {
      details = {{"name", e.message().substr(12, e.message().find('"', 12) - 12)},
                 {"kind", "namespaces"}};
    }
  }
  if (e.code() == ErrorCode::Conflict && e.message().rfind("Apply failed", 0) == 0) {
    details["causes"] = json::array();
    std::string m = e.message();
    std::size_t pos = 0;
    while ((pos = m.find('.', pos)) != std::string::npos) {
      std::size_t end = m.find('\n', pos);
      std::string field = m.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
      if (field.find(' ') == std::string::npos) {
        details["causes"].push_back(
            {{"reason", "FieldManagerConflict"}, {"message", "conflict"}, {"field", field}});
      }
      if (end == std::string::npos) break;
      pos = end;
    }
  }
  if (!details.empty()) s["details"] = details;
  return s;
}

HttpResponse errorResponse(const Error& e, const ResourceInfo* r, const std::string& name) {
  json s = statusFromError(e, r, name);
  return jsonResponse(s["code"].get<int>(), s);
}

HttpResponse Handler::handle(const HttpRequest& req) {
  std::string path = req.target, query_string;
  if (auto qp = path.find('?'); qp != std::string::npos) {
    query_string = path.substr(qp + 1);
    path = path.substr(0, qp);
  }
  Query query;
  std::size_t pos = 0;
  while (pos < query_string.size()) {
    std::size_t amp = query_string.find('&', pos);
    if (amp == std::string::npos) amp = query_string.size();
    std::string kv = query_string.substr(pos, amp - pos);
    auto eq = kv.find('=');
    if (!kv.empty()) {
      query.emplace(urlDecode(kv.substr(0, eq), true),
                    eq == std::string::npos ? "" : urlDecode(kv.substr(eq + 1), true));
    }
    pos = amp + 1;
  }

  // Authentication: client certificate (verified by TLS), else a bearer token.
  UserInfo user;
  bool authenticated = false;
  if (req.cert_user) {
    user = *req.cert_user;
    authenticated = true;
  }
  std::string authz = req.header("authorization");
  if (!authenticated && authz.size() > 7 &&
      (authz.rfind("Bearer ", 0) == 0 || authz.rfind("bearer ", 0) == 0)) {
    std::string token = authz.substr(7);
    while (!token.empty() && token.back() == ' ') token.pop_back();
    auto u = authn_.authenticateToken(token);
    if (!u) return errorResponse(u.error());
    user = *u;
    authenticated = true;
  }
  if (!authenticated) user = {"system:anonymous", {"system:unauthenticated"}};

  std::vector<std::string> seg = splitPath(path);
  Route rt = route(seg);
  std::string accept = req.header("accept");

  if (!rt.resource) {
    RequestAttributes a;
    a.verb = req.method == "GET" || req.method == "HEAD" ? "get" : "post";
    a.path = path.size() > 1 && path.back() == '/' ? path.substr(0, path.size() - 1) : path;
    if (!authenticated && !(a.path == "/healthz" || a.path == "/livez" || a.path == "/readyz" ||
                            a.path == "/version")) {
      return errorResponse(Error(ErrorCode::Unauthorized, "Unauthorized"));
    }
    if (auto az = authorize(registry_, user, a); !az) return errorResponse(az.error());
    const std::string& p = a.path;
    if (p == "/healthz" || p == "/livez" || p == "/healthz/ping" || p == "/livez/ping") {
      return textResponse(200, "ok");
    }
    if (p == "/readyz" || p.rfind("/readyz/", 0) == 0) {
      bool ready = !options_.ready || options_.ready();
      return textResponse(
          ready ? 200 : 500,
          ready ? "ok" : "[-]skiff-ready failed: not ready yet\nreadyz check failed");
    }
    if (p == "/version") {
      std::string gv = kKubeVersion;
      std::string minor = gv.substr(gv.find('.') + 1);
      minor = minor.substr(0, minor.find('.'));
      return jsonResponse(200, {{"major", "1"},
                                {"minor", minor},
                                {"gitVersion", gv},
                                {"gitCommit", std::string("skiff-") + kVersion},
                                {"gitTreeState", "clean"},
                                {"buildDate", "2025-01-01T00:00:00Z"},
                                {"goVersion", "go1.23.4"},
                                {"compiler", "gc"},
                                {"platform", "linux/amd64"}});
    }
    if (p == "/api" || p == "/apis") {
      std::string v = aggregatedDiscoveryVersion(accept);
      if (!v.empty()) {
        HttpResponse r = jsonResponse(200, aggregatedDiscovery(p == "/api", v));
        r.content_type =
            "application/json;g=apidiscovery.k8s.io;v=" + v + ";as=APIGroupDiscoveryList";
        r.headers.emplace_back("Vary", "Accept");
        return r;
      }
      HttpResponse r =
          jsonResponse(200, p == "/api" ? apiVersions(options_.server_address) : apiGroupList());
      r.headers.emplace_back("Vary", "Accept");
      return r;
    }
    if (seg.size() == 2 && seg[0] == "api") {
      json l = apiResourceList("", seg[1]);
      return l.is_null() ? notFoundPath() : jsonResponse(200, l);
    }
    if (seg.size() == 2 && seg[0] == "apis") {
      json g = apiGroup(seg[1]);
      return g.is_null() ? notFoundPath() : jsonResponse(200, g);
    }
    if (seg.size() == 3 && seg[0] == "apis") {
      json l = apiResourceList(seg[1], seg[2]);
      return l.is_null() ? notFoundPath() : jsonResponse(200, l);
    }
    if (p == "/openapi/v3") return jsonResponse(200, {{"paths", json::object()}});
    if (p == "/openapi/v2") {
      // An empty protobuf Document: kubectl then skips client-side schema checks (the server
      // validates). See reference §2 for why the Content-Type has no '@'.
      HttpResponse r;
      r.status = 200;
      r.content_type = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";
      return r;
    }
    return notFoundPath();
  }

  if (!authenticated) return errorResponse(Error(ErrorCode::Unauthorized, "Unauthorized"));
  if (rt.unknown || !rt.info) {
    if (!rt.group.empty() || rt.version != "v1") {
      if (apiResourceList(rt.group, rt.version).is_null()) return notFoundPath();
    }
    return notFoundPath();
  }
  const ResourceInfo& r = *rt.info;
  bool watch = rt.legacy_watch || qbool(query, "watch");
  std::string verb = verbFor(req.method, rt, watch);
  if (verb.empty()) return methodNotAllowed(req.method, r);
  if (!rt.subresource.empty() && !r.hasSubresource(rt.subresource)) return notFoundPath();
  if (r.namespaced && rt.ns.empty() && !rt.name.empty()) return notFoundPath();
  if (r.namespaced && rt.ns.empty() && verb != "list" && verb != "watch") {
    return notFoundPath();
  }

  RequestAttributes attrs{verb, &r, rt.subresource, rt.ns, rt.name, path};
  // exec/attach/portforward are "create" on the subresource even when sent as GET (websocket).
  if (rt.subresource == "exec" || rt.subresource == "attach" || rt.subresource == "portforward")
    attrs.verb = "create";
  if (auto az = authorize(registry_, user, attrs); !az) return errorResponse(az.error());

  WriteOptions wopts;
  wopts.user = user;
  wopts.dry_run = q(query, "dryRun") == "All";
  if (!q(query, "dryRun").empty() && q(query, "dryRun") != "All") {
    return errorResponse(Error(ErrorCode::BadRequest, "Invalid dryRun: " + q(query, "dryRun") +
                                                          ": supported values: \"All\""));
  }
  wopts.field_manager = q(query, "fieldManager");
  if (wopts.field_manager.empty()) {
    std::string ua = req.header("user-agent");
    wopts.field_manager = ua.substr(0, ua.find('/'));
    if (wopts.field_manager.empty()) wopts.field_manager = "unknown";
  }
  wopts.force = qbool(query, "force");
  std::string validation = q(query, "fieldValidation");
  std::vector<std::pair<std::string, std::string>> warnings;
  if (!r.deprecation.empty()) warnings.emplace_back("Warning", "299 - \"" + r.deprecation + "\"");

  auto finish = [&](HttpResponse resp) {
    for (auto& w : warnings) resp.headers.push_back(w);
    return resp;
  };
  auto fail = [&](const Error& e) { return finish(errorResponse(e, &r, rt.name)); };

  // Body checks shared by writes.
  auto bodyFor = [&](bool allow_empty) -> Result<json> {
    if (req.body.size() > options_.max_body_bytes) {
      return Error(ErrorCode::TooLarge, "the request body is too large (limit 3 MiB)");
    }
    SKIFF_ASSIGN_OR_RETURN(json body, parseBody(req, allow_empty));
    if ((validation == "Strict" || validation == "Warn") && body.is_object() &&
        rt.subresource.empty()) {
      auto unknown = unknownFields(r, body);
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
    return body;
  };

  // Subresources proxied to the node agent.
  if (r.kind == "Pod" && (rt.subresource == "log" || rt.subresource == "exec" ||
                          rt.subresource == "attach" || rt.subresource == "portforward")) {
    auto pod = registry_.get(r, rt.ns, rt.name);
    if (!pod) return fail(pod.error());
    std::string node = str(*pod, {"spec", "nodeName"});
    if (node.empty()) {
      return fail(
          Error(ErrorCode::BadRequest, "pod " + rt.name + " does not have a host assigned"));
    }
    std::string container = q(query, "container");
    std::vector<std::string> names;
    for (const auto& c : at(*pod, {"spec", "containers"}).is_array()
                             ? at(*pod, {"spec", "containers"})
                             : json::array()) {
      names.push_back(c.value("name", ""));
    }
    for (const auto& c : at(*pod, {"spec", "initContainers"}).is_array()
                             ? at(*pod, {"spec", "initContainers"})
                             : json::array()) {
      if (!container.empty() && c.value("name", "") == container) names.push_back(container);
    }
    if (rt.subresource != "portforward") {
      if (container.empty()) {
        std::string def =
            str(*pod, {"metadata", "annotations", "kubectl.kubernetes.io/default-container"});
        if (names.size() == 1) {
          container = names[0];
        } else if (!def.empty()) {
          container = def;
        } else {
          std::string list;
          for (const auto& n : names) list += (list.empty() ? "" : " ") + n;
          return fail(Error(ErrorCode::BadRequest, "a container name must be specified for pod " +
                                                       rt.name + ", choose one of: [" + list +
                                                       "]"));
        }
      } else if (std::find(names.begin(), names.end(), container) == names.end()) {
        return fail(Error(ErrorCode::BadRequest,
                          "container " + container + " is not valid for pod " + rt.name));
      }
    }
    auto nodeobj = registry_.get(*findResource("", "v1", "nodes"), "", node);
    if (!nodeobj) return fail(Error(ErrorCode::NotFound, "nodes \"" + node + "\" not found"));
    ProxyTarget t;
    const json& addrs = at(*nodeobj, {"status", "addresses"});
    std::string host;
    for (const char* type : {"InternalIP", "ExternalIP", "Hostname"}) {
      if (!host.empty() || !addrs.is_array()) break;
      for (const auto& a : addrs) {
        if (a.value("type", "") == type) {
          host = a.value("address", "");
          break;
        }
      }
    }
    if (host.empty())
      return fail(
          Error(ErrorCode::BadRequest, "node " + node + " has no address to reach its agent"));
    t.host = host;
    const json& port = at(*nodeobj, {"status", "daemonEndpoints", "kubeletEndpoint", "Port"});
    if (port.is_number_integer() && port.get<int>() > 0) t.port = port.get<int>();
    std::string qs;
    auto add = [&](const std::string& k, const std::string& v) {
      static const char hex[] = "0123456789ABCDEF";
      std::string enc;
      for (unsigned char ch : v) {
        if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~')
          enc += static_cast<char>(ch);
        else {
          enc += '%';
          enc += hex[ch >> 4];
          enc += hex[ch & 15];
        }
      }
      qs += (qs.empty() ? "?" : "&") + k + "=" + enc;
    };
    if (rt.subresource == "log") {
      for (const char* k : {"follow", "previous", "sinceSeconds", "sinceTime", "timestamps",
                            "tailLines", "limitBytes", "stream"}) {
        if (query.count(k)) add(k, q(query, k));
      }
      t.path = "/containerLogs/" + rt.ns + "/" + rt.name + "/" + container + qs;
    } else if (rt.subresource == "portforward") {
      for (auto it = query.lower_bound("ports"); it != query.upper_bound("ports"); ++it)
        add("port", it->second);
      t.path = "/portForward/" + rt.ns + "/" + rt.name + qs;
      t.upgrade = true;
    } else {
      for (auto it = query.lower_bound("command"); it != query.upper_bound("command"); ++it)
        add("command", it->second);
      if (qbool(query, "stdin")) add("input", "1");
      if (qbool(query, "stdout")) add("output", "1");
      if (qbool(query, "stderr")) add("error", "1");
      if (qbool(query, "tty")) add("tty", "1");
      t.path = "/" + rt.subresource + "/" + rt.ns + "/" + rt.name + "/" + container + qs;
      t.upgrade = true;
    }
    t.method = req.method;
    HttpResponse resp;
    resp.proxy = t;
    return finish(std::move(resp));
  }

  Selection sel;
  sel.label_selector = q(query, "labelSelector");
  sel.field_selector = q(query, "fieldSelector");
  sel.continue_token = q(query, "continue");
  sel.resource_version = q(query, "resourceVersion");
  sel.allow_bookmarks = qbool(query, "allowWatchBookmarks");
  sel.send_initial_events = qbool(query, "sendInitialEvents");
  if (!q(query, "limit").empty()) {
    try {
      sel.limit = std::max(0LL, std::stoll(q(query, "limit")));
    } catch (...) {
      return fail(Error(ErrorCode::BadRequest, "invalid limit: " + q(query, "limit")));
    }
  }
  if (sel.send_initial_events && !sel.allow_bookmarks) {
    return fail(Error(ErrorCode::Invalid,
                      "ListOptions.meta.k8s.io \"\" is invalid: sendInitialEvents: Forbidden: "
                      "sendInitialEvents requires setting allowWatchBookmarks to true"));
  }

  bool table = wantsTable(accept);
  auto respondObject = [&](int code, const json& obj) {
    if (table && obj.value("kind", "") == r.kind) {
      json t = renderTable(r, {obj}, str(obj, {"metadata", "resourceVersion"}), "", Clock::now(),
                           includeObject(query));
      HttpResponse resp = tableResponse(t);
      resp.status = code;
      return finish(std::move(resp));
    }
    return finish(jsonResponse(code, obj));
  };

  if (verb == "get") {
    auto obj = registry_.get(r, rt.ns, rt.name, rt.subresource);
    if (!obj) return fail(obj.error());
    return respondObject(200, *obj);
  }
  if (verb == "list") {
    if (!table) {
      auto text = registry_.listText(r, rt.ns, sel);
      if (!text) return fail(text.error());
      HttpResponse resp;
      resp.body = std::move(text).value();
      return finish(std::move(resp));
    }
    auto list = registry_.list(r, rt.ns, sel);
    if (!list) return fail(list.error());
    if (table) {
      std::vector<json> items((*list)["items"].begin(), (*list)["items"].end());
      json t = renderTable(r, items, (*list)["metadata"].value("resourceVersion", ""),
                           (*list)["metadata"].value("continue", ""), Clock::now(),
                           includeObject(query));
      return finish(tableResponse(t));
    }
    return finish(jsonResponse(200, *list));
  }
  if (verb == "watch") {
    if (!rt.name.empty()) {
      sel.field_selector = sel.field_selector.empty()
                               ? "metadata.name=" + rt.name
                               : sel.field_selector + ",metadata.name=" + rt.name;
    }
    auto deadline = std::chrono::steady_clock::now() + options_.default_watch_timeout;
    if (!q(query, "timeoutSeconds").empty()) {
      try {
        long long t = std::stoll(q(query, "timeoutSeconds"));
        if (t > 0) deadline = std::chrono::steady_clock::now() + std::chrono::seconds(t);
      } catch (...) {
      }
    }
    auto w = registry_.watch(r, rt.ns, sel);
    HttpResponse resp;
    resp.status = 200;
    resp.content_type = table ? "application/json;as=Table;v=v1;g=meta.k8s.io" : "application/json";
    if (!w) {
      if (!w.error().is(ErrorCode::Gone)) return fail(w.error());
      resp.stream = std::make_unique<ErrorStream>(statusFromError(w.error()));
      return finish(std::move(resp));
    }
    if (!table) (*w)->encodedOnly();
    resp.stream = std::make_unique<WatchStream>(
        std::move(w).value(), r, table, includeObject(query), deadline, sel.allow_bookmarks);
    return finish(std::move(resp));
  }
  if (verb == "create") {
    auto body = bodyFor(false);
    if (!body) return fail(body.error());
    if (!rt.name.empty() && rt.subresource.empty()) return methodNotAllowed("POST", r);
    if (rt.name.empty() && body->is_object() && user.inGroup("system:nodes") &&
        !user.inGroup("system:masters")) {
      // NodeRestriction: what a node may create depends on the object's name (its own Node/Lease).
      RequestAttributes named = attrs;
      named.name = str(*body, {"metadata", "name"});
      if (auto az = authorize(registry_, user, named); !az) return fail(az.error());
    }
    auto res = registry_.create(r, rt.ns, *body, wopts, rt.subresource, rt.name);
    if (!res) {
      std::string name = body->is_object() ? str(*body, {"metadata", "name"}) : "";
      return finish(errorResponse(res.error(), &r, name.empty() ? rt.name : name));
    }
    return respondObject(res->created ? 201 : 200, res->object);
  }
  if (verb == "update") {
    auto body = bodyFor(false);
    if (!body) return fail(body.error());
    auto res = registry_.update(r, rt.ns, rt.name, *body, wopts, rt.subresource);
    if (!res) return fail(res.error());
    return respondObject(res->created ? 201 : 200, res->object);
  }
  if (verb == "patch") {
    std::string ct = req.header("content-type");
    ct = ct.substr(0, ct.find(';'));
    PatchKind kind;
    if (ct == "application/json-patch+json")
      kind = PatchKind::Json;
    else if (ct == "application/merge-patch+json")
      kind = PatchKind::Merge;
    else if (ct == "application/strategic-merge-patch+json")
      kind = PatchKind::Strategic;
    else if (ct == "application/apply-patch+yaml" || ct == "application/apply-patch+cbor")
      kind = PatchKind::Apply;
    else {
      return fail(
          Error(ErrorCode::Unsupported,
                "the body of the request was in an unknown format - accepted media types include: "
                "application/json-patch+json, application/merge-patch+json, "
                "application/apply-patch+yaml, application/strategic-merge-patch+json"));
    }
    std::string saved = validation;
    if (kind != PatchKind::Apply) validation.clear();  // patches are partial objects
    auto body = bodyFor(false);
    validation = saved;
    if (!body) return fail(body.error());
    if (kind != PatchKind::Apply && wopts.force) {
      return fail(Error(ErrorCode::BadRequest, "force may not be specified for non-apply patch"));
    }
    if (kind == PatchKind::Apply && q(query, "fieldManager").empty()) {
      return fail(Error(ErrorCode::BadRequest,
                        "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: "
                        "is required for apply patch"));
    }
    auto res = registry_.patch(r, rt.ns, rt.name, kind, *body, wopts, rt.subresource);
    if (!res) return fail(res.error());
    return respondObject(res->created ? 201 : 200, res->object);
  }
  if (verb == "delete" || verb == "deletecollection") {
    // DELETE bodies may be protobuf from kubectl >= 1.32 typed clients: ignore those.
    json body;
    std::string ct = req.header("content-type");
    if (!req.body.empty() && ct.find("protobuf") == std::string::npos) {
      body = json::parse(req.body, nullptr, false);
      if (body.is_discarded())
        return fail(Error(ErrorCode::BadRequest,
                          "the body of the request could not be decoded as DeleteOptions"));
    }
    DeleteOptions del = deleteOptionsFrom(body, query);
    if (verb == "deletecollection") {
      auto res = registry_.removeCollection(r, rt.ns, sel, del, wopts);
      if (!res) return fail(res.error());
      return finish(jsonResponse(200, *res));
    }
    auto res = registry_.remove(r, rt.ns, rt.name, del, wopts);
    if (!res) return fail(res.error());
    // Upstream answers 200 also when deletion is pending (graceful pods, finalizers, namespaces).
    return respondObject(200, res->object);
  }
  return methodNotAllowed(req.method, r);
}

}  // namespace skiff::master::api
