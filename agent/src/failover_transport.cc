// makeFailoverTransport (http_transport.h): one transport over several API servers.

#include <atomic>
#include <cerrno>

#include "skiff/agent/http_transport.h"
#include "skiff/common/log.h"

namespace skiff::agent {
namespace {

class FailoverTransport final : public HttpTransport {
 public:
  explicit FailoverTransport(std::vector<HttpTransportPtr> servers)
      : servers_(std::move(servers)) {}

  Result<HttpResponse> send(const HttpRequest& req) override {
    return each(req, true, [&](HttpTransport& t) { return t.send(req); });
  }

  Result<HttpResponse> stream(const HttpRequest& req,
                              const std::function<bool(std::string_view)>& on_data,
                              CancelToken& cancel) override {
    // A stream that failed part way may have passed data on already: only one that never
    // connected moves on (the caller's watch loop resumes from what it saw).
    return each(req, false, [&](HttpTransport& t) { return t.stream(req, on_data, cancel); });
  }

  std::string serverUrl() const override { return servers_[current_.load()]->serverUrl(); }

 private:
  // Tries the current server, then the others in order, while the failure allows it.
  template <typename Call>
  Result<HttpResponse> each(const HttpRequest& req, bool whole, Call&& call) {
    std::size_t first = current_.load();
    Result<HttpResponse> r = Error(ErrorCode::Internal, "no API server");
    for (std::size_t i = 0; i < servers_.size(); ++i) {
      std::size_t at = (first + i) % servers_.size();
      r = call(*servers_[at]);
      if (r) {
        if (at != first && current_.exchange(at) != at) {
          auto lg = skiff::log::get("agent");
          SKIFF_LOG_INFO(lg, "Switched API server",
                         skiff::log::kv("server", servers_[at]->serverUrl()),
                         skiff::log::kv("from", servers_[first]->serverUrl()));
        }
        return r;
      }
      if (!movesOn(r.error(), req, whole)) return r;
    }
    return r;
  }

  static bool movesOn(const Error& e, const HttpRequest& req, bool whole) {
    if (e.is(ErrorCode::Unavailable) && e.sysErrno() == ENOTCONN) return true;
    return whole && req.method == "GET" &&
           (e.is(ErrorCode::Unavailable) || e.is(ErrorCode::Timeout));
  }

  std::vector<HttpTransportPtr> servers_;
  std::atomic<std::size_t> current_{0};
};

}  // namespace

HttpTransportPtr makeFailoverTransport(std::vector<HttpTransportPtr> servers) {
  if (servers.size() == 1) return std::move(servers.front());
  return std::make_shared<FailoverTransport>(std::move(servers));
}

}  // namespace skiff::agent
