#pragma once

// Helpers the schema translation units share.

#include <string>

#include <nlohmann/json.hpp>

#include "skiff/master/api/validation.h"

namespace skiff::master::apiextensions {

// Whether `value` has the string format `format` (pkg/apiserver/validation/formats.go); formats
// upstream does not check are always true.
bool formatMatches(const std::string& format, const std::string& value);
// x-kubernetes-list-type set/map: duplicate items or keys (pkg/apiserver/schema/listtype).
void checkListType(const nlohmann::json& schema, const nlohmann::json& list,
                   const std::string& path, api::FieldErrors& errs);

}  // namespace skiff::master::apiextensions
