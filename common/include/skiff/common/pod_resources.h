#pragma once

// A pod's resource arithmetic, computed once for every component: the scheduler's fit check and
// the agent's admission must agree on whether a pod fits, so both call these (one parser: the
// apimachinery-exact Quantity in quantity.h).
//
// Amounts are milli-units of the resource's base unit, as resource.Quantity.MilliValue() gives
// them: cpu "500m" -> 500, memory "1Ki" -> 1024000, pods "1" -> 1000.

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace skiff {

// Resource name -> milli-units.
using MilliResourceList = std::map<std::string, std::int64_t>;

// A quantity as JSON gives it: a string parsed as resource.ParseQuantity does, or a bare number
// (YAML `cpu: 2`). nullopt when malformed.
std::optional<std::int64_t> quantityMilli(const nlohmann::json& value);
// The same in whole units, rounded up as resource.Quantity.Value() does ("1.5k" -> 1500,
// "0.1" -> 1): bytes for memory and storage.
std::optional<std::int64_t> quantityValue(const nlohmann::json& value);

// A v1.ResourceList; malformed entries are left out.
MilliResourceList parseMilliResourceList(const nlohmann::json& list);

// A container's requests, each absent request defaulting to its limit as the API server's
// defaulting does (so static pods, which skip it, count the same).
MilliResourceList containerRequests(const nlohmann::json& container);
MilliResourceList containerLimits(const nlohmann::json& container);

// The pod's effective requests, as k8s.io/component-helpers/resource PodRequests (v1.32):
// the sum of the containers, with restartable init containers (sidecars, restartPolicy Always)
// added to it; each regular init container counts with the sidecars started before it, and the
// result is the maximum of that and the sum; then spec.overhead is added.
MilliResourceList podRequests(const nlohmann::json& pod);

// The same with kube-scheduler's non-zero defaults (100m cpu, 200Mi memory) for a container that
// requests neither (pkg/scheduler/util/non_zero.go); used only for scoring.
MilliResourceList podNonZeroRequests(const nlohmann::json& pod);

enum class QosClass : std::uint8_t { Guaranteed, Burstable, BestEffort };

// pkg/apis/core/v1/helper/qos GetPodQOS: BestEffort when no container requests or limits cpu or
// memory; Guaranteed when every container limits both and the summed requests equal the summed
// limits; Burstable otherwise. Zero quantities count as unset.
QosClass podQosClass(const nlohmann::json& pod);

// "Guaranteed" | "Burstable" | "BestEffort", as status.qosClass spells it.
const char* qosClassName(QosClass qos);

}  // namespace skiff
