#pragma once

// What `skiff-master token ...` needs to talk to a running master: the admin kubeconfig (the one
// skiff-master writes with --kubeconfig-out, or any kubeconfig with a client certificate or a
// bearer token) and a small synchronous HTTPS client that verifies the server against the
// kubeconfig's CA. The commands are short-lived; one connection per request is fine.

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "skiff/common/kubeconfig.h"
#include "skiff/common/result.h"

namespace skiff::master::token {

// The admin kubeconfig as common/kubeconfig reads it; the token commands also require a CA (no
// credentials to an unverified server) and a client certificate+key or a token.
using AdminKubeconfig = skiff::Kubeconfig;

// Parses kubeconfig YAML (certificate-authority[-data], client-certificate[-data],
// client-key[-data], token); relative file paths are taken from `base_dir`.
Result<AdminKubeconfig> parseAdminKubeconfig(const std::string& yaml, const std::string& base_dir);
Result<AdminKubeconfig> loadAdminKubeconfig(const std::string& path);

// Sends one request; 2xx bodies are parsed as JSON. Other statuses come back as errors carrying
// the API's Status message (ErrorCode NotFound/AlreadyExists/Forbidden/... by status code).
Result<nlohmann::json> apiRequest(const AdminKubeconfig& kc, const std::string& method,
                                  const std::string& target, const nlohmann::json* body,
                                  std::chrono::seconds timeout = std::chrono::seconds(30));

}  // namespace skiff::master::token
