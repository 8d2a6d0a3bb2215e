#pragma once

// The HTTPS transport of the API server: TLS (client certificates verified against the CA),
// HTTP/1.1 keep-alive, chunked streaming for watches, and the relay of pods/log|exec|attach|
// portforward to node agents. Everything Kubernetes-specific is in api::Handler.

#include <chrono>
#include <memory>
#include <string>

#include "skiff/common/result.h"
#include "skiff/master/api/handler.h"

namespace skiff::master {

struct ServerOptions {
  std::string bind_address = "0.0.0.0";
  int port = 6443;                                  // 0 = any free port
  std::string cert_file, key_file;                  // serving certificate
  std::string client_ca_file;                       // verifies client certificates
  std::string proxy_client_cert, proxy_client_key;  // presented to node agents
  int threads = 4;
  std::chrono::seconds idle_timeout{300};  // keep-alive connection without a request
  std::chrono::seconds write_timeout{60};  // a client that stops reading is cut off
  std::chrono::seconds handshake_timeout{10};
};

class HttpsServer {
 public:
  virtual ~HttpsServer() = default;
  // The port actually bound.
  virtual int port() const = 0;
  // Stops accepting, closes connections, joins the threads. Idempotent.
  virtual void stop() = 0;
};

// Binds, listens and starts serving on `options.threads` threads.
Result<std::unique_ptr<HttpsServer>> startHttpsServer(const ServerOptions& options,
                                                      api::Handler& handler);

}  // namespace skiff::master
