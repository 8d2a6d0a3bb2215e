#include "matching.h"

#include "skiff/master/selectors.h"

namespace skiff::master::admission::webhook {
namespace {

using json = nlohmann::json;

bool listHas(const json& rule, const char* key, const std::string& value) {
  const json& l = rule.contains(key) ? rule[key] : json();
  if (!l.is_array()) return false;
  for (const auto& x : l) {
    if (x == "*" || x == value) return true;
  }
  return false;
}

// "pods" matches the main resource, "pods/status" one subresource, "pods/*" the resource and
// all its subresources, "*" every main resource, "*/status" that subresource of any, "*/*"
// everything.
bool resourceMatches(const json& rule, const RequestFacts& f) {
  const json& l = rule.contains("resources") ? rule["resources"] : json();
  if (!l.is_array()) return false;
  for (const auto& x : l) {
    if (!x.is_string()) continue;
    std::string s = x.get<std::string>();
    auto slash = s.find('/');
    std::string res = s.substr(0, slash);
    std::string sub = slash == std::string::npos ? "" : s.substr(slash + 1);
    if (res != "*" && res != f.resource) continue;
    if (slash == std::string::npos) {
      if (f.subresource.empty()) return true;
      continue;
    }
    if (sub == "*" || sub == f.subresource) return true;
  }
  return false;
}

}  // namespace

bool ruleMatches(const json& rule, const RequestFacts& f) {
  if (!rule.is_object()) return false;
  if (!listHas(rule, "operations", f.operation)) return false;
  if (!listHas(rule, "apiGroups", f.group)) return false;
  if (!listHas(rule, "apiVersions", f.version)) return false;
  if (!resourceMatches(rule, f)) return false;
  std::string scope = rule.value("scope", "*");
  if (scope == "Cluster" && f.namespaced) return false;
  if (scope == "Namespaced" && !f.namespaced) return false;
  return true;
}

bool rulesMatch(const json& webhook, const RequestFacts& f) {
  const json& rules = webhook.contains("rules") ? webhook["rules"] : json();
  if (!rules.is_array()) return false;
  for (const auto& r : rules) {
    if (ruleMatches(r, f)) return true;
  }
  return false;
}

bool selectorMatches(const json& selector, const json& labels) {
  if (selector.is_null()) return true;
  auto sel = LabelSelector::fromJson(selector);
  if (!sel) return false;
  return sel->matches(labels.is_object() ? labels : json());
}

}  // namespace skiff::master::admission::webhook
