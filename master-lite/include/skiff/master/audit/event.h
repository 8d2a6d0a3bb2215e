#pragma once

// An audit.k8s.io/v1 Event and its JSON line exactly as kube-apiserver's log backend writes it
// (field order of the Go struct, omitempty, MicroTime timestamps).

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "skiff/master/audit/policy.h"

namespace skiff::master::audit {

struct EventUser {
  std::string username;
  std::vector<std::string> groups;
};

struct ObjectRef {
  std::string resource, ns, name, uid, api_group, api_version, resource_version, subresource;
};

struct Event {
  Level level = Level::Metadata;
  std::string audit_id;
  Stage stage = Stage::ResponseComplete;
  std::string request_uri, verb;
  EventUser user;
  std::optional<EventUser> impersonated_user;
  std::vector<std::string> source_ips;
  std::string user_agent;
  std::optional<ObjectRef> object_ref;
  // metav1.Status with only the bounded fields: code always, status/message/reason/details on
  // failure. Null before a response exists (RequestReceived).
  nlohmann::ordered_json response_status;
  nlohmann::json request_object, response_object;  // null = omitted
  std::chrono::system_clock::time_point request_received, stage_time;
  std::map<std::string, std::string> annotations;
};

// The one-line JSON of `ev` with a trailing newline.
std::string encodeEvent(const Event& ev);

// The bounded responseStatus of a response: its code, and for a Status body with
// status Failure the status, message, reason and details.
nlohmann::ordered_json responseStatusOf(int code, const nlohmann::json& body);

// Drops metadata.managedFields from an object (and from each item of a list).
void omitManagedFields(nlohmann::json& obj);

}  // namespace skiff::master::audit
