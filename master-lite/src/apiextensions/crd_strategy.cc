// The CustomResourceDefinition strategy (pkg/registry/customresourcedefinition/strategy.go and
// etcd.go): v1 defaults, validation, status.storedVersions, and the cleanup finalizer a delete
// adds so that the CRD's objects go first.
#include <algorithm>

#include "skiff/master/api/object_util.h"
#include "skiff/master/apiextensions/apiextensions.h"

namespace skiff::master::apiextensions {
namespace {

using api::at;
using api::ResourceInfo;
using api::str;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string storageVersion(const json& crd) {
  for (const auto& v : at(crd, {"spec", "versions"})) {
    if (v.is_object() && v.value("storage", false)) return v.value("name", "");
  }
  return "";
}

void addStoredVersion(json& crd) {
  std::string sv = storageVersion(crd);
  if (sv.empty()) return;
  json& st = crd["status"];
  if (!st.is_object()) st = json::object();
  if (!st.contains("storedVersions") || !st["storedVersions"].is_array())
    st["storedVersions"] = json::array();
  auto& list = st["storedVersions"];
  if (std::find(list.begin(), list.end(), sv) == list.end()) list.push_back(sv);
}

class CrdStrategy : public api::Strategy {
 public:
  void prepareForCreate(const ResourceInfo&, json& obj) const override {
    obj["status"] = json::object();
    addStoredVersion(obj);
  }

  // SetDefaults_CustomResourceDefinition(Spec) of apiextensions/v1.
  void defaults(const ResourceInfo&, json& obj) const override {
    if (!obj.contains("spec") || !obj["spec"].is_object()) return;
    json& spec = obj["spec"];
    if (spec.contains("names") && spec["names"].is_object()) {
      json& n = spec["names"];
      std::string kind = n.value("kind", "");
      if (n.value("singular", "").empty() && !kind.empty()) n["singular"] = lower(kind);
      if (n.value("listKind", "").empty() && !kind.empty()) n["listKind"] = kind + "List";
    }
    if (!spec.contains("conversion") || !spec["conversion"].is_object())
      spec["conversion"] = {{"strategy", "None"}};
    json& conv = spec["conversion"];
    if (conv.value("strategy", "").empty()) conv["strategy"] = "None";
    if (conv.value("strategy", "") == "Webhook" && conv.contains("webhook") &&
        conv["webhook"].is_object() && conv["webhook"].contains("clientConfig")) {
      json& svc = conv["webhook"]["clientConfig"];
      if (svc.contains("service") && svc["service"].is_object() && !svc["service"].contains("port"))
        svc["service"]["port"] = 443;
    }
  }

  api::FieldErrors validate(const ResourceInfo&, const json& obj, const json* old) const override {
    api::FieldErrors errs = validateCrd(obj, old);
    // ValidateCustomResourceDefinitionStoredVersions: the storage version is always stored.
    std::string sv = storageVersion(obj);
    const json& stored = at(obj, {"status", "storedVersions"});
    if (!sv.empty() && stored.is_array() &&
        std::find(stored.begin(), stored.end(), sv) == stored.end()) {
      errs.push_back({api::FieldError::Type::Invalid, "status.storedVersions", stored,
                      "must have the storage version " + sv});
    }
    return errs;
  }

  void prepareForUpdate(const ResourceInfo& r, json& obj, const json& old) const override {
    api::Strategy::prepareForUpdate(r, obj, old);
    addStoredVersion(obj);
  }

  // statusStrategy.PrepareForUpdate: all metadata stays as stored on /status.
  json prepareForStatusUpdate(const ResourceInfo&, const json& obj,
                              const json& old) const override {
    return statusOnly(obj, old);
  }

  // etcd.go Delete: the cleanup finalizer and the Terminating condition; the finalizing
  // controller deletes the objects and then lets the CRD go.
  Result<bool> beginDelete(const ResourceInfo&, json& obj, const DeleteOptions&) const override {
    json& meta = obj["metadata"];
    if (!meta.contains("finalizers") || !meta["finalizers"].is_array())
      meta["finalizers"] = json::array();
    auto& f = meta["finalizers"];
    bool changed = false;
    if (!at(obj, {"metadata", "deletionTimestamp"}).is_string() &&
        std::find(f.begin(), f.end(), kCleanupFinalizer) == f.end()) {
      f.push_back(kCleanupFinalizer);
      changed = true;
    }
    json& st = obj["status"];
    if (!st.is_object()) st = json::object();
    if (!st.contains("conditions") || !st["conditions"].is_array())
      st["conditions"] = json::array();
    bool have = false;
    for (const auto& c : st["conditions"]) have = have || c.value("type", "") == "Terminating";
    if (!have) {
      st["conditions"].push_back(
          {{"type", "Terminating"},
           {"status", "True"},
           {"lastTransitionTime", api::formatTime(api::Clock::now())},
           {"reason", "InstanceDeletionPending"},
           {"message",
            "CustomResourceDefinition marked for deletion; CustomResource deletion will begin "
            "soon"}});
      changed = true;
    }
    return changed;
  }
};

}  // namespace

api::StrategyPtr newCrdStrategy() { return std::make_shared<CrdStrategy>(); }

}  // namespace skiff::master::apiextensions
