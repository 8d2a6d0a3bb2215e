#pragma once

// The three PATCH flavours of the Kubernetes API (reference/kube-api-surface.md §6).

#include <string>

#include <nlohmann/json.hpp>

#include "skiff/common/result.h"

namespace skiff::master::api {

// RFC 6902 (application/json-patch+json). A failing operation -> Invalid.
Result<nlohmann::json> applyJsonPatch(const nlohmann::json& doc, const nlohmann::json& patch);

// RFC 7386 (application/merge-patch+json): maps merge, null deletes, lists are replaced.
Result<nlohmann::json> applyMergePatch(const nlohmann::json& doc, const nlohmann::json& patch);

// Strategic merge patch (application/strategic-merge-patch+json) with the merge keys of the
// built-in types: lists of containers/env/volumes/... merge element by element on their key,
// `finalizers` merges as a set, other lists are replaced. Honours the directives `$patch`
// (replace/delete/merge), `$setElementOrder/<list>`, `$retainKeys` and
// `$deleteFromPrimitiveList/<list>` (apimachinery pkg/util/strategicpatch).
Result<nlohmann::json> applyStrategicMergePatch(const nlohmann::json& doc,
                                                const nlohmann::json& patch);

// The merge key of a list field at `path` (JSON pointer of the list's parent, e.g.
// "/spec/template/spec"), "" when the list is atomic. `first` is an element of the list, used
// to tell container ports from service ports.
std::string strategicMergeKey(const std::string& path, const std::string& field,
                              const nlohmann::json& first);

}  // namespace skiff::master::api
