// The only TU (with kubelet_server.cc) that instantiates Boost.Beast: keeps compile time down.
// Exceptions from Asio/Beast are caught here and turned into Error values (STYLE.md §4).
#include <utility>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <array>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "skiff/agent/http_transport.h"

// GCC 12 pairs Asio's coroutine frame operator delete with the global operator new when it
// inlines a coroutine's destroy path and warns (GCC PR 109224); the frame is allocated and freed
// by awaitable_frame_base's own pair.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace skiff::agent {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

Result<ServerAddress> parseServerUrl(std::string_view url) {
  constexpr std::string_view kHttps = "https://";
  if (url.substr(0, kHttps.size()) != kHttps) {
    return Error(ErrorCode::Invalid,
                 "parse server url '" + std::string(url) + "': only https:// is supported");
  }
  std::string_view rest = url.substr(kHttps.size());
  if (auto slash = rest.find('/'); slash != std::string_view::npos) rest = rest.substr(0, slash);
  ServerAddress out;
  if (!rest.empty() && rest.front() == '[') {  // [v6]:port
    auto close = rest.find(']');
    if (close == std::string_view::npos) {
      return Error(ErrorCode::Invalid, "parse server url '" + std::string(url) + "': bad ipv6");
    }
    out.host = std::string(rest.substr(1, close - 1));
    rest = rest.substr(close + 1);
    if (!rest.empty() && rest.front() == ':') out.port = std::string(rest.substr(1));
  } else if (auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    out.host = std::string(rest.substr(0, colon));
    out.port = std::string(rest.substr(colon + 1));
  } else {
    out.host = std::string(rest);
  }
  if (out.host.empty() || out.port.empty() ||
      out.port.find_first_not_of("0123456789") != std::string::npos) {
    return Error(ErrorCode::Invalid, "parse server url '" + std::string(url) + "': bad host:port");
  }
  return out;
}

void CancelToken::cancel() {
  {
    std::lock_guard lk(mu_);
    if (cancelled_) return;
    cancelled_ = true;
    for (auto& [_, hook] : hooks_) hook();
    hooks_.clear();
  }
  cv_.notify_all();
}

bool CancelToken::cancelled() const {
  std::lock_guard lk(mu_);
  return cancelled_;
}

bool CancelToken::waitFor(std::chrono::milliseconds d) const {
  std::unique_lock lk(mu_);
  return cv_.wait_for(lk, d, [&] { return cancelled_; });
}

uint64_t CancelToken::addHook(std::function<void()> hook) {
  std::lock_guard lk(mu_);
  if (cancelled_) return 0;
  uint64_t id = ++next_id_;
  hooks_[id] = std::move(hook);
  return id;
}

void CancelToken::removeHook(uint64_t id) {
  std::lock_guard lk(mu_);
  hooks_.erase(id);
}

namespace {

std::string sslErrorText() {
  unsigned long e = ERR_get_error();
  if (e == 0) return "unknown openssl error";
  std::array<char, 256> buf{};
  ERR_error_string_n(e, buf.data(), buf.size());
  return buf.data();
}

class HttpsTransport final : public HttpTransport {
 public:
  HttpsTransport(ServerAddress server, std::string token)
      : server_(std::move(server)), token_(std::move(token)), ctx_(ssl::context::tls_client) {}

  Result<void> init(const TlsOptions& tls) {
    ctx_.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                     ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    boost::system::error_code ec;
    if (tls.insecure_skip_verify) {
      ctx_.set_verify_mode(ssl::verify_none);
    } else {
      ctx_.set_verify_mode(ssl::verify_peer);
      if (!tls.ca_pem.empty()) {
        ctx_.add_certificate_authority(asio::buffer(tls.ca_pem), ec);
        if (ec) return Error(ErrorCode::Invalid, "load ca certificate: " + ec.message());
      } else {
        ctx_.set_default_verify_paths(ec);
        if (ec) return Error(ErrorCode::Invalid, "load system trust store: " + ec.message());
      }
    }
    if (!tls.client_cert_pem.empty()) {
      ctx_.use_certificate_chain(asio::buffer(tls.client_cert_pem), ec);
      if (ec) return Error(ErrorCode::Invalid, "load client certificate: " + ec.message());
      ctx_.use_private_key(asio::buffer(tls.client_key_pem), ssl::context::pem, ec);
      if (ec) return Error(ErrorCode::Invalid, "load client key: " + ec.message());
    }
    verify_ = !tls.insecure_skip_verify;
    return ok();
  }

