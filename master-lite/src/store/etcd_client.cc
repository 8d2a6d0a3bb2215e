// etcd's JSON gateway over Boost.Beast (etcd_client.h). Each connection owns a private
// io_context; every step (connect, handshake, write, read) is an async operation bounded by
// beast::tcp_stream's expiry, run to completion on the calling thread.
#include "etcd_client.h"
#include "skiff/master/https/beast_names.h"
#include "skiff/master/https/https_request.h"

#include <openssl/ssl.h>
#include <utility>  // before Boost 1.74's asio headers, which use std::exchange

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <deque>
#include <mutex>
#include <optional>

namespace skiff::master::store {
namespace {

using namespace beast_names;
using json = nlohmann::json;
using boost::system::error_code;

// grpc-gateway error body: {"error": "...", "code": <grpc code>, "message": "..."}.
Error replyError(unsigned status, const std::string& body, const std::string& what) {
  auto j = json::parse(body, nullptr, false);
  std::string msg = body;
  int code = 0;
  if (j.is_object()) {
    if (j.contains("message") && j["message"].is_string()) msg = j["message"].get<std::string>();
    if (j.contains("code") && j["code"].is_number_integer()) code = j["code"].get<int>();
  }
  if (msg.find("required revision has been compacted") != std::string::npos)
    return Error(ErrorCode::Gone, what + ": " + msg);
  if (msg.find("request timed out") != std::string::npos)
    return Error(ErrorCode::Timeout, what + ": " + msg);
  // grpc Unavailable (14): no leader, not started, too many requests.
  if (code == 14 || status == 503) return Error(ErrorCode::Unavailable, what + ": " + msg);
  return Error(ErrorCode::Internal,
               what + ": etcd answered " + std::to_string(status) + ": " + msg.substr(0, 300));
}

class Conn {
 public:
  Conn(const EtcdEndpoint& ep, std::size_t index, ssl::context* ctx)
      : endpoint_(ep), index_(index), ctx_(ctx) {}

  std::size_t index() const { return index_; }

  // Connects (and handshakes); Unavailable on failure.
  Result<void> open(std::chrono::milliseconds timeout) {
    if (ctx_) {
      tls_.emplace(io_, *ctx_);
      tls_->set_verify_callback(ssl::host_name_verification(endpoint_.host));
      if (!https::isIpLiteral(endpoint_.host))
        SSL_set_tlsext_host_name(tls_->native_handle(), endpoint_.host.c_str());
    } else {
      tcp_.emplace(io_);
    }
    tcp::resolver resolver(io_);
    error_code ec;
    auto eps = resolver.resolve(endpoint_.host, endpoint_.port, ec);
    if (ec) return unavailable("resolve", ec);
    lowest().expires_after(timeout);
    run([&](auto done) { lowest().async_connect(eps, [done](error_code e, auto) { done(e); }); },
        ec);
    if (ec == net::error::connection_refused) {
      // etcd's own clients (Go) say it this way.
      return Error(ErrorCode::Unavailable, "dial tcp " + endpoint_.host + ":" + endpoint_.port +
                                               ": connect: connection refused");
    }
    if (ec) return unavailable("dial", ec);
    if (tls_) {
      lowest().expires_after(timeout);
      run([&](auto done) { tls_->async_handshake(ssl::stream_base::client, done); }, ec);
      if (ec) return unavailable("tls handshake", ec);
    }
    return ok();
  }

  // Sends one request; `sent` tells whether any byte may have reached the server.
  Result<void> send(const std::string& target, const std::string& body,
                    std::chrono::milliseconds timeout, bool& sent) {
    http::request<http::string_body> req{http::verb::post, target, 11};
    req.set(http::field::host, endpoint_.host + ":" + endpoint_.port);
    req.set(http::field::content_type, "application/json");
    req.set(http::field::user_agent, "skiff-master");
    req.body() = body;
    req.prepare_payload();
    error_code ec;
    lowest().expires_after(timeout);
    sent = true;
    runOnStream([&](auto& s, auto handler) { http::async_write(s, req, handler); }, ec);
    if (ec)
      return Error(ErrorCode::Timeout, "send to etcd " + endpoint_.url() + ": " + ec.message());
    return ok();
  }

  Result<std::string> readReply(std::chrono::milliseconds timeout, bool& keep_alive) {
    http::response_parser<http::string_body> parser;
    parser.body_limit(512u << 20);
    error_code ec;
    lowest().expires_after(timeout);
    runOnStream([&](auto& s, auto handler) { http::async_read(s, buf_, parser, handler); }, ec);
    if (ec) {
      return Error(ErrorCode::Timeout,
                   "read reply from etcd " + endpoint_.url() + ": " + ec.message());
    }
    auto res = parser.release();
    keep_alive = res.keep_alive();
    if (res.result_int() != 200)
      return replyError(res.result_int(), res.body(), "etcd " + endpoint_.url());
    return std::move(res.body());
  }

