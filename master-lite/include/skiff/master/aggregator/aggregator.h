#pragma once

// APIService aggregation (apiregistration.k8s.io/v1): the ApiAggregator the handler consults
// (handler.h), with a background loop that probes every APIService's backend each
// `probe_every` and writes its Available condition. Stops (and joins) when destroyed.

#include <chrono>
#include <memory>

#include "skiff/master/api/handler.h"
#include "skiff/master/api/registry.h"

namespace skiff::master::aggregator {

std::shared_ptr<api::ApiAggregator> newApiAggregator(
    api::Registry& registry, std::chrono::seconds probe_every = std::chrono::seconds(10));

}  // namespace skiff::master::aggregator
