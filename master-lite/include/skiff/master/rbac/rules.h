#pragma once

// RBAC policy rules and how a request is matched against them, as upstream's
// plugin/pkg/auth/authorizer/rbac (RuleAllows) and pkg/registry/rbac/validation (Covers,
// BreakdownRule, CompactString) do.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace skiff::master::rbac {

// One rbac.authorization.k8s.io/v1 PolicyRule.
struct PolicyRule {
  std::vector<std::string> verbs;
  std::vector<std::string> api_groups;
  std::vector<std::string> resources;
  std::vector<std::string> resource_names;
  std::vector<std::string> non_resource_urls;

  bool operator==(const PolicyRule&) const = default;
  nlohmann::json toJson() const;
  // {APIGroups:[""], Resources:["pods"], Verbs:["create"]}: upstream's CompactString, the form
  // escalation errors list missing rules in.
  std::string compactString() const;
};
using PolicyRules = std::vector<PolicyRule>;

// What a request asks, in authorizer.Attributes' terms.
struct Attributes {
  std::string user;  // for messages only; subjects are matched by the index
  std::string verb;
  bool resource_request = true;
  std::string api_group;
  std::string resource;
  std::string subresource;
  std::string ns;
  std::string name;
  std::string path;  // non-resource requests
};

// A rule from its JSON (missing lists are empty; non-string entries are skipped).
PolicyRule ruleFromJson(const nlohmann::json& rule);
// The "rules" array of a Role/ClusterRole (missing = none).
PolicyRules rulesFromJson(const nlohmann::json& rules);
nlohmann::json rulesToJson(const PolicyRules& rules);

// RuleAllows: verb, group, resource (with "resource/subresource", "*" and "*/subresource"),
// resourceNames (empty = any) for resource requests; verb and nonResourceURLs (exact, "*", or a
// trailing "*" prefix) otherwise.
bool ruleAllows(const Attributes& a, const PolicyRule& rule);
bool rulesAllow(const Attributes& a, const PolicyRules& rules);

// Covers: whether `owner` holds every permission of `requested`; the rules (broken down to one
// verb/group/resource/name each, then compacted) that it does not hold go to `missing`.
bool covers(const PolicyRules& owner, const PolicyRules& requested, PolicyRules* missing);

}  // namespace skiff::master::rbac
