// Unknown fields of a built-in object by its kind's generated definition: what kube-apiserver's
// strict decoding (fieldValidation=Strict|Warn) reports, in its path form
// ("spec.template.spec.containers[0].imag").
#include <mutex>

#include "builtin_definitions.h"
#include "skiff/master/openapi/openapi.h"

namespace skiff::master::openapi {
namespace {

constexpr std::string_view kRefPrefix = "#/definitions/";

// Parsed definitions, kept once parsed: every `kubectl apply` asks for Strict, so the kinds in
// use are checked again and again.
const json& parsed(const std::string& name) {
  static std::mutex mu;
  static std::map<std::string, json, std::less<>> cache;
  static const json none;
  std::lock_guard lock(mu);
  auto it = cache.find(name);
  if (it != cache.end()) return it->second;
  const auto& all = BuiltinDefinitions::get().all();
  auto def = all.find(name);
  if (def == all.end()) return none;
  return cache.emplace(name, json::parse(def->second)).first->second;
}

const json& resolve(const json& schema) {
  auto ref = schema.find("$ref");
  if (ref == schema.end() || !ref->is_string()) return schema;
  std::string r = *ref;
  return parsed(r.substr(kRefPrefix.size()));
}

void walk(const json& schema_in, const json& value, const std::string& path,
          std::vector<std::string>& out) {
  const json& schema = resolve(schema_in);
  if (!schema.is_object()) return;
  if (value.is_array()) {
    auto items = schema.find("items");
    if (items == schema.end()) return;
    for (std::size_t i = 0; i < value.size(); ++i) {
      walk(*items, value[i], path + "[" + std::to_string(i) + "]", out);
    }
    return;
  }
  if (!value.is_object()) return;
  if (auto props = schema.find("properties"); props != schema.end()) {
    for (const auto& [k, v] : value.items()) {
      std::string p = path.empty() ? k : path + "." + k;
      auto field = props->find(k);
      if (field == props->end()) {
        out.push_back(p);
      } else {
        walk(*field, v, p, out);
      }
    }
  } else if (auto add = schema.find("additionalProperties"); add != schema.end()) {
    for (const auto& [k, v] : value.items()) walk(*add, v, path + "." + k, out);
  }
  // An object schema with neither (RawExtension, FieldsV1, JSON) takes any content.
}

}  // namespace

std::optional<std::vector<std::string>> unknownFields(const std::string& group,
                                                      const std::string& version,
                                                      const std::string& kind, const json& obj) {
  std::string def = BuiltinDefinitions::get().kindDefinition({group, version, kind});
  if (def.empty()) return std::nullopt;
  std::vector<std::string> out;
  walk(parsed(def), obj, "", out);
  return out;
}

std::vector<std::string> unknownMetadataFields(const json& metadata) {
  std::vector<std::string> out;
  walk(parsed("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"), metadata, "metadata", out);
  return out;
}

}  // namespace skiff::master::openapi
