#pragma once

// metadata.managedFields and server-side apply: which manager owns which fields (FieldsV1 sets,
// as sigs.k8s.io/structured-merge-diff writes them), conflict detection and pruning.
//
// Simplifications against upstream: a field set is keyed by the built-in merge keys
// (strategicMergeKey); atomic lists and scalars are leaves; ownership changes are computed from
// the leaves whose values differ.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "skiff/common/result.h"

namespace skiff::master::api {

using json = nlohmann::json;

// The FieldsV1 set of every field present in `obj` (apiVersion, kind, status and server-set
// metadata excluded unless `with_status`).
json fieldSetOf(const json& obj, bool with_status = false);
// The FieldsV1 set of the leaves whose values differ between old and new (added, changed or
// removed in new), restricted to what exists in new.
json changedFieldSet(const json& old_obj, const json& new_obj);
// Leaf paths of a field set, formatted as upstream prints them: ".spec.replicas",
// ".spec.template.spec.containers[name=\"c\"].image".
std::vector<std::string> fieldPaths(const json& set);

struct ManagedUpdate {
  std::string manager;
  std::string operation;    // "Apply" or "Update"
  std::string api_version;  // "apps/v1"
  std::string subresource;  // "" or "status"
  std::string time;         // RFC 3339
};

// Records an Update operation: the manager gains `fields`, every other manager loses them.
void recordUpdate(json& obj, const ManagedUpdate& u, const json& fields);

// Server-side apply of `applied` (the full intent of manager u.manager) onto `live` (empty for a
// create). Conflicts with other managers -> Conflict error ("Apply failed with N conflict...")
// unless `force`. Returns the merged object with managedFields updated; fields the manager
// applied before but no longer does, and that no one else owns, are removed.
Result<json> serverSideApply(const json& live, const json& applied, const ManagedUpdate& u,
                             bool force);

}  // namespace skiff::master::api
