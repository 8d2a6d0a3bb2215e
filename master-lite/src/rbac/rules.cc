// Rule matching and coverage, as upstream's rbac authorizer (RuleAllows) and
// pkg/registry/rbac/validation (Covers, BreakdownRule, CompactRules, CompactString) do.
#include "skiff/master/rbac/rules.h"

#include <algorithm>
#include <map>
#include <tuple>

namespace skiff::master::rbac {
namespace {

using json = nlohmann::json;

bool has(const std::vector<std::string>& set, const std::string& v) {
  return std::find(set.begin(), set.end(), v) != set.end();
}

bool hasAll(const std::vector<std::string>& set, const std::vector<std::string>& want) {
  return std::all_of(want.begin(), want.end(), [&](const std::string& w) { return has(set, w); });
}

std::vector<std::string> strings(const json& obj, const char* key) {
  std::vector<std::string> out;
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_array()) return out;
  for (const auto& v : *it) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

bool verbMatches(const PolicyRule& r, const std::string& verb) {
  return has(r.verbs, "*") || has(r.verbs, verb);
}

bool groupMatches(const PolicyRule& r, const std::string& group) {
  return has(r.api_groups, "*") || has(r.api_groups, group);
}

bool resourceMatches(const PolicyRule& r, const std::string& combined,
                     const std::string& subresource) {
  for (const auto& rr : r.resources) {
    if (rr == "*" || rr == combined) return true;
    // "*/scale" matches the scale subresource of every resource.
    if (!subresource.empty() && rr.size() == subresource.size() + 2 && rr.rfind("*/", 0) == 0 &&
        rr.compare(2, std::string::npos, subresource) == 0)
      return true;
  }
  return false;
}

bool nameMatches(const PolicyRule& r, const std::string& name) {
  return r.resource_names.empty() || has(r.resource_names, name);
}

bool urlMatches(const PolicyRule& r, const std::string& path) {
  for (const auto& u : r.non_resource_urls) {
    if (u == "*" || u == path) return true;
    if (!u.empty() && u.back() == '*' && path.compare(0, u.size() - 1, u, 0, u.size() - 1) == 0)
      return true;
  }
  return false;
}

bool resourceCoversAll(const std::vector<std::string>& owner,
                       const std::vector<std::string>& want) {
  if (has(owner, "*") || hasAll(owner, want)) return true;
  for (const auto& path : want) {
    if (has(owner, path)) continue;
    auto slash = path.find('/');
    if (slash == std::string::npos) return false;
    if (!has(owner, "*/" + path.substr(slash + 1))) return false;
  }
  return true;
}

bool urlCovers(const std::string& owner, const std::string& want) {
  if (owner == want) return true;
  return !owner.empty() && owner.back() == '*' &&
         want.compare(0, owner.size() - 1, owner, 0, owner.size() - 1) == 0;
}

bool ruleCovers(const PolicyRule& owner, const PolicyRule& want) {
  bool verbs = has(owner.verbs, "*") || hasAll(owner.verbs, want.verbs);
  bool groups = has(owner.api_groups, "*") || hasAll(owner.api_groups, want.api_groups);
  bool resources = resourceCoversAll(owner.resources, want.resources);
  bool urls = std::all_of(
      want.non_resource_urls.begin(), want.non_resource_urls.end(), [&](const std::string& w) {
        return std::any_of(owner.non_resource_urls.begin(), owner.non_resource_urls.end(),
                           [&](const std::string& o) { return urlCovers(o, w); });
      });
  // A grant limited to names never covers an unnamed request.
  bool names = owner.resource_names.empty() ||
               (!want.resource_names.empty() && hasAll(owner.resource_names, want.resource_names));
  return verbs && groups && resources && urls && names;
}

PolicyRules breakdown(const PolicyRule& rule) {
  PolicyRules out;
  for (const auto& g : rule.api_groups) {
    for (const auto& res : rule.resources) {
      for (const auto& v : rule.verbs) {
        if (rule.resource_names.empty()) {
          out.push_back({{v}, {g}, {res}, {}, {}});
        } else {
          for (const auto& n : rule.resource_names) out.push_back({{v}, {g}, {res}, {n}, {}});
        }
      }
    }
  }
  for (const auto& u : rule.non_resource_urls) {
    for (const auto& v : rule.verbs) out.push_back({{v}, {}, {}, {}, {u}});
  }
  return out;
}

// CompactRules: simple rules (one group, one resource, at most one name) merge their verbs.
PolicyRules compact(const PolicyRules& rules) {
  PolicyRules out;
  std::map<std::tuple<std::string, std::string, bool, std::string>, std::size_t> simple;
  PolicyRules simple_rules;
  for (const auto& r : rules) {
    bool is_simple = r.resource_names.size() <= 1 && r.non_resource_urls.empty() &&
                     r.api_groups.size() == 1 && r.resources.size() == 1;
    if (!is_simple) {
      out.push_back(r);
      continue;
    }
    auto key = std::make_tuple(r.api_groups[0], r.resources[0], !r.resource_names.empty(),
                               r.resource_names.empty() ? "" : r.resource_names[0]);
    auto it = simple.find(key);
    if (it == simple.end()) {
      simple.emplace(key, simple_rules.size());
      simple_rules.push_back(r);
    } else {
      auto& verbs = simple_rules[it->second].verbs;
      verbs.insert(verbs.end(), r.verbs.begin(), r.verbs.end());
    }
  }
  out.insert(out.end(), simple_rules.begin(), simple_rules.end());
  return out;
}

// Go's %q of a []string: ["a" "b"].
std::string quoted(const std::vector<std::string>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) {
    out += i ? " \"" : "\"";
    for (char c : v[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "]";
}

}  // namespace

json PolicyRule::toJson() const {
  json r = json::object();
  r["verbs"] = verbs;
  if (!api_groups.empty()) r["apiGroups"] = api_groups;
  if (!resources.empty()) r["resources"] = resources;
  if (!resource_names.empty()) r["resourceNames"] = resource_names;
  if (!non_resource_urls.empty()) r["nonResourceURLs"] = non_resource_urls;
  return r;
}

std::string PolicyRule::compactString() const {
  std::vector<std::string> parts;
  if (!api_groups.empty()) parts.push_back("APIGroups:" + quoted(api_groups));
  if (!resources.empty()) parts.push_back("Resources:" + quoted(resources));
  if (!non_resource_urls.empty()) parts.push_back("NonResourceURLs:" + quoted(non_resource_urls));
  if (!resource_names.empty()) parts.push_back("ResourceNames:" + quoted(resource_names));
  if (!verbs.empty()) parts.push_back("Verbs:" + quoted(verbs));
  std::string out = "{";
  for (std::size_t i = 0; i < parts.size(); ++i) out += (i ? ", " : "") + parts[i];
  return out + "}";
}

PolicyRule ruleFromJson(const json& rule) {
  PolicyRule r;
  if (!rule.is_object()) return r;
  r.verbs = strings(rule, "verbs");
  r.api_groups = strings(rule, "apiGroups");
  r.resources = strings(rule, "resources");
  r.resource_names = strings(rule, "resourceNames");
  r.non_resource_urls = strings(rule, "nonResourceURLs");
  return r;
}

PolicyRules rulesFromJson(const json& rules) {
  PolicyRules out;
  if (!rules.is_array()) return out;
  out.reserve(rules.size());
  for (const auto& r : rules) out.push_back(ruleFromJson(r));
  return out;
}

json rulesToJson(const PolicyRules& rules) {
  json out = json::array();
  for (const auto& r : rules) out.push_back(r.toJson());
  return out;
}

bool ruleAllows(const Attributes& a, const PolicyRule& rule) {
  if (!verbMatches(rule, a.verb)) return false;
  if (!a.resource_request) return urlMatches(rule, a.path);
  std::string combined = a.subresource.empty() ? a.resource : a.resource + "/" + a.subresource;
  return groupMatches(rule, a.api_group) && resourceMatches(rule, combined, a.subresource) &&
         nameMatches(rule, a.name);
}

bool rulesAllow(const Attributes& a, const PolicyRules& rules) {
  return std::any_of(rules.begin(), rules.end(),
                     [&](const PolicyRule& r) { return ruleAllows(a, r); });
}

bool covers(const PolicyRules& owner, const PolicyRules& requested, PolicyRules* missing) {
  PolicyRules uncovered;
  for (const auto& want : requested) {
    for (const auto& sub : breakdown(want)) {
      bool ok = std::any_of(owner.begin(), owner.end(),
                            [&](const PolicyRule& o) { return ruleCovers(o, sub); });
      if (!ok) uncovered.push_back(sub);
    }
  }
  if (missing) *missing = compact(uncovered);
  return uncovered.empty();
}

}  // namespace skiff::master::rbac
