#pragma once

// A small typed-by-path Kubernetes client on top of HttpTransport: JSON in and out, API Status
// bodies turned into Errors, the three patch flavours, and a streaming watch that splits the
// chunked body into one JSON event per line (reference/kube-api-surface.md §4).
//
// Thread-safe: every call is independent (the transport opens a connection per request).

#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "skiff/agent/http_transport.h"
#include "skiff/common/result.h"

namespace skiff::agent {

using nlohmann::json;

enum class PatchType { Merge, StrategicMerge, Json };

struct ListOptions {
  std::string label_selector;
  std::string field_selector;
  std::string resource_version;
  int timeout_seconds = 0;  // watch only; 0 = server default
  bool allow_bookmarks = false;
};

struct WatchEvent {
  std::string type;  // ADDED, MODIFIED, DELETED, BOOKMARK, ERROR
  json object;
};

// Builds API paths: apiPath("", "v1", "pods", "default", "web-0", "status")
// -> /api/v1/namespaces/default/pods/web-0/status; group "coordination.k8s.io" -> /apis/...
std::string apiPath(const std::string& group, const std::string& version,
                    const std::string& resource, const std::string& ns = "",
                    const std::string& name = "", const std::string& subresource = "");
std::string urlEscape(const std::string& s);

// Maps an HTTP status and its (Status-shaped, when it is one) body to an Error: the codes of
// common's errorCodeForHttpStatus (404 NotFound, 409 AlreadyExists|Conflict, 410 Gone, 422
// Invalid, 401/403, ...), with 429, 500, 502 and 503 Unavailable (to be retried).
Error statusError(int http_status, const std::string& body, const std::string& what);

class KubeClient {
 public:
  explicit KubeClient(HttpTransportPtr transport) : t_(std::move(transport)) {}

  Result<json> get(const std::string& path);
  Result<json> list(const std::string& path, const ListOptions& opts = {});
  Result<json> create(const std::string& path, const json& obj);
  Result<json> update(const std::string& path, const json& obj);
  Result<json> patch(const std::string& path, const json& patch, PatchType type);
  // DELETE with DeleteOptions; grace_seconds (0 = immediate) and a uid precondition so that a
  // recreated pod of the same name is never deleted by mistake. NotFound is an Error; callers
  // that treat it as done check is(NotFound).
  Result<json> remove(const std::string& path, std::optional<int64_t> grace_seconds = {},
                      const std::string& uid_precondition = "");

  // Streams a watch on `path` (a collection) until the server closes it, `on_event` returns
  // false, or `cancel` fires. An in-stream ERROR event is passed to on_event like the others.
  // Returns the HTTP-level outcome: ok when the stream ended normally, Gone for 410.
  Result<void> watch(const std::string& path, const ListOptions& opts,
                     const std::function<bool(const WatchEvent&)>& on_event, CancelToken& cancel);

  // Raw access for streams that are not JSON (pod logs) and for the join flow.
  HttpTransport& transport() { return *t_; }
  const HttpTransportPtr& transportPtr() const { return t_; }

 private:
  Result<json> call(const std::string& method, const std::string& path, const std::string& body,
                    const std::string& content_type);
  HttpTransportPtr t_;
};
using KubeClientPtr = std::shared_ptr<KubeClient>;

// Reflector: list, then watch from the list's resourceVersion; on a normal close re-watch from
// the last resourceVersion seen; on 410 Expired (HTTP or in-stream) relist. Failures back off
// 1 s doubling to 30 s. The handler sees `replace` with the full list after every (re)list —
// which is how deletions missed while disconnected are noticed — and `apply` per event.
class ReflectorHandler {
 public:
  virtual ~ReflectorHandler() = default;
  virtual void replace(const std::vector<json>& items) = 0;
  virtual void apply(const WatchEvent& event) = 0;
};

class Reflector {
 public:
  Reflector(KubeClientPtr client, std::string collection_path, ListOptions selectors,
            ReflectorHandler& handler, std::string name);
  // Blocks until `cancel` fires.
  void run(CancelToken& cancel);
  // True once the first list was delivered (readiness of the cache).
  bool synced() const { return synced_.load(); }

 private:
  Result<std::string> relist();
  KubeClientPtr client_;
  std::string path_;
  ListOptions selectors_;
  ReflectorHandler& handler_;
  std::string name_;
  std::atomic<bool> synced_{false};
};

}  // namespace skiff::agent
