// audit.k8s.io/v1 Policy: parsing, validation and rule matching as kube-apiserver's policy
// checker (k8s.io/apiserver pkg/audit/policy/checker.go, apis/audit/validation).
#include "skiff/master/audit/policy.h"

#include <algorithm>

#include "skiff/common/enum_names.h"
#include "skiff/common/file.h"
#include "skiff/common/yaml.h"

namespace skiff::master::audit {

namespace {

constexpr EnumName<Level> kLevels[] = {{Level::None, "None"},
                                       {Level::Metadata, "Metadata"},
                                       {Level::Request, "Request"},
                                       {Level::RequestResponse, "RequestResponse"}};
constexpr EnumName<Stage> kStages[] = {{Stage::RequestReceived, "RequestReceived"},
                                       {Stage::ResponseStarted, "ResponseStarted"},
                                       {Stage::ResponseComplete, "ResponseComplete"},
                                       {Stage::Panic, "Panic"}};

}  // namespace

const char* levelName(Level l) { return nameOf(kLevels, l, "None"); }

const char* stageName(Stage s) { return nameOf(kStages, s, ""); }

namespace {

using json = nlohmann::json;

Result<std::vector<std::string>> strings(const json& obj, const char* key, const std::string& at) {
  std::vector<std::string> out;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return out;
  if (!it->is_array()) return Error(ErrorCode::Invalid, at + "." + key + ": must be a list");
  for (const json& s : *it) {
    if (!s.is_string()) return Error(ErrorCode::Invalid, at + "." + key + ": must be strings");
    out.push_back(s.get<std::string>());
  }
  return out;
}

Result<std::set<Stage>> stages(const json& obj, const std::string& at) {
  SKIFF_ASSIGN_OR_RETURN(auto names, strings(obj, "omitStages", at));
  std::set<Stage> out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    Stage s = Stage::RequestReceived;
    if (!valueOf(kStages, names[i], s)) {
      return Error(ErrorCode::Invalid,
                   at + ".omitStages[" + std::to_string(i) + "]: Unsupported value: \"" + names[i] +
                       "\": supported values: \"RequestReceived\", \"ResponseStarted\", "
                       "\"ResponseComplete\", \"Panic\"");
    }
    out.insert(s);
  }
  return out;
}

Result<PolicyRule> parseRule(const json& r, const std::string& at) {
  if (!r.is_object()) return Error(ErrorCode::Invalid, at + ": must be an object");
  PolicyRule rule;
  std::string level = r.value("level", "");
  if (!valueOf(kLevels, level, rule.level)) {
    return Error(ErrorCode::Invalid, at + ".level: Unsupported value: \"" + level +
                                         "\": supported values: \"None\", \"Metadata\", "
                                         "\"Request\", \"RequestResponse\"");
  }
  SKIFF_ASSIGN_OR_RETURN(rule.users, strings(r, "users", at));
  SKIFF_ASSIGN_OR_RETURN(rule.user_groups, strings(r, "userGroups", at));
  SKIFF_ASSIGN_OR_RETURN(rule.verbs, strings(r, "verbs", at));
  SKIFF_ASSIGN_OR_RETURN(rule.namespaces, strings(r, "namespaces", at));
  SKIFF_ASSIGN_OR_RETURN(rule.non_resource_urls, strings(r, "nonResourceURLs", at));
  SKIFF_ASSIGN_OR_RETURN(rule.omit_stages, stages(r, at));
  if (r.contains("omitManagedFields") && r["omitManagedFields"].is_boolean())
    rule.omit_managed_fields = r["omitManagedFields"].get<bool>() ? 1 : 0;
  if (r.contains("resources") && r["resources"].is_array()) {
    for (std::size_t i = 0; i < r["resources"].size(); ++i) {
      const json& g = r["resources"][i];
      std::string gat = at + ".resources[" + std::to_string(i) + "]";
      GroupResources gr;
      gr.group = g.value("group", "");
      SKIFF_ASSIGN_OR_RETURN(gr.resources, strings(g, "resources", gat));
      SKIFF_ASSIGN_OR_RETURN(gr.resource_names, strings(g, "resourceNames", gat));
      rule.resources.push_back(std::move(gr));
    }
  }
  if (!rule.non_resource_urls.empty() && (!rule.resources.empty() || !rule.namespaces.empty())) {
    return Error(ErrorCode::Invalid,
                 at + ".nonResourceURLs: Invalid value: rules cannot apply to both regular "
                      "resources and non-resource URLs");
  }
  return rule;
}

bool has(const std::vector<std::string>& list, const std::string& s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

bool pathMatches(const std::string& path, const std::string& spec) {
  if (spec == "*" || spec == path) return true;
  if (!spec.empty() && spec.back() == '*') {
    std::string prefix = spec.substr(0, spec.find_last_not_of('*') + 1);
    return path.rfind(prefix, 0) == 0;
  }
  return false;
}

bool resourceMatches(const GroupResources& gr, const RequestAttributes& a) {
  if (gr.group != a.api_group) return false;
  if (gr.resources.empty()) return true;
  if (!gr.resource_names.empty() && !has(gr.resource_names, a.name)) return false;
  std::string combined = a.subresource.empty() ? a.resource : a.resource + "/" + a.subresource;
  for (const std::string& res : gr.resources) {
    if (res == combined || res == "*") return true;
    if (!a.subresource.empty() && res.rfind("*/", 0) == 0 && res.substr(2) == a.subresource)
      return true;
    if (res.size() > 2 && res.compare(res.size() - 2, 2, "/*") == 0 &&
        res.substr(0, res.size() - 2) == a.resource)
      return true;
  }
  return false;
}

bool ruleMatches(const PolicyRule& r, const RequestAttributes& a) {
  if (!r.users.empty() && !has(r.users, a.user)) return false;
  if (!r.user_groups.empty() &&
      std::none_of(a.groups.begin(), a.groups.end(),
                   [&](const std::string& g) { return has(r.user_groups, g); }))
    return false;
  if (!r.verbs.empty() && !has(r.verbs, a.verb)) return false;
  if (!r.namespaces.empty() || !r.resources.empty()) {
    if (!a.resource_request) return false;
    if (!r.namespaces.empty() && !has(r.namespaces, a.ns)) return false;
    if (r.resources.empty()) return true;
    return std::any_of(r.resources.begin(), r.resources.end(),
                       [&](const GroupResources& gr) { return resourceMatches(gr, a); });
  }
  if (!r.non_resource_urls.empty()) {
    if (a.resource_request) return false;
    return std::any_of(r.non_resource_urls.begin(), r.non_resource_urls.end(),
                       [&](const std::string& spec) { return pathMatches(a.path, spec); });
  }
  return true;
}

}  // namespace

Result<Policy> parsePolicy(const json& obj) {
  if (!obj.is_object() || obj.value("kind", "") != "Policy")
    return Error(ErrorCode::Invalid, "audit policy: kind must be Policy");
  std::string api = obj.value("apiVersion", "");
  if (api != "audit.k8s.io/v1" && api != "audit.k8s.io/v1beta1" && api != "audit.k8s.io/v1alpha1")
    return Error(ErrorCode::Invalid, "audit policy: unsupported apiVersion '" + api + "'");
  Policy p;
  SKIFF_ASSIGN_OR_RETURN(p.omit_stages, stages(obj, "omitStages"));
  if (obj.contains("omitManagedFields") && obj["omitManagedFields"].is_boolean())
    p.omit_managed_fields = obj["omitManagedFields"].get<bool>();
  const json& rules = obj.contains("rules") ? obj["rules"] : json();
  if (!rules.is_array() || rules.empty())
    return Error(ErrorCode::Invalid, "audit policy: rules: Required value: at least one rule");
  for (std::size_t i = 0; i < rules.size(); ++i) {
    auto rule = parseRule(rules[i], "rules[" + std::to_string(i) + "]");
    if (!rule) return rule.error().wrap("audit policy");
    p.rules.push_back(std::move(rule).value());
  }
  return p;
}

Result<Policy> loadPolicyFile(const std::string& path) {
  SKIFF_ASSIGN_OR_RETURN(std::string text, readFile(path));
  auto doc = yamlToJson(text);
  if (!doc) return doc.error().wrap("parse audit policy '" + path + "'");
  auto p = parsePolicy(*doc);
  if (!p) return p.error().wrap("load audit policy '" + path + "'");
  return p;
}

Decision evaluatePolicy(const Policy& policy, const RequestAttributes& attrs) {
  Decision d;
  d.omit_managed_fields = policy.omit_managed_fields;
  for (const PolicyRule& r : policy.rules) {
    if (!ruleMatches(r, attrs)) continue;
    d.level = r.level;
    d.omit_stages = policy.omit_stages;
    d.omit_stages.insert(r.omit_stages.begin(), r.omit_stages.end());
    if (r.omit_managed_fields >= 0) d.omit_managed_fields = r.omit_managed_fields == 1;
    return d;
  }
  return d;
}

}  // namespace skiff::master::audit
