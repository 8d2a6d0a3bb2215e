// The OpenAPI documents of the custom resources (pkg/controller/openapi/builder/builder.go):
// /openapi/v3 lists every group-version a CRD serves, /openapi/v3/apis/<g>/<v> holds the kinds'
// schemas under their upstream names (com.example.v1.Widget) with
// x-kubernetes-group-version-kind, and the PATCH operations that tell kubectl the server checks
// fields itself (fieldValidation). kubectl explain reads these.
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

json objectMeta() {
  auto s = [](const char* d) { return json{{"type", "string"}, {"description", d}}; };
  json map = {{"type", "object"}, {"additionalProperties", {{"type", "string"}, {"default", ""}}}};
  json labels = map, annotations = map;
  labels["description"] =
      "Map of string keys and values that can be used to organize and "
      "categorize (scope and select) objects.";
  annotations["description"] =
      "Annotations is an unstructured key value map stored with a "
      "resource that may be set by external tools to store and "
      "retrieve arbitrary metadata.";
  return {{"type", "object"},
          {"description",
           "ObjectMeta is metadata that all persisted resources must have, which "
           "includes all objects users must create."},
          {"properties",
           {{"name", s("Name must be unique within a namespace.")},
            {"generateName", s("GenerateName is an optional prefix, used by the server, to "
                               "generate a unique name ONLY IF the Name field has not been "
                               "provided.")},
            {"namespace", s("Namespace defines the space within which each name must be unique.")},
            {"uid", s("UID is the unique in time and space value for this object.")},
            {"resourceVersion", s("An opaque value that represents the internal version of this "
                                  "object.")},
            {"generation",
             {{"type", "integer"},
              {"format", "int64"},
              {"description",
               "A sequence number representing a specific "
               "generation of the desired state."}}},
            {"creationTimestamp",
             {{"type", "string"},
              {"format", "date-time"},
              {"description",
               "CreationTimestamp is a timestamp representing "
               "the server time when this object was created."}}},
            {"deletionTimestamp",
             {{"type", "string"},
              {"format", "date-time"},
              {"description",
               "DeletionTimestamp is RFC 3339 date and time "
               "at which this resource will be deleted."}}},
            {"labels", labels},
            {"annotations", annotations},
            {"finalizers",
             {{"type", "array"},
              {"items", {{"type", "string"}, {"default", ""}}},
              {"description",
               "Must be empty before the object is deleted from "
               "the registry."}}}}}};
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

json patchOperation(const api::ResourceInfo& r, const std::string& def) {
  return {
      {"patch",
       {{"operationId", "patch" + r.kind},
        {"x-kubernetes-action", "patch"},
        {"x-kubernetes-group-version-kind",
         {{"group", r.group}, {"kind", r.kind}, {"version", r.version}}},
        {"parameters", json::array({{{"name", "fieldValidation"},
                                     {"in", "query"},
                                     {"description",
                                      "fieldValidation instructs the server on how to handle "
                                      "objects in the request containing unknown or "
                                      "duplicate fields."},
                                     {"schema", {{"type", "string"}, {"uniqueItems", true}}}}})},
        {"responses",
         {{"200",
           {{"description", "OK"},
            {"content",
             {{"application/json",
               {{"schema", {{"$ref", "#/components/schemas/" + def}}}}}}}}}}}}}};
}

std::vector<const api::ResourceInfo*> customIn(const std::string& group,
                                               const std::string& version) {
  std::vector<const api::ResourceInfo*> out;
  for (const api::ResourceInfo* r : api::servedResources()) {
    if (r->custom && r->group == group && r->version == version) out.push_back(r);
  }
  return out;
}

}  // namespace

json openApiV3Index() {
  json paths = json::object();
  for (const api::ResourceInfo* r : api::servedResources()) {
    if (!r->custom) continue;
    std::string p = "apis/" + r->group + "/" + r->version;
    paths[p] = {{"serverRelativeURL", "/openapi/v3/" + p}};
  }
  return {{"paths", paths}};
}

json openApiV3Document(const std::string& group, const std::string& version) {
  auto rs = customIn(group, version);
  if (rs.empty()) return json();
  json schemas = json::object();
  json paths = json::object();
  for (const api::ResourceInfo* r : rs) {
    std::string def = definitionName(group, version, r->kind);
    schemas[def] = kindSchema(*r, true);
    std::string list_kind = r->custom->list_kind;
    schemas[definitionName(group, version, list_kind)] = listSchema(*r, def, true);
    std::string base = "/apis/" + group + "/" + version + "/" +
                       (r->namespaced ? "namespaces/{namespace}/" : "") + r->resource + "/{name}";
    paths[base] = patchOperation(*r, def);
  }
  schemas[kObjectMetaRef] = objectMeta();
  schemas[kListMetaRef] = {
      {"type", "object"},
      {"description",
       "ListMeta describes metadata that synthetic "
       "resources must have."},
      {"properties",
       {{"continue", {{"type", "string"}}}, {"resourceVersion", {{"type", "string"}}}}}};
  return {{"openapi", "3.0.0"},
          {"info", {{"title", "Kubernetes CRD Swagger"}, {"version", "v0.1.0"}}},
          {"paths", paths},
          {"components", {{"schemas", schemas}}}};
}

json openApiV2() {
  json defs = json::object();
  for (const api::ResourceInfo* r : api::servedResources()) {
    if (!r->custom) continue;
    std::string def = definitionName(r->group, r->version, r->kind);
    defs[def] = kindSchema(*r, false);
    defs[definitionName(r->group, r->version, r->custom->list_kind)] = listSchema(*r, def, false);
  }
  defs[kObjectMetaRef] = objectMeta();
  defs[kListMetaRef] = {{"type", "object"}};
  return {{"swagger", "2.0"},
          {"info", {{"title", "Kubernetes"}, {"version", "v1.32.0"}}},
          {"paths", json::object()},
          {"definitions", defs}};
}

}  // namespace skiff::master::apiextensions
