// The OpenAPI definitions of the custom kinds (pkg/controller/openapi/builder/builder.go): the
// kinds' schemas under their upstream names (com.example.v1.Widget) with
// x-kubernetes-group-version-kind, apiVersion, kind and metadata filled in; src/openapi puts them
// in the documents beside the built-in kinds.
#include <algorithm>
#include <map>

#include "skiff/master/apiextensions/apiextensions.h"

namespace skiff::master::apiextensions {
namespace {

const char* const kObjectMetaRef = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
const char* const kListMetaRef = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta";

// "example.com", "v1", "Widget" -> "com.example.v1.Widget"
std::string definitionName(const std::string& group, const std::string& version,
                           const std::string& kind) {
  std::vector<std::string> parts;
  std::size_t i = 0;
  while (i <= group.size()) {
    std::size_t j = group.find('.', i);
    if (j == std::string::npos) j = group.size();
    parts.push_back(group.substr(i, j - i));
    i = j + 1;
  }
  std::reverse(parts.begin(), parts.end());
  std::string out;
  for (const auto& p : parts) out += p + ".";
  return out + version + "." + kind;
}

json gvk(const api::ResourceInfo& r, const std::string& kind) {
  return json::array({{{"group", r.group}, {"kind", kind}, {"version", r.version}}});
}

// The kind's schema as upstream publishes it: apiVersion, kind and metadata filled in.
json kindSchema(const api::ResourceInfo& r, bool v3) {
  json s = r.custom && r.custom->schema.is_object() ? r.custom->schema : json{{"type", "object"}};
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
