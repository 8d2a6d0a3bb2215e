#pragma once

// Table columns and rows of issue 20's kinds (tables_ext.cc); tables.cc and table_columns.cc
// ask here first. nullopt: not one of these kinds.

#include <optional>

#include <nlohmann/json.hpp>

#include "skiff/master/api/object_util.h"
#include "skiff/master/api/resources.h"

namespace skiff::master::api {

std::optional<nlohmann::json> extensionTableColumns(const ResourceInfo& r);
std::optional<nlohmann::json> extensionTableCells(const ResourceInfo& r, const nlohmann::json& obj,
                                                  Clock::time_point now);

}  // namespace skiff::master::api
