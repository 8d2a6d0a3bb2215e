#pragma once

// Server-side Table rendering for `kubectl get` (reference/kube-api-surface.md §3): the same
// columns a Kubernetes 1.32 API server prints for each kind (kubernetes
// pkg/printers/internalversion/printers.go), wide columns with priority 1.

#include <vector>

#include <nlohmann/json.hpp>

#include "skiff/master/api/object_util.h"
#include "skiff/master/api/resources.h"

namespace skiff::master::api {

enum class TableObject { None, Metadata, Object };  // includeObject=None|Metadata|Object

nlohmann::json tableColumns(const ResourceInfo& r);
nlohmann::json tableRow(const ResourceInfo& r, const nlohmann::json& obj, Clock::time_point now,
                        TableObject include);
// A full Table; `with_columns` false omits columnDefinitions (watch events after the first).
nlohmann::json renderTable(const ResourceInfo& r, const std::vector<nlohmann::json>& objs,
                           const std::string& resource_version, const std::string& cont,
                           Clock::time_point now, TableObject include, bool with_columns = true);

// The Pod STATUS column as kubectl shows it ("Running", "ContainerCreating", "Init:0/1",
// "CrashLoopBackOff", "Completed", "Terminating").
std::string podStatusReason(const nlohmann::json& pod);

}  // namespace skiff::master::api
