// The Event JSON line (k8s.io/apiserver pkg/apis/audit/v1 types.go field order; the log
// backend writes one JSON object per line).
#include "skiff/master/audit/event.h"

#include "skiff/common/rfc3339.h"

namespace skiff::master::audit {
namespace {

using ojson = nlohmann::ordered_json;

ojson userJson(const EventUser& u) {
  ojson j = ojson::object();
  if (!u.username.empty()) j["username"] = u.username;
  if (!u.groups.empty()) j["groups"] = u.groups;
  return j;
}

ojson refJson(const ObjectRef& r) {
  ojson j = ojson::object();
  auto put = [&](const char* k, const std::string& v) {
    if (!v.empty()) j[k] = v;
  };
  put("resource", r.resource);
  put("namespace", r.ns);
  put("name", r.name);
  put("uid", r.uid);
  put("apiGroup", r.api_group);
  put("apiVersion", r.api_version);
  put("resourceVersion", r.resource_version);
  put("subresource", r.subresource);
  return j;
}

}  // namespace

std::string encodeEvent(const Event& ev) {
  ojson j;
  j["kind"] = "Event";
  j["apiVersion"] = "audit.k8s.io/v1";
  j["level"] = levelName(ev.level);
  j["auditID"] = ev.audit_id;
  j["stage"] = stageName(ev.stage);
  j["requestURI"] = ev.request_uri;
  j["verb"] = ev.verb;
  j["user"] = userJson(ev.user);
  if (ev.impersonated_user) j["impersonatedUser"] = userJson(*ev.impersonated_user);
  if (!ev.source_ips.empty()) j["sourceIPs"] = ev.source_ips;
  if (!ev.user_agent.empty()) j["userAgent"] = ev.user_agent;
  if (ev.object_ref) j["objectRef"] = refJson(*ev.object_ref);
  if (!ev.response_status.is_null()) j["responseStatus"] = ev.response_status;
  if (!ev.request_object.is_null()) j["requestObject"] = ojson::parse(ev.request_object.dump());
  if (!ev.response_object.is_null()) j["responseObject"] = ojson::parse(ev.response_object.dump());
  j["requestReceivedTimestamp"] = formatRfc3339Micro(ev.request_received);
  j["stageTimestamp"] = formatRfc3339Micro(ev.stage_time);
  if (!ev.annotations.empty()) j["annotations"] = ev.annotations;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

nlohmann::ordered_json responseStatusOf(int code, const nlohmann::json& body) {
  nlohmann::ordered_json s;
  s["metadata"] = nlohmann::ordered_json::object();
  if (body.is_object() && body.value("kind", "") == "Status" &&
      body.value("status", "") == "Failure") {
    s["status"] = "Failure";
    if (body.contains("message")) s["message"] = body["message"];
    if (body.contains("reason")) s["reason"] = body["reason"];
    if (body.contains("details")) s["details"] = body["details"];
  }
  s["code"] = code;
  return s;
}

void omitManagedFields(nlohmann::json& obj) {
  if (!obj.is_object()) return;
  if (obj.contains("metadata") && obj["metadata"].is_object())
    obj["metadata"].erase("managedFields");
  if (obj.contains("items") && obj["items"].is_array()) {
    for (auto& item : obj["items"]) omitManagedFields(item);
  }
}

}  // namespace skiff::master::audit
