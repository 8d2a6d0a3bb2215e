// The strategy of every custom resource (pkg/registry/customresource/strategy.go): status reset
// when status is a subresource, pruning and schema defaults, metadata and schema validation,
// and a Warning for the x-kubernetes-validations rules this server cannot evaluate. Also the
// table entries a CRD's versions become, and the scale subresource by the CRD's paths.
#include <algorithm>

#include "skiff/master/api/admission.h"
#include "skiff/master/api/object_util.h"
#include "skiff/master/apiextensions/apiextensions.h"

namespace skiff::master::apiextensions {
namespace {

using api::at;
using api::ResourceInfo;
using api::str;

const json& schemaOf(const ResourceInfo& r) {
  static const json kNull;
  return r.custom ? r.custom->schema : kNull;
}

// ".spec.replicas" -> {"spec", "replicas"}
std::vector<std::string> splitPath(const std::string& p) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < p.size()) {
    if (p[i] == '.') {
      ++i;
      continue;
    }
    std::size_t j = p.find('.', i);
    if (j == std::string::npos) j = p.size();
    out.push_back(p.substr(i, j - i));
    i = j;
  }
  return out;
}

const json& atPath(const json& obj, const std::string& path) {
  static const json kNull;
  const json* cur = &obj;
  for (const auto& k : splitPath(path)) {
    if (!cur->is_object() || !cur->contains(k)) return kNull;
    cur = &(*cur)[k];
  }
  return *cur;
}

class CustomResourceStrategy : public api::Strategy {
 public:
  void prepareForCreate(const ResourceInfo& r, json& obj) const override {
    if (r.hasSubresource("status")) obj.erase("status");
  }

  void defaults(const ResourceInfo& r, json& obj) const override {
    const json& schema = schemaOf(r);
    if (schema.is_null()) return;
    pruneBySchema(schema, obj);
    applySchemaDefaults(schema, obj);
  }

  api::FieldErrors validate(const ResourceInfo& r, const json& obj,
                            const json* old) const override {
    // Metadata as every kind (ValidateObjectMetaAccessor with DNS-subdomain names); a neutral
    // kind so that no built-in kind's rules apply to a custom kind of the same name.
    ResourceInfo meta_only = r;
    meta_only.kind = "CustomResource";
    meta_only.group = r.group;
    api::FieldErrors errs = api::validateObject(meta_only, obj, old);
    const json& schema = schemaOf(r);
    if (schema.is_null()) return errs;
    json body = obj;
    if (r.hasSubresource("status") && old) body.erase("status");
    for (auto& e : validateBySchema(schema, body)) errs.push_back(std::move(e));
    if (r.custom && r.custom->scale) validateScalePaths(*r.custom, obj, errs);
    return errs;
  }

  Result<void> admitCreate(const ResourceInfo& r, json&, const api::WriteOptions& opts) override {
    warnRules(r, opts);
    return ok();
  }

  void prepareForUpdate(const ResourceInfo& r, json& obj, const json& old) const override {
    api::Strategy::prepareForUpdate(r, obj, old);
  }

  // The custom resource status strategy keeps all stored metadata on /status.
  json prepareForStatusUpdate(const ResourceInfo&, const json& obj,
                              const json& old) const override {
    return statusOnly(obj, old);
  }

  Result<void> admitUpdateBy(const ResourceInfo& r, const json&, const json&,
                             const api::WriteOptions& opts) override {
    warnRules(r, opts);
    return ok();
  }

 private:
  // Upstream evaluates these CEL rules; no maintained C++ CEL library is in Debian, so each
  // write says which rules were not enforced instead of silently passing.
  static void warnRules(const ResourceInfo& r, const api::WriteOptions& opts) {
    if (!r.custom || r.custom->validation_rules.empty() || !opts.notes) return;
    std::string w = "x-kubernetes-validations rules are not enforced by this server (no CEL): ";
    for (std::size_t i = 0; i < r.custom->validation_rules.size(); ++i)
      w += (i ? "; " : "") + r.custom->validation_rules[i];
    opts.notes->warnings.push_back(w);
  }

  static void validateScalePaths(const api::CustomResourceInfo& c, const json& obj,
                                 api::FieldErrors& errs) {
    const json& v = atPath(obj, c.spec_replicas_path);
    if (!v.is_null() && (!v.is_number_integer() || v.get<long long>() < 0)) {
      errs.push_back({api::FieldError::Type::Invalid, c.spec_replicas_path.substr(1), v,
                      "should be a non-negative integer"});
    }
  }
};

// Whether any schema node has a `default` (a property named "default" counts too: it only
// costs a defaulting pass).
bool hasDefaults(const json& schema) {
  if (schema.is_object()) {
    if (schema.contains("default")) return true;
    for (const auto& [_, v] : schema.items())
      if (hasDefaults(v)) return true;
  } else if (schema.is_array()) {
    for (const auto& v : schema)
      if (hasDefaults(v)) return true;
  }
  return false;
}

