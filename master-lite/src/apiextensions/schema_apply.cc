// Defaulting and pruning of custom objects by their structural schema
// (pkg/apiserver/schema/defaulting/algorithm.go, pkg/apiserver/schema/pruning/algorithm.go), and
// the x-kubernetes-validations rules a schema carries.
#include "skiff/master/apiextensions/apiextensions.h"

namespace skiff::master::apiextensions {
namespace {

const json& propertySchema(const json& s, const std::string& k) {
  static const json kNull;
  if (s.contains("properties") && s["properties"].is_object() && s["properties"].contains(k))
    return s["properties"][k];
  if (s.contains("additionalProperties") && s["additionalProperties"].is_object())
    return s["additionalProperties"];
  return kNull;
}

bool nonNullableNull(const json& v, const json& s) {
  return v.is_null() && !s.value("nullable", false);
}

void defaultValue(const json& s, json& v) {
  if (!s.is_object()) return;
  if (v.is_object()) {
    if (s.contains("properties") && s["properties"].is_object()) {
      for (const auto& [k, p] : s["properties"].items()) {
        if (!p.is_object() || !p.contains("default")) continue;
        if (!v.contains(k) || nonNullableNull(v[k], p)) v[k] = p["default"];
      }
    }
    for (auto& [k, x] : v.items()) defaultValue(propertySchema(s, k), x);
  } else if (v.is_array() && s.contains("items")) {
    const json& items = s["items"];
    for (auto& x : v) {
      if (items.is_object() && items.contains("default") && nonNullableNull(x, items))
        x = items["default"];
      defaultValue(items, x);
    }
  }
}

std::string childPath(const std::string& path, const std::string& k) {
  return path.empty() ? k : path + "." + k;
}

void pruneValue(const json& s, json& v, bool resource_root, const std::string& path,
                std::vector<std::string>* pruned) {
  if (!s.is_object()) return;
  if (v.is_array()) {
    if (!s.contains("items")) return;
    for (std::size_t i = 0; i < v.size(); ++i)
      pruneValue(s["items"], v[i], false, path + "[" + std::to_string(i) + "]", pruned);
    return;
  }
  if (!v.is_object()) return;
  bool root = resource_root || s.value("x-kubernetes-embedded-resource", false);
  bool preserve = s.value("x-kubernetes-preserve-unknown-fields", false);
  std::vector<std::string> drop;
  for (auto& [k, x] : v.items()) {
    if (root && (k == "apiVersion" || k == "kind" || k == "metadata")) continue;
    const json& sub = propertySchema(s, k);
    if (sub.is_null()) {
      if (!preserve) drop.push_back(k);
      continue;
    }
    pruneValue(sub, x, false, childPath(path, k), pruned);
  }
  for (const auto& k : drop) {
    v.erase(k);
    if (pruned) pruned->push_back(childPath(path, k));
  }
}

void collectRules(const json& s, const std::string& path, std::vector<std::string>& out) {
  if (!s.is_object()) return;
  if (s.contains("x-kubernetes-validations") && s["x-kubernetes-validations"].is_array()) {
    for (const auto& r : s["x-kubernetes-validations"]) {
      if (r.is_object() && r.contains("rule") && r["rule"].is_string())
        out.push_back((path.empty() ? "<root>" : path) + ": " + r["rule"].get<std::string>());
    }
  }
  if (s.contains("properties") && s["properties"].is_object()) {
    for (const auto& [k, p] : s["properties"].items()) collectRules(p, childPath(path, k), out);
  }
  if (s.contains("additionalProperties"))
    collectRules(s["additionalProperties"], path + "[*]", out);
  if (s.contains("items")) collectRules(s["items"], path + "[*]", out);
}

}  // namespace

void applySchemaDefaults(const json& schema, json& obj) { defaultValue(schema, obj); }

void pruneBySchema(const json& schema, json& obj, std::vector<std::string>* pruned) {
  pruneValue(schema, obj, true, "", pruned);
}

std::vector<std::string> celRules(const json& schema) {
  std::vector<std::string> out;
  collectRules(schema, "", out);
  return out;
}

}  // namespace skiff::master::apiextensions