  Result<HttpResponse> send(const HttpRequest& req) override {
    CancelToken never;
    std::unique_ptr<Conn> conn = takeIdle();
    if (conn) {
      bool answered = false;
      auto r = drive(*conn, roundTrip(*conn, req, nullptr, answered), false, never, req);
      if (r) {
        giveBack(std::move(conn), r->keep_alive);
        return std::move(r->response);
      }
      // The server closed this idle connection (its idle timeout, a restart) before answering:
      // the request is sent again on a new connection, as Go's net/http transport does. Not
      // after a timeout: the server may be working on it, and a POST must not run twice.
      if (answered || !r.error().is(ErrorCode::Unavailable)) return std::move(r).error();
    }
    SKIFF_ASSIGN_OR_RETURN(conn, newConn());
    bool answered = false;
    SKIFF_ASSIGN_OR_RETURN(
        Exchange ex,
        drive(*conn, connectThenRoundTrip(*conn, req, nullptr, answered), false, never, req));
    giveBack(std::move(conn), ex.keep_alive);
    return std::move(ex.response);
  }

  Result<HttpResponse> stream(const HttpRequest& req,
                              const std::function<bool(std::string_view)>& on_data,
                              CancelToken& cancel) override {
    // Watches and log follows hold their connection for as long as they run: never pooled.
    SKIFF_ASSIGN_OR_RETURN(auto conn, newConn());
    bool answered = false;
    SKIFF_ASSIGN_OR_RETURN(
        Exchange ex,
        drive(*conn, connectThenRoundTrip(*conn, req, &on_data, answered), true, cancel, req));
    return std::move(ex.response);
  }

  std::string serverUrl() const override { return server_.url(); }

 private:
  using Stream = beast::ssl_stream<beast::tcp_stream>;
  using Clock = std::chrono::steady_clock;

  // Idle keep-alive connections kept for reuse, and for how long: a TLS handshake with a
  // client certificate costs both sides far more than the request it carries (the 100-pod
  // burst spent a fifth of the agent's and the master's CPU on handshakes).
  static constexpr std::size_t kMaxIdle = 8;
  static constexpr std::chrono::seconds kIdleFor{90};  // Go's http.Transport IdleConnTimeout

  // What an exchange produced, and whether its connection may carry another.
  struct Exchange {
    HttpResponse response;
    bool keep_alive = false;
  };

  // One connection with its own io_context: a request runs it on the calling thread.
  struct Conn {
    explicit Conn(ssl::context& ctx) : stream(ioc, ctx) {}
    asio::io_context ioc;
    Stream stream;
    beast::flat_buffer buf;
    Exchange result;
    Clock::time_point idle_since;
    bool connected = false;  // TCP and TLS are up: from here on the request may have left
  };

  Result<std::unique_ptr<Conn>> newConn() {
    auto conn = std::make_unique<Conn>(ctx_);
    if (!SSL_set_tlsext_host_name(conn->stream.native_handle(), server_.host.c_str())) {
      return Error(ErrorCode::Internal, "set tls sni: " + sslErrorText());
    }
    if (verify_) conn->stream.set_verify_callback(ssl::host_name_verification(server_.host));
    return conn;
  }

  std::unique_ptr<Conn> takeIdle() {
    std::lock_guard lk(pool_mu_);
    while (!idle_.empty()) {
      std::unique_ptr<Conn> c = std::move(idle_.back());
      idle_.pop_back();
      if (Clock::now() - c->idle_since < kIdleFor) return c;
    }
    return nullptr;
  }

  void giveBack(std::unique_ptr<Conn> conn, bool keep_alive) {
    if (!keep_alive) return;
    conn->idle_since = Clock::now();
    std::lock_guard lk(pool_mu_);
    if (idle_.size() < kMaxIdle) idle_.push_back(std::move(conn));
  }

  asio::awaitable<void> connectThenRoundTrip(Conn& conn, const HttpRequest& req,
                                             const std::function<bool(std::string_view)>* on_data,
                                             bool& answered) {
    auto& tcp_layer = beast::get_lowest_layer(conn.stream);
    tcp::resolver resolver(co_await asio::this_coro::executor);
    tcp_layer.expires_after(req.timeout);
    auto endpoints =
        co_await resolver.async_resolve(server_.host, server_.port, asio::use_awaitable);
    co_await tcp_layer.async_connect(endpoints, asio::use_awaitable);
    tcp_layer.expires_after(req.timeout);
    co_await conn.stream.async_handshake(ssl::stream_base::client, asio::use_awaitable);
    conn.connected = true;
    co_await roundTrip(conn, req, on_data, answered);
  }

