#pragma once

// APIService aggregation (apiregistration.k8s.io/v1): the ApiAggregator the handler consults
// (handler.h), with a background loop that probes every APIService's backend each
// `probe_every` and writes its Available condition. Stops (and joins) when destroyed.

#include <chrono>
#include <memory>
#include <string>

#include "skiff/master/api/handler.h"
#include "skiff/master/api/registry.h"

namespace skiff::master::aggregator {

struct AggregatorOptions {
  std::chrono::seconds probe_every{10};
  // The front proxy's client certificate and key (PEM), presented to every APIService backend
  // with the caller's X-Remote-User/-Group; empty: none (the backend then cannot trust them).
  std::string proxy_client_cert_pem, proxy_client_key_pem;
};

std::shared_ptr<api::ApiAggregator> newApiAggregator(api::Registry& registry,
                                                     AggregatorOptions options = {});

}  // namespace skiff::master::aggregator
