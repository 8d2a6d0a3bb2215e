#pragma once

// The disruption controller's arithmetic (pkg/controller/disruption, Kubernetes 1.32): how many
// of a PodDisruptionBudget's pods must stay healthy and how many may be disrupted now.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "skiff/common/result.h"

namespace skiff::master::disruption {

struct Budget {
  std::int64_t expected_pods = 0;
  std::int64_t desired_healthy = 0;
  std::int64_t current_healthy = 0;
  std::int64_t disruptions_allowed = 0;
};

// `pods`: the budget's pods (selector matched). `controller_scale`: the sum of the scales of
// the pods' controllers, or nullopt when some pod has no scalable controller (needed for
// maxUnavailable and percentage minAvailable: upstream's "found to be unmanaged" error).
// `disrupted`: names of pods in status.disruptedPods (evicted, not yet gone): not healthy.
Result<Budget> compute(const nlohmann::json& pdb, const std::vector<nlohmann::json>& pods,
                       std::optional<std::int64_t> controller_scale,
                       const std::vector<std::string>& disrupted);

}  // namespace skiff::master::disruption