  // Streaming: the header, then newline-delimited JSON messages in chunks.
  Result<void> readStreamHeader() {
    stream_parser_.emplace();
    stream_parser_->body_limit(boost::none);
    stream_parser_->on_chunk_body(chunk_cb_);
    error_code ec;
    lowest().expires_never();
    runOnStream(
        [&](auto& s, auto handler) { http::async_read_header(s, buf_, *stream_parser_, handler); },
        ec);
    if (ec) return unavailable("watch", ec);
    if (stream_parser_->get().result_int() != 200) {
      return Error(ErrorCode::Unavailable, "watch on etcd " + endpoint_.url() + ": status " +
                                               std::to_string(stream_parser_->get().result_int()));
    }
    return ok();
  }

  Result<std::string> nextLine() {
    while (true) {
      auto nl = pending_.find('\n');
      if (nl != std::string::npos) {
        std::string line = pending_.substr(0, nl);
        pending_.erase(0, nl + 1);
        if (line.find_first_not_of(" \r\t") == std::string::npos) continue;
        return line;
      }
      if (closed_) return Error(ErrorCode::Cancelled, "watch closed");
      error_code ec;
      runOnStream(
          [&](auto& s, auto handler) { http::async_read_some(s, buf_, *stream_parser_, handler); },
          ec);
      if (closed_) return Error(ErrorCode::Cancelled, "watch closed");
      if (ec) return unavailable("watch stream", ec);
      if (stream_parser_->is_done())
        return Error(ErrorCode::Unavailable,
                     "watch stream from etcd " + endpoint_.url() + " ended");
    }
  }

  // Thread-safe: makes a blocked nextLine() return.
  void closeFromOtherThread() {
    closed_ = true;
    net::post(io_, [this] {
      error_code ec;
      lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
      lowest().cancel();
    });
  }

 private:
  beast::tcp_stream& lowest() { return tls_ ? beast::get_lowest_layer(*tls_) : *tcp_; }

  template <typename F>
  void withStream(F&& f) {
    if (tls_)
      f(*tls_);
    else
      f(*tcp_);
  }

  // One beast operation on the connection's stream (TLS or not), run to completion: `op(stream,
  // handler)` starts it, and its error lands in `ec`.
  template <typename Op>
  void runOnStream(Op&& op, error_code& ec) {
    withStream([&](auto& s) {
      run([&](auto done) { op(s, [done](error_code e, auto) { done(e); }); }, ec);
    });
  }

  template <typename Start>
  void run(Start&& start, error_code& ec) {
    bool finished = false;
    start([&](error_code e) {
      ec = e;
      finished = true;
    });
    io_.restart();
    while (!finished && io_.run_one() > 0) {
    }
    if (!finished) ec = net::error::operation_aborted;
  }

  Error unavailable(const char* what, const error_code& ec) {
    return Error(ErrorCode::Unavailable,
                 std::string(what) + " etcd " + endpoint_.url() + ": " + ec.message());
  }

  EtcdEndpoint endpoint_;
  std::size_t index_;
  ssl::context* ctx_;
  net::io_context io_;
  std::optional<beast::tcp_stream> tcp_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_;
  beast::flat_buffer buf_;
  std::optional<http::response_parser<http::empty_body>> stream_parser_;
  std::string pending_;
  std::atomic<bool> closed_{false};
  std::function<std::size_t(std::uint64_t, boost::string_view, error_code&)> chunk_cb_ =
      [this](std::uint64_t, boost::string_view body, error_code&) {
        pending_.append(body.data(), body.size());
        return body.size();
      };
};

class WatchStreamImpl : public EtcdWatchStream {
 public:
  explicit WatchStreamImpl(std::unique_ptr<Conn> conn) : conn_(std::move(conn)) {}
  Result<json> next() override {
    SKIFF_ASSIGN_OR_RETURN(std::string line, conn_->nextLine());
    auto j = json::parse(line, nullptr, false);
    if (!j.is_object()) return Error(ErrorCode::Internal, "watch: malformed message from etcd");
    if (j.contains("error")) {
      const json& e = j["error"];
      std::string m = e.is_object() && e.contains("message") && e["message"].is_string()
                          ? e["message"].get<std::string>()
                          : e.dump();
      return Error(ErrorCode::Unavailable, "watch: etcd error: " + m);
    }
    if (!j.contains("result") || !j["result"].is_object())
      return Error(ErrorCode::Internal, "watch: message from etcd without a result");
    return std::move(j["result"]);
  }
  void close() override { conn_->closeFromOtherThread(); }

