#pragma once

// One HTTPS POST with a hard deadline over the whole exchange (connect, TLS handshake, write,
// read), as a webhook or aggregated API call needs: a server that hangs costs at most the
// deadline. Blocking for the calling thread only; no lock is held.

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "skiff/common/result.h"

namespace skiff::master::admission::webhook {

struct HttpsTarget {
  std::string connect_host;  // address or name to connect to
  std::string port;
  std::string server_name;  // the name the certificate must carry (SNI and verification)
  std::string ca_pem;       // empty: the system's trust roots
  bool insecure = false;    // no certificate verification (insecureSkipTLSVerify)
  std::vector<std::pair<std::string, std::string>> headers;  // extra request headers
};

struct HttpsReply {
  unsigned status = 0;
  std::string content_type;
  std::string body;
};

// Errors carry Go's net/http wording where there is one ("context deadline exceeded",
// "connect: connection refused", "tls: failed to verify certificate: ..."), without the
// `Post "<url>": ` prefix, which the caller adds.
Result<HttpsReply> httpsRequest(const HttpsTarget& t, const std::string& method,
                                const std::string& target, const std::string& body,
                                const std::string& content_type, std::chrono::milliseconds deadline,
                                std::size_t body_limit = 32u << 20);

}  // namespace skiff::master::admission::webhook
