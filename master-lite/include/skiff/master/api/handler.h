#pragma once

// The HTTP-agnostic Kubernetes REST handler: a parsed request in, a response (complete body,
// a stream, or a proxy target) out. The HTTPS server (server.cc) does transport only, so this is
// unit-testable without sockets.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "skiff/master/api/authenticator.h"
#include "skiff/master/api/authorizer.h"
#include "skiff/master/api/registry.h"

namespace skiff::master::api {

struct HttpRequest {
  std::string method;                          // GET POST PUT PATCH DELETE
  std::string target;                          // path?query, as received
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  // Set by the TLS layer from a verified client certificate; empty when none.
  std::optional<UserInfo> cert_user;
  // The peer's IP address ("" when unknown), for the audit log's sourceIPs.
  std::string remote_addr;

  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
};

// A streamed response body (watch). Thread-safe.
class ResponseStream {
 public:
  virtual ~ResponseStream() = default;
  // Appends what is available to `out`; false when the stream has ended (after appending any
  // final data).
  virtual bool read(std::string& out) = 0;
  // Called (from any thread) when read() may have new data.
  virtual void setNotify(std::function<void()> fn) = 0;
  // The stream ends at this time (timeoutSeconds); max() = never.
  virtual std::chrono::steady_clock::time_point deadline() const = 0;
  // Called when the stream was idle for a while: data to send (a BOOKMARK) or "".
  virtual std::string idle() = 0;
};

// Where a proxied request goes: pods/log|exec|attach|portforward go to the node agent's API;
// the proxy subresources (pods|services|nodes/<id>/proxy/...) are relayed as they are, over
// HTTP or HTTPS, to a pod, an endpoint of a Service or a node.
struct ProxyTarget {
  std::string host;
  int port = 10250;
  std::string port_name;  // a port given by name ("http"): resolved as a service name instead
  std::string path;       // path?query on the backend
  bool upgrade = false;   // websocket (exec/attach/portforward)
  // pods/log asked for over a websocket: the agent's plain stream is framed by the API server
  // (as kube-apiserver's wsstream), the protocol chosen from the client's offer.
  bool websocket_log = false;
  std::string method = "GET";
  // A proxy subresource: every method, the client's headers (less its credentials) pass through,
  // redirects and HTML links are rewritten under `path_prepend` (the API path up to .../proxy).
  bool relay = false;
  bool tls = true;  // https (the agent's API, or an https: proxy name); else plain http
  // Presents the API server's kubelet client certificate (the agent's own port); pods and
  // other ports get none.
  bool kubelet_client = true;
  std::string path_prepend;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::unique_ptr<ResponseStream> stream;
  std::optional<ProxyTarget> proxy;
};

// APIService aggregation (apiregistration.k8s.io/v1, src/aggregator/): the group-versions
// other servers serve, their discovery, and the proxy to them. Thread-safe.
class ApiAggregator {
 public:
  virtual ~ApiAggregator() = default;
  // Whether group/version is served by an APIService with a service reference (and not by
  // this server).
  virtual bool serves(const std::string& group, const std::string& version) = 0;
  // The aggregated groups, preferred version first: what /apis adds.
  virtual std::vector<GroupInfo> groups() = 0;
  // The backend's APIResourceList of group/version, as last fetched; null when unknown.
  virtual nlohmann::json resourceList(const std::string& group, const std::string& version) = 0;
  // The request forwarded to the backend of group/version, its answer relayed. `user` is sent
  // as X-Remote-User/X-Remote-Group, as kube-aggregator does.
  virtual HttpResponse proxy(const HttpRequest& req, const std::string& group,
                             const std::string& version, const UserInfo& user) = 0;
};

struct HandlerOptions {
  std::string server_address = "127.0.0.1:6443";  // for /api serverAddressByClientCIDRs
  std::size_t max_body_bytes = 3u << 20;
  std::chrono::seconds default_watch_timeout{1800};
  std::chrono::seconds bookmark_interval{60};
  std::function<bool()> ready;  // /readyz
  // /.well-known/openid-configuration and /openid/v1/jwks (ServiceAccount issuer discovery);
  // 404 when unset. `jwks_uri` is the JWKS address the configuration document names.
  std::shared_ptr<const serviceaccount::TokenIssuer> service_account_tokens;
  std::string jwks_uri;
  bool anonymous_auth = true;  // see ApiServerOptions::anonymous_auth
  // APIService aggregation; null = none.
  std::shared_ptr<ApiAggregator> aggregator;
};

// What the audit log records about one request; the handler fills it in as it serves it
// (audit/auditor.h turns it into audit.k8s.io/v1 Events).
struct RequestAuditInfo {
  std::string audit_id;  // the client's Audit-ID header, else a new UUID; sent back as Audit-Id
  UserInfo user;         // empty name when authentication failed
  std::optional<UserInfo> impersonated_user;
  std::string verb;  // Kubernetes verb, or the lower-case method for a non-resource path
  bool resource_request = false;
  std::string api_group, api_version, resource, subresource, ns, name;
  std::string path;                          // without the query
  std::string authz_decision, authz_reason;  // "allow"/"forbid" and the authorizer's reason
  AdmissionNotes notes;                      // admission warnings and audit annotations
};

// One request being audited.
class AuditRecord {
 public:
  virtual ~AuditRecord() = default;
  // Called with the response before it is sent (ResponseComplete, or ResponseStarted for a
  // stream, whose end is recorded when the stream is destroyed).
  virtual void finish(const RequestAuditInfo& info, HttpResponse& resp) = 0;
};

class RequestAuditor {
 public:
  virtual ~RequestAuditor() = default;
  // Called once the request is authenticated and routed, before authorization (records
  // RequestReceived). Null when the audit policy says None for it. Thread-safe.
  virtual std::unique_ptr<AuditRecord> begin(const HttpRequest& req,
                                             const RequestAuditInfo& info) = 0;
};

class Handler {
 public:
  Handler(Registry& registry, Authenticator& authn, HandlerOptions options)
      : registry_(registry), authn_(authn), options_(std::move(options)) {}
  HttpResponse handle(const HttpRequest& req);
  const HandlerOptions& options() const { return options_; }
  // Audits every request through `auditor` (not owned; null = no audit log). Set before serving.
  void setAuditor(RequestAuditor* auditor) { auditor_ = auditor; }

 private:
  Registry& registry_;
  Authenticator& authn_;
  HandlerOptions options_;
  RequestAuditor* auditor_ = nullptr;
};

// A Status response for an error (reason, code, details with causes for Invalid).
HttpResponse errorResponse(const Error& e, const ResourceInfo* r = nullptr,
                           const std::string& name = "");

// Percent-decoding of a URL component ("+" is a space in queries).
std::string urlDecode(const std::string& s, bool plus_is_space);

}  // namespace skiff::master::api
