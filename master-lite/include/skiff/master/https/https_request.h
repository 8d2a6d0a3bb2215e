#pragma once

// skiff-master's one HTTPS client: one request with a hard deadline over the whole exchange
// (resolve, connect, TLS handshake, write, read), for the calls the master makes as a client —
// admission webhooks, aggregated APIs and their probes, the agents' /stats/summary, and the
// `skiff-master token` commands. A server that hangs costs at most the deadline. Blocking for the
// calling thread only (a private io_context); no lock is held.

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "skiff/common/result.h"

namespace skiff::master::https {

struct HttpsTarget {
  std::string connect_host;  // address or name to connect to
  std::string port;
  std::string server_name;      // the name the certificate must carry (SNI and verification)
  std::string ca_pem;           // empty: the system's trust roots
  bool insecure = false;        // no certificate verification (insecureSkipTLSVerify)
  std::string client_cert_pem;  // optional client certificate chain (PEM) ...
  std::string client_key_pem;   // ... and its private key
  std::vector<std::pair<std::string, std::string>> headers;  // extra request headers
};

struct HttpsReply {
  unsigned status = 0;
  std::string content_type;
  std::string body;
};

// True for an IPv4 or IPv6 address literal: a TLS client sends no SNI for one (RFC 6066) and
// the certificate must carry it as an IP SAN.
bool isIpLiteral(const std::string& host);

// Errors carry Go's net/http wording where there is one ("context deadline exceeded",
// "connect: connection refused", "tls: failed to verify certificate: ..."), without the
// `Post "<url>": ` prefix, which the caller adds. A CA or client certificate that does not load
// is ErrorCode::Invalid, before any connection.
Result<HttpsReply> httpsRequest(const HttpsTarget& t, const std::string& method,
                                const std::string& target, const std::string& body,
                                const std::string& content_type, std::chrono::milliseconds deadline,
                                std::size_t body_limit = 32u << 20);

}  // namespace skiff::master::https
