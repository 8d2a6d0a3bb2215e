#pragma once

// The audit policy (audit.k8s.io/v1 Policy, kube-apiserver --audit-policy-file): ordered rules,
// the first that matches a request decides its level (None when no rule matches) and which
// stages are left out (k8s.io/apiserver pkg/audit/policy/checker.go).

#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "skiff/common/result.h"

namespace skiff::master::audit {

enum class Level { None, Metadata, Request, RequestResponse };
enum class Stage { RequestReceived, ResponseStarted, ResponseComplete, Panic };

const char* levelName(Level l);
const char* stageName(Stage s);
// ordering: None < Metadata < Request < RequestResponse
inline bool atLeast(Level l, Level min) { return static_cast<int>(l) >= static_cast<int>(min); }

struct GroupResources {
  std::string group;                        // "" = core
  std::vector<std::string> resources;       // "pods", "pods/log", "*/scale", "pods/*", "*"
  std::vector<std::string> resource_names;  // empty = any
};

struct PolicyRule {
  Level level = Level::None;
  std::vector<std::string> users, user_groups, verbs, namespaces, non_resource_urls;
  std::vector<GroupResources> resources;
  std::set<Stage> omit_stages;
  int omit_managed_fields = -1;  // -1 unset (policy's value), 0 false, 1 true
};

struct Policy {
  std::vector<PolicyRule> rules;
  std::set<Stage> omit_stages;
  bool omit_managed_fields = false;
};

// What the policy looks at in a request (authorizer.Attributes).
struct RequestAttributes {
  std::string user;
  std::vector<std::string> groups;
  std::string verb;
  bool resource_request = false;
  std::string api_group, resource, subresource, ns, name;
  std::string path;  // non-resource requests
};

struct Decision {
  Level level = Level::None;
  std::set<Stage> omit_stages;
  bool omit_managed_fields = false;
};

// Parses and validates a Policy object (kind Policy, apiVersion audit.k8s.io/v1); errors name
// the field, as kube-apiserver's validation does.
Result<Policy> parsePolicy(const nlohmann::json& obj);
// Reads a policy file (YAML or JSON).
Result<Policy> loadPolicyFile(const std::string& path);

// The first matching rule's level and stages to omit (policy's and rule's), or None.
Decision evaluatePolicy(const Policy& policy, const RequestAttributes& attrs);

}  // namespace skiff::master::audit