  // Writes the request and reads the response on an open connection into conn.result.
  // `answered` turns true once a response header arrived.
  asio::awaitable<void> roundTrip(Conn& conn, const HttpRequest& req,
                                  const std::function<bool(std::string_view)>* on_data,
                                  bool& answered) {
    auto& stream = conn.stream;
    auto& tcp_layer = beast::get_lowest_layer(stream);
    Exchange& ex = conn.result;
    HttpResponse& out = ex.response;
    http::request<http::string_body> hreq;
    hreq.method_string(req.method);
    hreq.target(req.target);
    hreq.version(11);
    hreq.set(http::field::host, server_.host + ":" + server_.port);
    hreq.set(http::field::user_agent, "skiff-agent");
    hreq.set(http::field::accept, "application/json, */*");
    if (!token_.empty()) hreq.set(http::field::authorization, "Bearer " + token_);
    for (const auto& [k, v] : req.headers) hreq.set(k, v);
    if (!req.body.empty() || req.method == "POST" || req.method == "PUT" || req.method == "PATCH") {
      if (!req.content_type.empty()) hreq.set(http::field::content_type, req.content_type);
      hreq.body() = req.body;
      hreq.prepare_payload();
    }
    tcp_layer.expires_after(req.timeout);
    co_await http::async_write(stream, hreq, asio::use_awaitable);

    beast::flat_buffer& buf = conn.buf;
    http::response_parser<http::buffer_body> parser;
    // Not boost::none: Beast 1.74 compares the content length against the optional and treats
    // "no limit" as smaller than any length (basic_parser.ipp), failing every sized body.
    parser.body_limit(on_data != nullptr ? std::numeric_limits<std::uint64_t>::max()
                                         : std::uint64_t(64) << 20);
    tcp_layer.expires_after(req.timeout);
    co_await http::async_read_header(stream, buf, parser, asio::use_awaitable);
    answered = true;
    out.status = parser.get().result_int();
    out.content_type = std::string(parser.get()[http::field::content_type]);
    const bool deliver = on_data != nullptr && out.status >= 200 && out.status < 300;
    std::array<char, 16384> chunk{};
    while (!parser.is_done()) {
      parser.get().body().data = chunk.data();
      parser.get().body().size = chunk.size();
      tcp_layer.expires_after(req.timeout);
      boost::system::error_code ec;
      // read_some, not read: read() waits until the 16 KiB buffer is full, which would hold
      // back small watch events indefinitely.
      co_await http::async_read_some(stream, buf, parser,
                                     asio::redirect_error(asio::use_awaitable, ec));
      if (ec && ec != http::error::need_buffer) throw boost::system::system_error(ec);
      std::size_t n = chunk.size() - parser.get().body().size;
      if (n == 0) continue;
      if (deliver) {
        if (!(*on_data)(std::string_view(chunk.data(), n))) co_return;
      } else {
        out.body.append(chunk.data(), n);
        if (out.body.size() > (64u << 20)) {
          throw boost::system::system_error(make_error_code(http::error::body_limit));
        }
      }
    }
    ex.keep_alive = parser.keep_alive() && buf.size() == 0;
  }
  // Runs one exchange on the calling thread until it ends, fails, or `cancel` fires, and turns
  // Asio/Beast exceptions into Errors. `streaming`: a body cut off by the server still counts
  // as the end of a stream.
  Result<Exchange> drive(Conn& conn, asio::awaitable<void> work, bool streaming,
                         CancelToken& cancel, const HttpRequest& req) {
    conn.result = Exchange{};
    conn.ioc.restart();
    std::exception_ptr failure;
    asio::co_spawn(conn.ioc, std::move(work),
                   [&](std::exception_ptr e) { failure = std::move(e); });
    uint64_t hook = cancel.addHook([&] {
      asio::post(conn.ioc, [&] {
        boost::system::error_code ignored;
        beast::get_lowest_layer(conn.stream).socket().shutdown(tcp::socket::shutdown_both, ignored);
        beast::get_lowest_layer(conn.stream).close();
      });
    });
    if (cancel.cancelled()) {
      cancel.removeHook(hook);
      return Error(ErrorCode::Cancelled, req.method + " " + req.target + ": cancelled");
    }
    conn.ioc.run();
    cancel.removeHook(hook);
    const std::string what = req.method + " " + server_.url() + req.target;
    if (!failure) return std::move(conn.result);
    conn.result.keep_alive = false;
    if (cancel.cancelled()) return Error(ErrorCode::Cancelled, what + ": cancelled");
    try {
      std::rethrow_exception(failure);
    } catch (const boost::system::system_error& e) {
      if (!conn.connected) {  // resolve, connect or TLS handshake: nothing reached the server
        return Error(ErrorCode::Unavailable, ENOTCONN, what + ": connect: " + e.code().message());
      }
      if (e.code() == beast::error::timeout) return Error(ErrorCode::Timeout, what + ": timeout");
      if (e.code() == http::error::end_of_stream || e.code() == asio::error::eof ||
          e.code() == asio::ssl::error::stream_truncated) {
        if (conn.result.response.status != 0 && streaming) return std::move(conn.result);
      }
      return Error(ErrorCode::Unavailable, what + ": " + e.code().message());
    } catch (const std::exception& e) {
      return Error(ErrorCode::Internal, what + ": " + e.what());
    }
  }

  ServerAddress server_;
  std::string token_;
  ssl::context ctx_;
  bool verify_ = true;
  std::mutex pool_mu_;
  std::vector<std::unique_ptr<Conn>> idle_;
};

}  // namespace

Result<HttpTransportPtr> makeHttpsTransport(ServerAddress server, const TlsOptions& tls,
                                            std::string bearer_token) {
  auto t = std::make_shared<HttpsTransport>(std::move(server), std::move(bearer_token));
  SKIFF_TRY(t->init(tls));
  return HttpTransportPtr(std::move(t));
}

}  // namespace skiff::agent
