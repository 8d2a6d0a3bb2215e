#pragma once

// httpGet lifecycle handlers (postStart, preStop) as kubelet's HandlerRunner runs them
// (pkg/kubelet/lifecycle/handlers.go): a plain HTTP GET from the node to httpGet.host, or else
// the pod's IP, on the container's (possibly named) port. Only a failed request fails the hook;
// any HTTP status counts as delivered, as upstream reads the body and ignores the code.

#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <string>

#include "skiff/common/result.h"

namespace skiff::agent {

struct HttpHookTarget {
  std::string host;
  int port = 0;
  std::string path;  // absolute, with the query: "/echo?msg=poststart"
  std::string url() const { return "http://" + host + ":" + std::to_string(port) + path; }
};

// Where the hook goes: host = httpGet.host or `pod_ip`; a named port is looked up in the
// container's ports, an empty one is 80. Fails when no host is known (the pod has no IP yet)
// or the port does not resolve.
Result<HttpHookTarget> httpHookTarget(const nlohmann::json& http_get,
                                      const nlohmann::json& container, const std::string& pod_ip);

// Sends the GET (with httpGet.httpHeaders) and returns the HTTP status code.
class HookHttpGetter {
 public:
  virtual ~HookHttpGetter() = default;
  virtual Result<int> get(const HttpHookTarget& target, const nlohmann::json& http_get,
                          std::chrono::seconds timeout) = 0;
};
using HookHttpGetterPtr = std::unique_ptr<HookHttpGetter>;

// The real one: one plain HTTP/1.1 request over TCP from the agent's network namespace.
HookHttpGetterPtr makeHookHttpGetter();

}  // namespace skiff::agent
