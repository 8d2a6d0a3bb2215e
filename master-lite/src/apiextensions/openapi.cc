// The OpenAPI definitions of the custom kinds (pkg/controller/openapi/builder/builder.go): the
// kinds' schemas under their upstream names (com.example.v1.Widget) with
// x-kubernetes-group-version-kind, apiVersion, kind and metadata filled in; src/openapi puts them
// in the documents beside the built-in kinds.
#include <algorithm>
#include <map>

#include "skiff/common/split_list.h"
#include "skiff/master/api/object_util.h"
#include "skiff/master/apiextensions/apiextensions.h"

namespace skiff::master::apiextensions {
namespace {

const char* const kObjectMetaRef = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
const char* const kListMetaRef = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta";

// "example.com", "v1", "Widget" -> "com.example.v1.Widget"
std::string definitionName(const std::string& group, const std::string& version,
                           const std::string& kind) {
  std::vector<std::string_view> parts = splitAt(group, '.');
  std::reverse(parts.begin(), parts.end());
  std::string out;
  for (std::string_view p : parts) {
    out += p;
    out += '.';
  }
  return out + version + "." + kind;
}

json gvk(const api::ResourceInfo& r, const std::string& kind) {
  return json::array({{{"group", r.group}, {"kind", kind}, {"version", r.version}}});
}

bool preservesUnknown(const json& s) {
  return s.value("x-kubernetes-preserve-unknown-fields", false) == true;
}

// What OpenAPI v2 can say of a structural schema (the CRD builder's ToStructuralOpenAPIV2): no
// junctors; a nullable value and one that preserves unknown fields lose the parts kubectl's
// client-side validation would misread (type, items, properties), and so does an array left
// without items.
void toV2(json& s) {
  if (!s.is_object()) return;
  for (const char* junctor : {"allOf", "oneOf", "anyOf", "not"}) s.erase(junctor);
  if (s.value("nullable", false) == true) {
    for (const char* k : {"type", "nullable", "items", "properties"}) s.erase(k);
  }
  if (preservesUnknown(s)) {
    s.erase("items");
    s.erase("properties");
  }
  if (!s.contains("items") && s.value("type", "") == "array") s.erase("type");
  if (preservesUnknown(s) && s.value("type", "") == "object") s.erase("type");
  if (auto props = s.find("properties"); props != s.end() && props->is_object()) {
    if (auto req = s.find("required"); req != s.end() && req->is_array()) {
      json kept = json::array();
      for (const auto& f : *req) {
        if (!(f.is_string() && props->contains(f.get<std::string>()) &&
              (*props)[f.get<std::string>()].value("nullable", false) == true))
          kept.push_back(f);
      }
      if (kept.empty()) {
        s.erase("required");
      } else {
        *req = kept;
      }
    }
    for (auto& [name, p] : props->items()) toV2(p);
  }
  if (auto add = s.find("additionalProperties"); add != s.end() && add->is_object()) {
    if (add->value("nullable", false) == true) s.erase("required");
    toV2(*add);
  }
  if (auto items = s.find("items"); items != s.end()) toV2(*items);
}

// The kind's schema as upstream publishes it: apiVersion, kind and metadata filled in. In v2 a
// schema that preserves unknown fields at its root is only {type: object}: kubectl (<= 1.26
// validates on the client with v2) would refuse every field outside the listed properties.
json kindSchema(const api::ResourceInfo& r, bool v3) {
  json s = r.custom && r.custom->schema.is_object() ? r.custom->schema : json{{"type", "object"}};
  if (!v3) {
    if (!(r.custom && r.custom->schema.is_object()) || preservesUnknown(s)) {
      return {{"type", "object"}, {"x-kubernetes-group-version-kind", gvk(r, r.kind)}};
    }
    toV2(s);
  }
  json& props = s["properties"];
  if (!props.is_object()) props = json::object();
  props["apiVersion"] = {{"type", "string"},
                         {"description",
                          "APIVersion defines the versioned schema of this representation of an "
                          "object. Servers should convert recognized schemas to the latest "
                          "internal value, and may reject unrecognized values."}};
  props["kind"] = {{"type", "string"},
                   {"description",
                    "Kind is a string value representing the REST resource this "
                    "object represents."}};
  std::string ref = std::string(v3 ? "#/components/schemas/" : "#/definitions/") + kObjectMetaRef;
  props["metadata"] = {{"description",
                        "Standard object's metadata. More info: "
                        "https://git.k8s.io/community/contributors/devel/"
                        "sig-architecture/api-conventions.md#metadata"}};
  if (v3)
    props["metadata"]["allOf"] = json::array({{{"$ref", ref}}});
  else
    props["metadata"]["$ref"] = ref;
  s["x-kubernetes-group-version-kind"] = gvk(r, r.kind);
  return s;
}

json listSchema(const api::ResourceInfo& r, const std::string& item_ref, bool v3) {
  std::string prefix = v3 ? "#/components/schemas/" : "#/definitions/";
  std::string list_kind = r.custom ? r.custom->list_kind : r.kind + "List";
  return {{"type", "object"},
          {"description", list_kind + " is a list of " + r.kind},
          {"required", json::array({"items"})},
          {"properties",
           {{"apiVersion", {{"type", "string"}}},
            {"kind", {{"type", "string"}}},
            {"items", {{"type", "array"}, {"items", {{"$ref", prefix + item_ref}}}}},
            {"metadata", {{"$ref", prefix + kListMetaRef}}}}},
          {"x-kubernetes-group-version-kind", gvk(r, list_kind)}};
}

}  // namespace

std::string customKindDefinitionName(const api::ResourceInfo& r) {
  return definitionName(r.group, r.version, r.kind);
}

json customKindDefinitions(const api::ResourceInfo& r, bool v3) {
  std::string def = customKindDefinitionName(r);
  std::string list_kind = r.custom ? r.custom->list_kind : r.kind + "List";
  return {{def, kindSchema(r, v3)},
          {definitionName(r.group, r.version, list_kind), listSchema(r, def, v3)}};
}

}  // namespace skiff::master::apiextensions
