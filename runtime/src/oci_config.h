#pragma once

// Private: the OCI runtime-spec config.json for the runc backend, generated from the same
// LaunchSpec the native backend applies, so both backends run the same container.

#include <nlohmann/json.hpp>

#include "launch_spec.h"

namespace skiff::runtime {

// `cgroups_path` is runc's linux.cgroupsPath ("/<rel>", cgroupfs driver).
nlohmann::json ociConfig(const LaunchSpec& spec, const std::string& cgroups_path,
                         const Resources& res);

}  // namespace skiff::runtime
