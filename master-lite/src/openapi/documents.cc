// /openapi/v2 and /openapi/v3 (kube-apiserver's, built by kube-openapi): the built-in kinds'
// generated definitions and the custom kinds' CRD schemas, with a PATCH operation per kind. The
// documents of built-in group-versions never change while the server runs and are built once;
// those with custom kinds are built per request (CRDs come and go).
#include <openssl/evp.h>

#include <mutex>
#include <set>

#include "builtin_definitions.h"
#include "skiff/master/api/resources.h"
#include "skiff/master/apiextensions/apiextensions.h"
#include "skiff/master/openapi/openapi.h"
#include "v2_protobuf.h"

namespace skiff::master::openapi {
namespace {

constexpr std::string_view kV2Prefix = "#/definitions/";
constexpr std::string_view kV3Prefix = "#/components/schemas/";
constexpr std::string_view kMetaV1 = "io.k8s.apimachinery.pkg.apis.meta.v1.";

// kube-openapi's v3 form of a generated schema: refs under components, a $ref with siblings
// (description, default) wrapped in allOf, and the types v3 lists as oneOf.
json toV3(json s) {
  if (s.is_array()) {
    for (auto& e : s) e = toV3(std::move(e));
    return s;
  }
  if (!s.is_object()) return s;
  for (auto& [k, v] : s.items()) {
    if (k != "default" && k != "enum" && k != "example") v = toV3(std::move(v));
  }
  auto ref = s.find("$ref");
  if (ref != s.end() && ref->is_string()) {
    std::string r = *ref;
    if (r.rfind(kV2Prefix, 0) == 0) r = std::string(kV3Prefix) + r.substr(kV2Prefix.size());
    if (s.size() == 1) return {{"$ref", r}};
    s.erase("$ref");
    s["allOf"] = json::array({{{"$ref", r}}});
  }
  return s;
}

json parameter(const char* name, const char* description, bool v3) {
  json p = {{"name", name}, {"in", "query"}, {"description", description}, {"uniqueItems", true}};
  if (v3) {
    p["schema"] = {{"type", "string"}, {"uniqueItems", true}};
    p.erase("uniqueItems");
  } else {
    p["type"] = "string";
  }
  return p;
}

// The PATCH operation of a kind, with the query parameters kubectl looks for before it relies on
// the server: dryRun (kubectl diff), fieldValidation (kubectl apply's --validate).
json patchOperation(const api::ResourceInfo& r, const std::string& def, bool v3) {
  json params = json::array(
      {parameter("dryRun",
                 "When present, indicates that modifications should not be persisted. An invalid "
                 "or unrecognized dryRun directive will result in an error response and no further "
                 "processing of the request. Valid values are: - All: all dry run stages will be "
                 "processed",
                 v3),
       parameter("fieldManager",
                 "fieldManager is a name associated with the actor or entity that is making "
                 "these changes. The value must be less than or 128 characters long, and only "
                 "contain printable characters, as defined by https://golang.org/pkg/unicode/"
                 "#IsPrint. This field is required for apply requests (application/apply-patch) "
                 "but optional for non-apply patch types (JsonPatch, MergePatch, "
                 "StrategicMergePatch).",
                 v3),
       parameter("fieldValidation",
                 "fieldValidation instructs the server on how to handle objects in the request "
                 "(POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - "
                 "Ignore - Warn - Strict",
                 v3)});
  json force = {{"name", "force"},
                {"in", "query"},
                {"description",
                 "Force is going to \"force\" Apply requests. It means user will re-acquire "
                 "conflicting fields owned by other people. Force flag must be unset for non-apply "
                 "patch requests."}};
  if (v3) {
    force["schema"] = {{"type", "boolean"}, {"uniqueItems", true}};
  } else {
    force["type"] = "boolean";
    force["uniqueItems"] = true;
  }
  params.push_back(force);
  std::string prefix(v3 ? kV3Prefix : kV2Prefix);
  json ok = {{"description", "OK"}};
  if (v3) {
    ok["content"] = {{"application/json", {{"schema", {{"$ref", prefix + def}}}}}};
  } else {
    ok["schema"] = {{"$ref", prefix + def}};
  }
  json op = {{"operationId", "patch" + r.kind},
             {"parameters", params},
             {"responses", {{"200", ok}}},
             {"x-kubernetes-action", "patch"},
             {"x-kubernetes-group-version-kind",
              {{"group", r.group}, {"kind", r.kind}, {"version", r.version}}}};
  if (!v3) {
    op["consumes"] = {"application/json-patch+json", "application/merge-patch+json",
                      "application/strategic-merge-patch+json", "application/apply-patch+yaml"};
    op["produces"] = {"application/json", "application/yaml",
                      "application/vnd.kubernetes.protobuf"};
  }
  return op;
}

std::string itemPath(const api::ResourceInfo& r) {
  std::string base = r.group.empty() ? "/api/" + r.version : "/apis/" + r.groupVersion();
  return base + "/" + (r.namespaced ? "namespaces/{namespace}/" : "") + r.resource + "/{name}";
}

// "api/v1", "apis/apps/v1"
std::string docPath(const std::string& group, const std::string& version) {
  return group.empty() ? "api/" + version : "apis/" + group + "/" + version;
}

bool patchable(const api::ResourceInfo& r) {
  for (const auto& v : r.servedVerbs()) {
    if (v == "patch") return true;
  }
  return false;
}

// The definitions of a built-in kind's own document: the kind, its list, what its subresources
// take (Scale, Eviction, Binding).
std::vector<std::string> builtinRoots(const api::ResourceInfo& r) {
  const auto& defs = BuiltinDefinitions::get();
  std::vector<std::string> out;
  auto add = [&](const std::string& g, const std::string& v, const std::string& k) {
    std::string d = defs.kindDefinition({g, v, k});
    if (!d.empty()) out.push_back(d);
  };
  add(r.group, r.version, r.kind);
  add(r.group, r.version, r.kind + "List");
  for (const auto& s : r.subresources) add(s.group, s.version, s.kind);
  return out;
}

// One group-version's v3 document.
std::shared_ptr<const V3Document> buildV3(const std::string& group, const std::string& version) {
  const auto& defs = BuiltinDefinitions::get();
  std::vector<std::string> roots = defs.common();
  json schemas = json::object();
  json paths = json::object();
  bool any = false;
  for (const api::ResourceInfo* r : api::servedResources()) {
    if (r->group != group || r->version != version) continue;
    any = true;
    std::string def;
    if (r->custom) {
      schemas.update(apiextensions::customKindDefinitions(*r, true));
      roots.push_back(std::string(kMetaV1) + "ObjectMeta");  // what the kind and list refer to
      roots.push_back(std::string(kMetaV1) + "ListMeta");
      def = apiextensions::customKindDefinitionName(*r);
    } else {
      auto own = builtinRoots(*r);
      roots.insert(roots.end(), own.begin(), own.end());
      def = own.empty() ? "" : own.front();
    }
    if (!def.empty() && patchable(*r))
      paths[itemPath(*r)] = {{"patch", patchOperation(*r, def, true)}};
  }
  if (!any) return nullptr;
  for (const auto& name : defs.closure(roots)) {
    if (schemas.contains(name)) continue;
    json s = toV3(json::parse(defs.all().find(name)->second));
    if (const auto& types = defs.v3OneOf(name); !types.empty()) {
      s.erase("type");
      json one = json::array();
      for (const auto& t : types) one.push_back({{"type", t}});
      s["oneOf"] = one;
    }
    schemas[name] = std::move(s);
  }
  json doc = {{"openapi", "3.0.0"},
              {"info", {{"title", "Kubernetes"}, {"version", "v1.32.0"}}},
              {"paths", paths},
              {"components", {{"schemas", schemas}}}};
  auto out = std::make_shared<V3Document>();
  out->body = doc.dump();
  out->hash = documentHash(out->body);
  return out;
}

bool hasCustomKinds(const std::string& group, const std::string& version) {
  for (const api::ResourceInfo* r : api::servedResources()) {
    if (r->custom && r->group == group && r->version == version) return true;
  }
  return false;
}

// Built-in group-versions' documents, built on first request: they never change.
std::shared_ptr<const V3Document> v3For(const std::string& group, const std::string& version) {
  if (hasCustomKinds(group, version)) return buildV3(group, version);
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<const V3Document>> built;
  std::lock_guard lock(mu);
  auto key = docPath(group, version);
  auto it = built.find(key);
  if (it == built.end()) it = built.emplace(key, buildV3(group, version)).first;
  return it->second;
}

}  // namespace

std::string documentHash(const std::string& doc) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(doc.data(), doc.size(), md, &n, EVP_sha512(), nullptr);
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned int i = 0; i < n; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

json v3Index() {
  std::set<std::pair<std::string, std::string>> gvs;
  for (const api::ResourceInfo* r : api::servedResources()) gvs.insert({r->group, r->version});
  json paths = json::object();
  for (const auto& [g, v] : gvs) {
    auto doc = v3For(g, v);
    if (!doc) continue;
    std::string p = docPath(g, v);
    paths[p] = {{"serverRelativeURL", "/openapi/v3/" + p + "?hash=" + doc->hash}};
  }
  return {{"paths", paths}};
}

std::shared_ptr<const V3Document> v3Document(const std::string& path) {
  std::string group, version;
  if (path.rfind("api/", 0) == 0 && path.find('/', 4) == std::string::npos) {
    version = path.substr(4);
  } else if (path.rfind("apis/", 0) == 0) {
    std::size_t slash = path.find('/', 5);
    if (slash == std::string::npos || path.find('/', slash + 1) != std::string::npos) return {};
    group = path.substr(5, slash - 5);
    version = path.substr(slash + 1);
    if (group.empty()) return {};
  }
  if (version.empty()) return {};
  return v3For(group, version);
}

namespace {

// The v2 document without the built-in definitions: info, paths, custom kinds' definitions.
json v2Head() {
  json paths = json::object();
  json custom = json::object();
  for (const api::ResourceInfo* r : api::servedResources()) {
    std::string def;
    if (r->custom) {
      custom.update(apiextensions::customKindDefinitions(*r, false));
      def = apiextensions::customKindDefinitionName(*r);
    } else {
      auto own = builtinRoots(*r);
      def = own.empty() ? "" : own.front();
    }
    if (!def.empty() && patchable(*r)) {
      paths[itemPath(*r)] = {{"patch", patchOperation(*r, def, false)}};
    }
  }
  return {{"swagger", "2.0"},
          {"info", {{"title", "Kubernetes"}, {"version", "v1.32.0"}}},
          {"paths", paths},
          {"definitions", custom}};
}

// The built-in definitions no custom kind replaces, as text.
std::vector<std::pair<std::string, std::string_view>> builtinTexts(const json& custom) {
  std::vector<std::pair<std::string, std::string_view>> out;
  for (const auto& [name, text] : BuiltinDefinitions::get().all()) {
    if (!custom.contains(name)) out.emplace_back(name, text);
  }
  return out;
}

}  // namespace

std::string v2Json() {
  json head = v2Head();
  json custom = std::move(head["definitions"]);
  head.erase("definitions");
  // The generated definitions go in as text: 900 KB that need no parsing.
  std::string out = head.dump();
  out.pop_back();
  out += ",\"definitions\":{";
  bool first = true;
  auto add = [&](const std::string& name, std::string_view text) {
    if (!first) out += ',';
    first = false;
    out += json(name).dump();
    out += ':';
    out += text;
  };
  for (const auto& [name, text] : builtinTexts(custom)) add(name, text);
  for (const auto& [name, s] : custom.items()) add(name, s.dump());
  out += "}}";
  return out;
}

std::string v2ProtobufDocument() {
  // The document changes only with CRDs: encoded again when the head (paths, custom kinds)
  // differs from the last one.
  static std::mutex mu;
  static std::string last_head, last_protobuf;
  json head = v2Head();
  std::string key = head.dump();
  std::lock_guard lock(mu);
  if (key != last_head) {
    last_protobuf = v2Protobuf(head, builtinTexts(head["definitions"]));
    last_head = std::move(key);
  }
  return last_protobuf;
}

}  // namespace skiff::master::openapi