 private:
  std::unique_ptr<Conn> conn_;
};

class EtcdClientImpl : public EtcdClient {
 public:
  EtcdClientImpl(std::vector<EtcdEndpoint> eps, EtcdClientOptions o)
      : endpoints_(std::move(eps)), options_(std::move(o)) {}

  Result<void> initTls() {
    bool any_tls = false;
    for (const auto& e : endpoints_) any_tls = any_tls || e.tls;
    if (!any_tls) return ok();
    ctx_.emplace(ssl::context::tls_client);
    try {
      ctx_->set_options(ssl::context::no_sslv2 | ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                        ssl::context::no_tlsv1_1);
      if (options_.ca_file.empty())
        ctx_->set_default_verify_paths();
      else
        ctx_->load_verify_file(options_.ca_file);
      ctx_->set_verify_mode(ssl::verify_peer);
      if (!options_.cert_file.empty()) {
        ctx_->use_certificate_chain_file(options_.cert_file);
        ctx_->use_private_key_file(options_.key_file, ssl::context::pem);
      }
    } catch (const boost::system::system_error& e) {
      return Error(ErrorCode::Invalid, "load etcd client TLS files: " + e.code().message());
    }
    return ok();
  }

  Result<json> call(const std::string& path, const json& body, bool idempotent) override {
    std::string text = body.dump();
    std::optional<Error> last;
    for (std::size_t attempt = 0; attempt < endpoints_.size() + 1; ++attempt) {
      auto conn = acquire(attempt > 0);
      if (!conn) {
        last = std::move(conn).error();
        continue;
      }
      bool sent = false, keep = true;
      auto reply = exchange(**conn, path, text, sent, keep);
      if (reply) {
        if (keep) release(std::move(*conn));
        auto j = json::parse(*reply, nullptr, false);
        if (!j.is_object()) return Error(ErrorCode::Internal, path + ": malformed reply from etcd");
        return j;
      }
      Error e = std::move(reply).error();
      // A reply that says "no leader" or "compacted" is definite; a transport failure after
      // sending is ambiguous and only reads may go round again.
      bool transport = !sent || e.is(ErrorCode::Timeout);
      if (e.is(ErrorCode::Gone) || e.is(ErrorCode::Internal)) return e;
      if (!idempotent && sent && !e.is(ErrorCode::Unavailable)) return e;
      if (transport || e.is(ErrorCode::Unavailable)) rotate((*conn)->index());
      last = std::move(e);
    }
    // What the API answers with 503/504 when the cluster has lost its quorum or every member.
    return std::move(*last).wrap("etcd: no member could serve the request (" +
                                 std::to_string(endpoints_.size()) + " tried)");
  }

  Result<std::unique_ptr<EtcdWatchStream>> watch(const json& create_request) override {
    std::string body = json{{"create_request", create_request}}.dump();
    std::optional<Error> last;
    for (std::size_t i = 0; i < endpoints_.size(); ++i) {
      std::size_t idx = (current_.load() + i) % endpoints_.size();
      auto conn = std::make_unique<Conn>(endpoints_[idx], idx, ctx_ ? &*ctx_ : nullptr);
      bool sent = false;
      auto r = conn->open(options_.request_timeout);
      if (r) r = conn->send("/v3/watch", body, options_.request_timeout, sent);
      if (r) r = conn->readStreamHeader();
      if (r) {
        current_ = idx;
        return std::unique_ptr<EtcdWatchStream>(std::make_unique<WatchStreamImpl>(std::move(conn)));
      }
      last = std::move(r).error();
    }
    return *last;
  }

  const std::vector<EtcdEndpoint>& endpoints() const override { return endpoints_; }

 private:
  Result<std::string> exchange(Conn& c, const std::string& path, const std::string& body,
                               bool& sent, bool& keep) {
    SKIFF_TRY(c.send(path, body, options_.request_timeout, sent));
    return c.readReply(options_.request_timeout, keep);
  }

  // A pooled connection to the current member, or a new one; `fresh` skips the pool (after a
  // failure a pooled connection may be the stale one).
  Result<std::unique_ptr<Conn>> acquire(bool fresh) {
    std::size_t idx = current_.load();
    if (!fresh) {
      std::lock_guard l(mu_);
      for (auto it = idle_.begin(); it != idle_.end(); ++it) {
        if ((*it)->index() == idx) {
          auto c = std::move(*it);
          idle_.erase(it);
          return c;
        }
      }
    }
    auto c = std::make_unique<Conn>(endpoints_[idx], idx, ctx_ ? &*ctx_ : nullptr);
    if (auto r = c->open(options_.request_timeout); !r) {
      rotate(idx);
      return std::move(r).error();
    }
    return c;
  }

