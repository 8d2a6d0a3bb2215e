#pragma once

// The Node's name: --hostname-override or the hostname, trimmed and lowercased (kubelet's
// nodeutil.GetHostname), and valid as a DNS-1123 subdomain (what the API server requires of
// metadata.name for a Node).

#include <optional>
#include <string>
#include <string_view>

#include "skiff/common/result.h"

namespace skiff::hostinfo {

// Validates a DNS-1123 subdomain with apimachinery's message, e.g. "a lowercase RFC 1123
// subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and
// end with an alphanumeric character (e.g. 'example.com', regex used for validation is ...)".
Result<void> validateDns1123Subdomain(std::string_view name);

// Picks and validates the node name. Errors (ErrorCode::Invalid):
//   "empty hostname is invalid", "invalid node name 'bad_name!': a lowercase RFC 1123 ...".
Result<std::string> resolveNodeName(const std::optional<std::string>& hostname_override,
                                    std::string_view hostname);

}  // namespace skiff::hostinfo
