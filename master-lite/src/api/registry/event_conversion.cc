// events.k8s.io/v1 Events are core v1 Events under other field names: kube-apiserver keeps both
// APIs in one place (/registry/events, the cohabiting resources of its storage factory), so an
// Event written through either API is read through both. Stored as core v1; the renames are
// pkg/apis/events/v1/conversion.go's (regarding = involvedObject, note = message,
// deprecatedSource/FirstTimestamp/LastTimestamp/Count = source/firstTimestamp/lastTimestamp/count,
// reportingController = reportingComponent); the other fields have the same names.
#include "registry_internal.h"

namespace skiff::master::api {
namespace {

// {events.k8s.io/v1 name, core v1 name}
constexpr std::pair<const char*, const char*> kRenamed[] = {
    {"regarding", "involvedObject"},
    {"note", "message"},
    {"deprecatedSource", "source"},
    {"deprecatedFirstTimestamp", "firstTimestamp"},
    {"deprecatedLastTimestamp", "lastTimestamp"},
    {"deprecatedCount", "count"},
    {"reportingController", "reportingComponent"},
};

json renamed(json obj, bool to_core) {
  if (!obj.is_object()) return obj;
  for (const auto& [events_name, core_name] : kRenamed) {
    const char* from = to_core ? events_name : core_name;
    const char* to = to_core ? core_name : events_name;
    auto it = obj.find(from);
    if (it == obj.end()) continue;
    json v = std::move(*it);
    obj.erase(it);
    obj[to] = std::move(v);
  }
  return obj;
}

}  // namespace

json eventsV1ToCoreEvent(json obj) {
  obj = renamed(std::move(obj), true);
  obj["apiVersion"] = "v1";
  return obj;
}

json coreEventToEventsV1(json obj) {
  obj = renamed(std::move(obj), false);
  obj["apiVersion"] = "events.k8s.io/v1";
  return obj;
}

}  // namespace skiff::master::api