  void release(std::unique_ptr<Conn> c) {
    std::lock_guard l(mu_);
    if (idle_.size() < 16) idle_.push_back(std::move(c));
  }

  void rotate(std::size_t failed) {
    std::size_t next = (failed + 1) % endpoints_.size();
    current_.compare_exchange_strong(failed, next);
    std::lock_guard l(mu_);
    std::erase_if(idle_, [&](const auto& c) { return c->index() == failed; });
  }

  std::vector<EtcdEndpoint> endpoints_;
  EtcdClientOptions options_;
  std::optional<ssl::context> ctx_;
  std::atomic<std::size_t> current_{0};
  std::mutex mu_;
  std::deque<std::unique_ptr<Conn>> idle_;
};

}  // namespace

Result<EtcdEndpoint> parseEtcdEndpoint(const std::string& url) {
  EtcdEndpoint ep;
  std::string rest;
  if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else if (url.rfind("https://", 0) == 0) {
    ep.tls = true;
    rest = url.substr(8);
  } else {
    return Error(ErrorCode::Invalid,
                 "etcd server '" + url + "': want http://host:port or https://host:port");
  }
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  auto colon = rest.rfind(':');
  if (rest.empty() || rest.find('/') != std::string::npos) {
    return Error(ErrorCode::Invalid,
                 "etcd server '" + url + "': want http://host:port or https://host:port");
  }
  if (colon == std::string::npos || (rest.front() == '[' && rest.back() == ']')) {
    ep.host = rest;
    ep.port = "2379";
  } else {
    ep.host = rest.substr(0, colon);
    ep.port = rest.substr(colon + 1);
  }
  if (ep.host.size() > 2 && ep.host.front() == '[') ep.host = ep.host.substr(1, ep.host.size() - 2);
  if (ep.host.empty() || ep.port.empty() ||
      ep.port.find_first_not_of("0123456789") != std::string::npos) {
    return Error(ErrorCode::Invalid, "etcd server '" + url + "': invalid host or port");
  }
  return ep;
}

Result<std::unique_ptr<EtcdClient>> newEtcdClient(const EtcdClientOptions& options) {
  if (options.servers.empty()) return Error(ErrorCode::Invalid, "no etcd servers given");
  std::vector<EtcdEndpoint> eps;
  for (const auto& s : options.servers) {
    SKIFF_ASSIGN_OR_RETURN(EtcdEndpoint ep, parseEtcdEndpoint(s));
    eps.push_back(std::move(ep));
  }
  if ((!options.cert_file.empty()) != (!options.key_file.empty()))
    return Error(ErrorCode::Invalid, "--etcd-certfile and --etcd-keyfile must be given together");
  if (options.transport == EtcdTransport::Grpc) return newGrpcEtcdClient(std::move(eps), options);
  return newGatewayEtcdClient(std::move(eps), options);
}

Result<std::unique_ptr<EtcdClient>> newGatewayEtcdClient(std::vector<EtcdEndpoint> endpoints,
                                                         const EtcdClientOptions& options) {
  auto c = std::make_unique<EtcdClientImpl>(std::move(endpoints), options);
  SKIFF_TRY(c->initTls());
  return std::unique_ptr<EtcdClient>(std::move(c));
}

Result<EtcdTransport> parseEtcdTransport(const std::string& name) {
  if (name == "grpc") return EtcdTransport::Grpc;
  if (name == "gateway") return EtcdTransport::Gateway;
  return Error(ErrorCode::Invalid, "etcd transport '" + name + "': want grpc or gateway");
}

const char* etcdTransportName(EtcdTransport t) {
  return t == EtcdTransport::Grpc ? "grpc" : "gateway";
}

std::int64_t etcdInt(const json& obj, const char* field) {
  if (!obj.is_object()) return 0;
  auto it = obj.find(field);
  if (it == obj.end()) return 0;
  if (it->is_number_integer()) return it->get<std::int64_t>();
  if (it->is_string()) {
    try {
      return std::stoll(it->get<std::string>());
    } catch (...) {
      return 0;
    }
  }
  return 0;
}

std::int64_t etcdHeaderRevision(const json& reply) {
  auto it = reply.find("header");
  return it == reply.end() ? 0 : etcdInt(*it, "revision");
}

}  // namespace skiff::master::store
