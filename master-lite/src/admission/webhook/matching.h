#pragma once

// Which webhooks a request reaches (upstream's admission/plugin/webhook/predicates): rules
// (operations, apiGroups, apiVersions, resources with subresources, scope) and label selectors.

#include <string>

#include <nlohmann/json.hpp>

namespace skiff::master::admission::webhook {

struct RequestFacts {
  std::string operation;  // CREATE, UPDATE, DELETE, CONNECT
  std::string group, version, resource, subresource;
  bool namespaced = true;
};

// One RuleWithOperations.
bool ruleMatches(const nlohmann::json& rule, const RequestFacts& f);
// Any of the webhook's rules.
bool rulesMatch(const nlohmann::json& webhook, const RequestFacts& f);
// A metav1.LabelSelector against labels (null labels = none). An absent selector matches
// everything (the webhook defaults are {}); a malformed one matches nothing.
bool selectorMatches(const nlohmann::json& selector, const nlohmann::json& labels);

}  // namespace skiff::master::admission::webhook
