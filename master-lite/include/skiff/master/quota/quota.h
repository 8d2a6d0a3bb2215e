#pragma once

// ResourceQuota arithmetic shared by the quota admission plugin and the resource quota
// controller (k8s.io/apiserver/pkg/quota/v1 and pkg/quota/v1/evaluator/core): what an object
// charges against a quota, which quotas apply to it (scopes), and upstream's list formatting.
// Pure functions over JSON; no store, no clock.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "skiff/common/quantity.h"

namespace skiff::master::quota {

using json = nlohmann::json;
// A v1.ResourceList as quota handles it: resource name -> quantity, sorted by name.
using ResourceList = std::map<std::string, Quantity>;

// The resource list of JSON (`spec.hard`, `status.used`); malformed entries are left out.
ResourceList parseList(const json& list);
json toJson(const ResourceList& list);
// toJson(list).dump(), written directly: a charge's status.used is spliced into the stored
// quota's text on every admitted create.
std::string toJsonText(const ResourceList& list);

// upstream's quota.Add / Mask / IsZero / LessThanOrEqual.
ResourceList add(const ResourceList& a, const ResourceList& b);
ResourceList subtract(const ResourceList& a, const ResourceList& b);
ResourceList mask(const ResourceList& list, const std::vector<std::string>& names);
bool isZero(const ResourceList& list);
// The names in `a` whose value exceeds `b`'s (only names present in both count), sorted.
std::vector<std::string> exceeded(const ResourceList& a, const ResourceList& b);
std::vector<std::string> names(const ResourceList& list);
// "pods=1,requests.cpu=500m" (prettyPrint): sorted, comma-joined.
std::string prettyPrint(const ResourceList& list);

// What one object of `group`/`resource` (plural) charges. Pods: `pods`, `count/pods`, cpu,
// memory, ephemeral-storage and extended resources as `requests.*`/`limits.*` (plus the bare
// `cpu`/`memory` names); a terminal pod charges only `count/pods`. Services: `services`,
// `services.nodeports`, `services.loadbalancers`. PersistentVolumeClaims: `persistentvolumeclaims`,
// `requests.storage` and the per-StorageClass names. Every kind: `count/<resource>[.<group>]`,
// and the legacy names for configmaps, secrets, replicationcontrollers, resourcequotas.
ResourceList usageOf(const std::string& group, const std::string& resource, const json& obj);

// Whether the quota admission evaluates an UPDATE of group/resource (the evaluators' Handles):
// Services (a type change charges services.nodeports/loadbalancers) and PersistentVolumeClaims
// (a grown request charges requests.storage). Pods only with InPlacePodVerticalScaling (alpha,
// off in 1.32); every other kind on create only.
bool handlesUpdate(const std::string& group, const std::string& resource);

// What a create or update charges (CheckRequest's deltaUsage): the new object's usage, less the
// old object's for an update of a stored object (one with a resourceVersion), never negative,
// zeros removed. Empty when there is nothing to charge.
ResourceList requestDelta(const std::string& group, const std::string& resource, const json& obj,
                          const json* old);
// The same with `usage` = usageOf(group, resource, obj), computed already.
ResourceList requestDelta(const std::string& group, const std::string& resource, ResourceList usage,
                          const json* old);
// The resources of `list` below zero (quota.IsNegative), sorted.
std::vector<std::string> negative(const ResourceList& list);

// Whether quota resource `name` is one that objects of group/resource can charge
// (evaluator.MatchingResources).
bool tracks(const std::string& group, const std::string& resource, const std::string& name);
std::vector<std::string> matchingResources(const std::string& group, const std::string& resource,
                                           const std::vector<std::string>& hard);

// Whether the quota's scopes and scopeSelector select `obj` (pods only; other kinds match when
// the quota has no scopes). Terminating, NotTerminating, BestEffort, NotBestEffort,
// PriorityClass.
bool matchesScopes(const json& quota, const std::string& resource, const json& obj);

// The pod evaluator's Constraints: a quota on cpu or memory requests/limits requires every
// container to state them. "" when satisfied, else upstream's text without the prefix
// ("must specify limits.cpu for: c; limits.memory for: c").
std::string podConstraints(const json& pod, const std::vector<std::string>& required);

// The quota check of one request against one quota's status: the new status.used when it fits,
// else the "exceeded quota: ..." text in `error`.
struct Charge {
  ResourceList used;  // status.used after the charge
  std::string error;  // non-empty when refused
};
Charge charge(const std::string& quota_name, const json& quota, const ResourceList& delta);
// The same with the quota's status.hard and status.used already parsed (parseList).
Charge charge(const std::string& quota_name, const ResourceList& hard, const ResourceList& used,
              const ResourceList& delta);

}  // namespace skiff::master::quota
