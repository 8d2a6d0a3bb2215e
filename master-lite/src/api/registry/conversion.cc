// Objects between the version a client reads or writes and the version the store keeps: the
// built-in kinds' conversions (convertForRead), and custom resources whose CRD converts through
// a webhook. A CRD with conversion strategy None only relabels apiVersion. Objects already at
// the wanted version are never sent to the webhook (upstream's getObjectsToConvert).
#include "registry_internal.h"
#include "skiff/master/api/object_util.h"
#include "skiff/master/api/storage_keys.h"
#include "skiff/master/apiextensions/apiextensions.h"
#include "skiff/master/apiextensions/custom_resource.h"

namespace skiff::master::api {

json convertForRead(const ResourceInfo& r, json obj) {
  if (r.group == "autoscaling" && r.resource == "horizontalpodautoscalers" && r.version == "v1")
    return hpaToV1(std::move(obj));
  if (r.group == "events.k8s.io" && r.resource == "events")
    return coreEventToEventsV1(std::move(obj));
  return obj;
}

bool needsDefaultsOnRead(const ResourceInfo& r, const json& obj) {
  if (!r.custom || r.custom->defaults_before_rev == 0) return false;
  const json& rv = at(obj, {"metadata", "resourceVersion"});
  if (!rv.is_string()) return true;
  try {
    return std::stoll(rv.get<std::string>()) < r.custom->defaults_before_rev;
  } catch (...) {
    return true;
  }
}

bool Registry::convertsByWebhook(const ResourceInfo& r) const {
  return converter_ && r.custom && !r.custom->conversion_webhook.is_null();
}

Result<void> Registry::presentAll(const ResourceInfo& r, std::vector<json>& objs) const {
  const std::string gv = r.groupVersion();
  if (convertsByWebhook(r)) {
    std::vector<std::size_t> at;
    std::vector<json> sent;
    for (std::size_t i = 0; i < objs.size(); ++i) {
      const json& v = objs[i]["apiVersion"];
      // No apiVersion: a written object, already at r's version.
      if (v.is_string() && !v.get_ref<const std::string&>().empty() && v != gv) {
        at.push_back(i);
        sent.push_back(std::move(objs[i]));
      }
    }
    if (!sent.empty()) {
      SKIFF_ASSIGN_OR_RETURN(std::vector<json> got, converter_(r, std::move(sent), gv));
      if (got.size() != at.size())
        return Error(ErrorCode::Internal, "conversion returned " + std::to_string(got.size()) +
                                              " objects, expected " + std::to_string(at.size()));
      for (std::size_t k = 0; k < at.size(); ++k) objs[at[k]] = std::move(got[k]);
    }
  } else if (r.version != r.storage_version || storageGroup(r) != r.group) {
    for (auto& o : objs) o = convertForRead(r, std::move(o));
  }
  for (auto& o : objs) {
    o["apiVersion"] = gv;
    o["kind"] = r.kind;
    // Defaulting on read, as the CRD storage decoder does: an object stored before its
    // version's schema had a default shows it.
    if (needsDefaultsOnRead(r, o)) apiextensions::applySchemaDefaults(r.custom->schema, o);
  }
  return ok();
}

Result<json> Registry::present(const ResourceInfo& r, json obj, std::int64_t rev) const {
  std::vector<json> one;
  one.push_back(std::move(obj));
  SKIFF_TRY(presentAll(r, one));
  if (rev > 0) one[0]["metadata"]["resourceVersion"] = std::to_string(rev);
  return std::move(one[0]);
}

Result<json> Registry::forStorage(const ResourceInfo& r, json obj) const {
  if (convertsByWebhook(r) && r.version != r.storage_version) {
    obj["apiVersion"] = r.groupVersion();
    obj["kind"] = r.kind;
    std::vector<json> one;
    one.push_back(std::move(obj));
    std::string group = r.group.empty() ? "" : r.group + "/";
    SKIFF_ASSIGN_OR_RETURN(std::vector<json> got,
                           converter_(r, std::move(one), group + r.storage_version));
    if (got.size() != 1)
      return Error(ErrorCode::Internal,
                   "conversion returned " + std::to_string(got.size()) + " objects, expected 1");
    obj = std::move(got[0]);
  }
  if (r.group == "events.k8s.io" && r.resource == "events")
    obj = eventsV1ToCoreEvent(std::move(obj));
  return relabelForStorage(r, std::move(obj));
}

}  // namespace skiff::master::api
