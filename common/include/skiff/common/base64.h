#pragma once

// Standard base64 (RFC 4648 with padding), as Kubernetes carries bytes in JSON: Secret data,
// kubeconfig *-data fields, CSR requests and certificates.

#include <string>
#include <string_view>

#include "skiff/common/result.h"

namespace skiff {

std::string base64Encode(std::string_view data);
// Strict: whitespace (line breaks in PEM-ish data) is skipped; a bad length or any other
// character outside the alphabet is an Invalid error.
Result<std::string> base64Decode(std::string_view text);

}  // namespace skiff