json subresourceList(const json& version, const std::string& group, const std::string& name,
                     const std::string& kind, std::vector<api::SubresourceInfo>& subs) {
  const json& sr = version.contains("subresources") ? version["subresources"] : json();
  static const std::vector<std::string> verbs{"get", "patch", "update"};
  if (sr.is_object() && sr.contains("status")) subs.push_back({"status", group, name, kind, verbs});
  if (sr.is_object() && sr.contains("scale"))
    subs.push_back({"scale", "autoscaling", "v1", "Scale", verbs});
  return sr.is_object() && sr.contains("scale") ? sr["scale"] : json();
}

}  // namespace

api::StrategyPtr newCustomResourceStrategy() { return std::make_shared<CustomResourceStrategy>(); }

std::vector<ResourceInfo> resourcesOf(const json& crd) {
  std::vector<ResourceInfo> out;
  const json& spec = crd.contains("spec") ? crd["spec"] : json::object();
  const json& names = at(crd, {"status", "acceptedNames"});
  if (!names.is_object() || names.value("plural", "").empty()) return out;
  std::string group = spec.value("group", "");
  std::string storage;
  for (const auto& v : spec.value("versions", json::array())) {
    if (v.value("storage", false)) storage = v.value("name", "");
  }
  for (const auto& v : spec.value("versions", json::array())) {
    if (!v.value("served", false)) continue;
    ResourceInfo r;
    r.group = group;
    r.version = v.value("name", "");
    r.resource = names.value("plural", "");
    r.singular = names.value("singular", "");
    r.kind = names.value("kind", "");
    r.namespaced = spec.value("scope", "") == "Namespaced";
    r.short_names = names.value("shortNames", std::vector<std::string>{});
    r.categories = names.value("categories", std::vector<std::string>{});
    r.storage_version = storage;
    r.has_generation = true;
    if (v.value("deprecated", false)) {
      r.deprecation =
          v.value("deprecationWarning", group + "/" + r.version + " " + r.kind + " is deprecated");
    }
    auto info = std::make_shared<api::CustomResourceInfo>();
    info->crd_name = str(crd, {"metadata", "name"});
    info->list_kind = names.value("listKind", r.kind + "List");
    info->schema = at(v, {"schema", "openAPIV3Schema"});
    info->printer_columns = v.value("additionalPrinterColumns", json::array());
    json scale = subresourceList(v, group, r.version, r.kind, r.subresources);
    if (scale.is_object()) {
      info->scale = true;
      info->spec_replicas_path = scale.value("specReplicasPath", ".spec.replicas");
      info->status_replicas_path = scale.value("statusReplicasPath", ".status.replicas");
      info->label_selector_path = scale.value("labelSelectorPath", "");
    }
    info->validation_rules = celRules(info->schema);
    if (hasDefaults(info->schema)) {
      try {
        info->defaults_before_rev = std::stoll(str(crd, {"metadata", "resourceVersion"}));
      } catch (...) {
        info->defaults_before_rev = INT64_MAX;  // unknown: default every object on read
      }
    }
    if (str(spec, {"conversion", "strategy"}) == "Webhook")
      info->conversion_webhook = at(spec, {"conversion", "webhook"});
    r.custom = std::move(info);
    out.push_back(std::move(r));
  }
  return out;
}

json customScale(const ResourceInfo& r, const json& obj) {
  const api::CustomResourceInfo& c = *r.custom;
  json meta = {{"name", str(obj, {"metadata", "name"})},
               {"uid", str(obj, {"metadata", "uid"})},
               {"resourceVersion", str(obj, {"metadata", "resourceVersion"})},
               {"creationTimestamp", str(obj, {"metadata", "creationTimestamp"})}};
  if (r.namespaced) meta["namespace"] = str(obj, {"metadata", "namespace"});
  const json& spec = atPath(obj, c.spec_replicas_path);
  const json& status = atPath(obj, c.status_replicas_path);
  json st = {{"replicas", status.is_number_integer() ? status : json(0)}};
  if (!c.label_selector_path.empty()) {
    const json& sel = atPath(obj, c.label_selector_path);
    if (sel.is_string()) st["selector"] = sel;
  }
  return {{"kind", "Scale"},
          {"apiVersion", "autoscaling/v1"},
          {"metadata", meta},
          {"spec", {{"replicas", spec.is_number_integer() ? spec : json(0)}}},
          {"status", st}};
}

void setCustomReplicas(const ResourceInfo& r, json& obj, const json& replicas) {
  json* cur = &obj;
  for (const auto& k : splitPath(r.custom->spec_replicas_path)) {
    if (!cur->is_object()) *cur = json::object();
    cur = &(*cur)[k];
  }
  *cur = replicas;
}

}  // namespace skiff::master::apiextensions
