#pragma once

// fieldValidation=Strict|Warn: the fields of a request body its kind does not have, by the
// built-in kinds' generated OpenAPI definitions (skiff/master/openapi/openapi.h) or a custom
// kind's CRD schema. The fields are only reported: unknown fields are kept (DESIGN: unknown
// fields survive a round trip).

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "skiff/master/api/resources.h"

namespace skiff::master::api {

// Dotted paths of unknown fields ("spec.replica", "spec.template.spec.containers[0].imag").
std::vector<std::string> unknownFields(const ResourceInfo& r, const nlohmann::json& obj);

}  // namespace skiff::master::api
