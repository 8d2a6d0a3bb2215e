#pragma once

// The HTTP(S) seam between the agent and the API server. Everything above it (KubeClient,
// Reflector, node and pod logic) talks to an HttpTransport, so unit tests swap in an in-memory
// API server (skiff/agent/testing/fake_api_server.h) and only this seam knows Boost.Beast.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "skiff/common/result.h"

namespace skiff::agent {

// https://HOST:PORT split for the resolver; the default port is 443 as in any https URL.
struct ServerAddress {
  std::string host;
  std::string port = "443";
  std::string url() const { return "https://" + host + ":" + port; }
};
// Parses "https://10.0.0.1:6443" (a trailing path or slash is ignored; "http://" is refused:
// the agent only speaks TLS to the API server).
Result<ServerAddress> parseServerUrl(std::string_view url);

struct TlsOptions {
  // PEM of the CA(s) that sign the server certificate; empty means the system trust store.
  std::string ca_pem;
  std::string client_cert_pem;
  std::string client_key_pem;
  // kubeconfig's insecure-skip-tls-verify; used by the join flow only until the CA is pinned.
  bool insecure_skip_verify = false;
};

struct HttpRequest {
  std::string method = "GET";
  std::string target;  // path + query, already escaped
  std::string body;
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;
  // Per I/O operation: connect, handshake, each read. For watches this is the idle timeout.
  std::chrono::milliseconds timeout{30000};
};

struct HttpResponse {
  int status = 0;
  std::string content_type;
  std::string body;
};

// Lets another thread stop a streaming request (watch, log follow) and lets loops sleep in a
// way that a stop interrupts. Thread-safe.
class CancelToken {
 public:
  void cancel();
  bool cancelled() const;
  // Waits up to `d`; returns true when cancelled (early or already).
  bool waitFor(std::chrono::milliseconds d) const;
  // Transports install hooks that abort the I/O in flight (several requests may share one
  // token); each runs at most once, under the token's lock, so a hook is never called after
  // removeHook() returned. addHook on a cancelled token runs nothing and returns 0.
  uint64_t addHook(std::function<void()> hook);
  void removeHook(uint64_t id);

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool cancelled_ = false;
  uint64_t next_id_ = 0;
  std::map<uint64_t, std::function<void()>> hooks_;
};

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // One request, whole body read. Transport failures (refused, TLS, timeout) are Errors with code
  // Unavailable/Timeout; any HTTP status is a value. A failure before the request could leave
  // (resolve, connect, TLS handshake) is Unavailable with errno ENOTCONN: the request may be sent
  // elsewhere without any risk of running twice.
  virtual Result<HttpResponse> send(const HttpRequest& req) = 0;
  // Streams a response body: for a 2xx status each piece of body is passed to `on_data` as it
  // arrives (chunk boundaries are not preserved); for any other status the body is collected into
  // the returned response instead. Returns when the body ends, on error, or when `cancel` fires
  // (then the Error has code Cancelled). `on_data` returning false ends the stream early.
  virtual Result<HttpResponse> stream(const HttpRequest& req,
                                      const std::function<bool(std::string_view)>& on_data,
                                      CancelToken& cancel) = 0;
  // Where requests go (for logs and for building URLs the pods see).
  virtual std::string serverUrl() const = 0;
};
using HttpTransportPtr = std::shared_ptr<HttpTransport>;

// The real transport: TLS 1.2+ with Boost.Beast and OpenSSL, server certificate verified against
// `tls.ca_pem` and the host name/IP, client certificate or `bearer_token` for authentication.
// Plain requests reuse keep-alive connections (a small idle pool, like client-go's transport);
// streams get a connection of their own. Thread-safe.
Result<HttpTransportPtr> makeHttpsTransport(ServerAddress server, const TlsOptions& tls,
                                            std::string bearer_token);

// Several API servers (HA masters) behind one transport, as client-go sees one URL behind a load
// balancer and k3s's agent keeps its list of servers. Requests go to the server that answered
// last; when it cannot be reached (ENOTCONN above: a killed master, a dead box) the same request
// goes to the next, so losing a master costs its clients one failed connect. A request that
// reached a server and then failed is sent again elsewhere only when it is a plain GET (a read is
// safe to repeat; a stream may have passed data on already); a write's outcome is unknown and its
// error is returned. `servers` must not be empty; one server is returned as it is. Thread-safe.
HttpTransportPtr makeFailoverTransport(std::vector<HttpTransportPtr> servers);

}  // namespace skiff::agent
