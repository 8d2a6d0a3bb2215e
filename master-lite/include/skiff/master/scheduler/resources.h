#pragma once

// Resource arithmetic the scheduler and controllers share: quantities in milli-units and a pod's
// effective requests as kube-scheduler computes them (sum of containers, max with each init
// container, plus overhead).

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace skiff::master {

using json = nlohmann::json;

// "500m" -> 500, "2" -> 2000, "2Gi" -> 2147483648000, "2G" -> 2000000000000, "1e3" -> 1000000.
// nullopt on malformed input.
// TODO(controllers): switch to skiff/common/quantity.h once the hostinfo branch lands in main.
std::optional<std::int64_t> parseQuantityMilli(const std::string& text);
// Quantity as JSON (string or number).
std::optional<std::int64_t> parseQuantityMilliJson(const json& value);

// resource name -> milli-units.
using ResourceList = std::map<std::string, std::int64_t>;

ResourceList parseResourceList(const json& list);

// The pod's requests: sum over containers (requests, defaulting to limits as the API server
// does), max with every init container, plus spec.overhead.
ResourceList podRequests(const json& pod);

// Requests with kube-scheduler's non-zero defaults for scoring (100m cpu, 200Mi memory) when a
// container sets none (pkg/scheduler/util/non_zero.go).
ResourceList podNonZeroRequests(const json& pod);

}  // namespace skiff::master
