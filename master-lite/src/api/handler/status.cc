// Responses: Kubernetes Status bodies for errors (reason, code, details with causes), and the
// small JSON/text/Table response builders the verb handlers share
// (reference/kube-api-surface.md §5-§6).
#include <algorithm>

#include "handler_internal.h"
#include "skiff/common/http_status.h"

namespace skiff::master::api {
namespace {

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

}  // namespace

int httpCodeFor(ErrorCode c) { return httpStatusFor(c).code; }

json statusFromError(const Error& e, const ResourceInfo* r, const std::string& name) {
  if (e.message().rfind("conversion webhook for ", 0) == 0) {
    // Upstream's converter returns a plain error, which the API server sends with code 500,
    // reason Unknown (omitted) and no details: kubectl prints "Error from server: <message>".
    return {{"kind", "Status"},    {"apiVersion", "v1"},     {"metadata", json::object()},
            {"status", "Failure"}, {"message", e.message()}, {"code", 500}};
  }
  int code = httpCodeFor(e.code());
  std::string reason = httpStatusFor(e.code()).reason;
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
    const std::string& m = e.message();
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
  return handler::jsonResponse(s["code"].get<int>(), s);
}

namespace handler {

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

// A Status for an error that no Error value carries (routing and negotiation refusals).
static HttpResponse failure(int code, const char* reason, const std::string& message) {
  return jsonResponse(code, {{"kind", "Status"},
                             {"apiVersion", "v1"},
                             {"metadata", json::object()},
                             {"status", "Failure"},
                             {"message", message},
                             {"reason", reason},
                             {"details", json::object()},
                             {"code", code}});
}

HttpResponse notFoundPath() {
  return failure(404, "NotFound", "the server could not find the requested resource");
}

HttpResponse methodNotAllowed(const std::string& verb, const ResourceInfo& r) {
  return failure(405, "MethodNotAllowed",
                 verb + " is not supported on resources of kind \"" + r.resource + "\"");
}

bool wantsTable(const std::string& accept) { return accept.find("as=Table") != std::string::npos; }

bool acceptsOnlyConversions(const std::string& accept) {
  std::size_t start = 0;
  while (start <= accept.size()) {
    std::size_t end = std::min(accept.find(',', start), accept.size());
    std::string range = accept.substr(start, end - start);
    if (range.find_first_not_of(" \t") != std::string::npos &&
        range.find("as=") == std::string::npos) {
      return false;
    }
    start = end + 1;
  }
  return true;
}

HttpResponse notAcceptable() {
  return failure(406, "NotAcceptable",
                 "only the following media types are accepted: application/json, "
                 "application/yaml, application/vnd.kubernetes.protobuf");
}

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

}  // namespace handler
}  // namespace skiff::master::api
