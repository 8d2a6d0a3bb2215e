#pragma once

// An in-memory API server behind the HttpTransport seam, for unit tests of everything above the
// transport. It models state (objects with uid/resourceVersion, a global revision, a watch event
// log) rather than recording calls: create/get/list/update/patch(merge)/delete and watch with
// fieldSelector metadata.name / spec.nodeName and labelSelector k=v. Subresources (status) are
// stored on the parent object. Thread-safe; watches block until events arrive or are cancelled.

#include <nlohmann/json.hpp>

#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "skiff/agent/http_transport.h"

namespace skiff::agent::testing {

class FakeApiServer final : public HttpTransport {
 public:
  // HttpTransport
  Result<HttpResponse> send(const HttpRequest& req) override;
  Result<HttpResponse> stream(const HttpRequest& req,
                              const std::function<bool(std::string_view)>& on_data,
                              CancelToken& cancel) override;
  std::string serverUrl() const override { return "https://fake:6443"; }

  // Test access: key is "<resource>/<namespace>/<name>" (namespace empty for cluster objects).
  std::optional<nlohmann::json> object(const std::string& resource, const std::string& ns,
                                       const std::string& name);
  // Creates or replaces an object as a controller would (bumps resourceVersion, emits events).
  nlohmann::json put(const std::string& resource, const std::string& ns, nlohmann::json obj);
  void erase(const std::string& resource, const std::string& ns, const std::string& name);
  // Drops the event log up to now, so watches from older versions get 410 Expired.
  void compact();
  // Every request seen, "METHOD target" (for interaction checks only).
  std::vector<std::string> requests();
  int64_t revision();

 private:
  struct Event {
    int64_t rv;
    std::string resource;
    std::string type;
    nlohmann::json object;
  };
  HttpResponse handle(const HttpRequest& req);
  void record(const std::string& resource, const std::string& type, const nlohmann::json& obj);
  std::string keyOf(const std::string& resource, const std::string& ns, const std::string& name);

  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, nlohmann::json> objects_;
  std::vector<Event> events_;
  int64_t rev_ = 100;
  int64_t compacted_ = 0;
  int64_t uid_seq_ = 0;
  std::vector<std::string> requests_;
};

}  // namespace skiff::agent::testing
