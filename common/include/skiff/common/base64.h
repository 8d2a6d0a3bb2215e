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

// URL-safe base64 without padding (RFC 4648 §5, RFC 7515 "base64url"), as JSON Web Tokens and
// JWKs carry bytes.
std::string base64UrlEncode(std::string_view data);
// Strict: only the URL-safe alphabet, no padding, no whitespace; a length of 1 mod 4 is invalid.
Result<std::string> base64UrlDecode(std::string_view text);

}  // namespace skiff
