#pragma once

// One webhook call: where its clientConfig points (a URL, or a Service resolved to one of its
// endpoints through the store), the AdmissionReview v1 POST with the webhook's timeout, and
// the checks of the answer's envelope. Also used for APIService backends (resolveService).

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "skiff/master/api/registry.h"
#include "skiff/master/https/https_request.h"

namespace skiff::master::admission::webhook {

// A Service port -> an endpoint's address and port (the Endpoints object's subset whose port
// carries the Service port's name), verified as `<name>.<ns>.svc`. Errors as upstream's
// resolver: `service "x" not found`, `no endpoints available for service "x"`.
Result<https::HttpsTarget> resolveService(api::Registry& registry, const std::string& ns,
                                          const std::string& name, int port);

// POSTs `review` (JSON) to a webhook's clientConfig and returns the body of its 2xx answer.
// `timeout_s` bounds the call; `timeout_in_url` adds `?timeout=<n>s` as Go's REST client does
// for admission (not for conversion). Errors as Go's REST client words them: `Post "<url>":
// <cause>`, `an error on the server ("<body>") has prevented the request from succeeding`.
Result<std::string> postReview(api::Registry& registry, const nlohmann::json& client_config,
                               int timeout_s, bool timeout_in_url, const nlohmann::json& review);

// Posts `request` (an AdmissionReview request) to the webhook `spec` and returns its
// `response`. Errors are the text after `failed calling webhook "<name>": `.
Result<nlohmann::json> callWebhook(api::Registry& registry, const nlohmann::json& spec,
                                   const nlohmann::json& request);

}  // namespace skiff::master::admission::webhook
