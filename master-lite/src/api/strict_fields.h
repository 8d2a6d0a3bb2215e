#pragma once

// fieldValidation=Strict|Warn: unknown fields in the places whose field lists are complete here
// (top level, metadata, Deployment/Service specs, pod specs and containers). Elsewhere unknown
// fields are kept (DESIGN: unknown fields survive a round trip).

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "skiff/master/api/resources.h"

namespace skiff::master::api {

// Dotted paths of unknown fields ("spec.replica", "spec.template.spec.containers[0].imag").
std::vector<std::string> unknownFields(const ResourceInfo& r, const nlohmann::json& obj);

}  // namespace skiff::master::api
