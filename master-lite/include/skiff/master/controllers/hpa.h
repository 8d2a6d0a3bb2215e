#pragma once

// The horizontal pod autoscaler's arithmetic (pkg/controller/podautoscaler, Kubernetes 1.32):
// the replica count a resource metric asks for (replica_calculator.go) and the behaviour's
// stabilization windows and rate policies (horizontal.go). Pure; the controller is hpa.cc.

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "skiff/common/result.h"

namespace skiff::master::hpa {

constexpr double kTolerance = 0.1;

// One pod as the calculator sees it: its request and usage of the resource (milli-units),
// whether it is ready, and whether the metrics API had a sample for it.
struct PodSample {
  std::string name;
  std::int64_t request_milli = 0;
  std::int64_t usage_milli = 0;
  bool has_metrics = false;
  bool ready = true;
};

struct Recommendation {
  std::int32_t replicas = 0;
  std::int32_t utilization = 0;    // percent of request (Utilization targets)
  std::int64_t average_milli = 0;  // average usage per pod
};

// GetResourceReplicas: `target_utilization` percent of the request, or (when
// `target_average_milli` is set) an average value per pod. Pods without metrics count as 100 %
// of their request when scaling down and 0 when scaling up; unready pods as 0 when scaling up.
// Errors carry upstream's text ("missing request for cpu", "no metrics returned ...").
Result<Recommendation> replicasFor(std::int32_t current, const std::vector<PodSample>& pods,
                                   const std::string& resource,
                                   std::optional<std::int32_t> target_utilization,
                                   std::optional<std::int64_t> target_average_milli);

// spec.behavior with upstream's defaults filled in.
struct Policy {
  bool percent = false;  // Percent, else Pods
  std::int32_t value = 0;
  std::int32_t period_seconds = 0;
};
struct Rules {
  std::int32_t window_seconds = 0;
  std::string select = "Max";  // Max, Min, Disabled
  std::vector<Policy> policies;
};
struct Behavior {
  Rules up, down;
};
Behavior behaviorOf(const nlohmann::json& spec);

// A past decision (for stabilization windows and rate limits).
struct Sample {
  std::chrono::system_clock::time_point at;
  std::int32_t replicas = 0;
};

struct Decision {
  std::int32_t replicas = 0;
  std::string able_reason, able_message;        // AbleToScale (True)
  std::string limited_reason, limited_message;  // ScalingLimited
  bool limited = false;
};

// normalizeDesiredReplicasWithBehaviors: stabilizes `desired` over `recommendations` (which it
// appends to and prunes), limits the change by the policies against `scale_events`, and clamps
// to [min, max].
Decision normalize(std::int32_t current, std::int32_t desired, std::int32_t min, std::int32_t max,
                   const Behavior& b, std::deque<Sample>& recommendations,
                   const std::deque<Sample>& scale_up_events,
                   const std::deque<Sample>& scale_down_events,
                   std::chrono::system_clock::time_point now);

}  // namespace skiff::master::hpa
