// The only TU (with kubelet_server.cc) that instantiates Boost.Beast: keeps compile time down.
// Exceptions from Asio/Beast are caught here and turned into Error values (STYLE.md §4).
#include <utility>

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
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <array>
#include <cstdint>
#include <limits>
#include <utility>

#include "skiff/agent/http_transport.h"


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
    return run(req, nullptr, never);
  }

  Result<HttpResponse> stream(const HttpRequest& req,
                              const std::function<bool(std::string_view)>& on_data,
                              CancelToken& cancel) override {
    return run(req, &on_data, cancel);
  }

  std::string serverUrl() const override { return server_.url(); }

 private:
  using Stream = beast::ssl_stream<beast::tcp_stream>;

  asio::awaitable<void> exchange(Stream& stream, const HttpRequest& req,
                                 const std::function<bool(std::string_view)>* on_data,
                                 HttpResponse& out) {
    auto& tcp_layer = beast::get_lowest_layer(stream);
    tcp::resolver resolver(co_await asio::this_coro::executor);
    tcp_layer.expires_after(req.timeout);
    auto endpoints = co_await resolver.async_resolve(server_.host, server_.port,
                                                     asio::use_awaitable);
    co_await tcp_layer.async_connect(endpoints, asio::use_awaitable);
    tcp_layer.expires_after(req.timeout);
    co_await stream.async_handshake(ssl::stream_base::client, asio::use_awaitable);

    http::request<http::string_body> hreq;
    hreq.method_string(req.method);
    hreq.target(req.target);
    hreq.version(11);
    hreq.set(http::field::host, server_.host + ":" + server_.port);
    hreq.set(http::field::user_agent, "skiff-agent");
    hreq.set(http::field::accept, "application/json, */*");
    if (!token_.empty()) hreq.set(http::field::authorization, "Bearer " + token_);
    for (const auto& [k, v] : req.headers) hreq.set(k, v);
    if (!req.body.empty() || req.method == "POST" || req.method == "PUT" ||
        req.method == "PATCH") {
      if (!req.content_type.empty()) hreq.set(http::field::content_type, req.content_type);
      hreq.body() = req.body;
      hreq.prepare_payload();
    }
    tcp_layer.expires_after(req.timeout);
    co_await http::async_write(stream, hreq, asio::use_awaitable);

    beast::flat_buffer buf;
    http::response_parser<http::buffer_body> parser;
    // Not boost::none: Beast 1.74 compares the content length against the optional and treats
    // "no limit" as smaller than any length (basic_parser.ipp), failing every sized body.
    parser.body_limit(on_data != nullptr ? std::numeric_limits<std::uint64_t>::max()
                                         : std::uint64_t(64) << 20);
    tcp_layer.expires_after(req.timeout);
    co_await http::async_read_header(stream, buf, parser, asio::use_awaitable);
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
  }

  Result<HttpResponse> run(const HttpRequest& req,
                           const std::function<bool(std::string_view)>* on_data,
                           CancelToken& cancel) {
    asio::io_context ioc;
    Stream stream(ioc, ctx_);
    if (!SSL_set_tlsext_host_name(stream.native_handle(), server_.host.c_str())) {
      return Error(ErrorCode::Internal, "set tls sni: " + sslErrorText());
    }
    if (verify_) stream.set_verify_callback(ssl::host_name_verification(server_.host));
    HttpResponse out;
    std::exception_ptr failure;
    asio::co_spawn(ioc, exchange(stream, req, on_data, out),
                   [&](std::exception_ptr e) { failure = e; });
    uint64_t hook = cancel.addHook([&] {
      asio::post(ioc, [&] {
        boost::system::error_code ignored;
        beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_both, ignored);
        beast::get_lowest_layer(stream).close();
      });
    });
    if (cancel.cancelled()) {
      cancel.removeHook(hook);
      return Error(ErrorCode::Cancelled, req.method + " " + req.target + ": cancelled");
    }
    ioc.run();
    cancel.removeHook(hook);
    const std::string what = req.method + " " + server_.url() + req.target;
    if (failure) {
      if (cancel.cancelled()) return Error(ErrorCode::Cancelled, what + ": cancelled");
      try {
        std::rethrow_exception(failure);
      } catch (const boost::system::system_error& e) {
        if (e.code() == beast::error::timeout) return Error(ErrorCode::Timeout, what + ": timeout");
        if (e.code() == http::error::end_of_stream || e.code() == asio::error::eof ||
            e.code() == asio::ssl::error::stream_truncated) {
          if (out.status != 0 && on_data != nullptr) return out;  // server closed a stream
        }
        return Error(ErrorCode::Unavailable, what + ": " + e.code().message());
      } catch (const std::exception& e) {
        return Error(ErrorCode::Internal, what + ": " + e.what());
      }
    }
    return out;
  }

  ServerAddress server_;
  std::string token_;
  ssl::context ctx_;
  bool verify_ = true;
};

}  // namespace

Result<HttpTransportPtr> makeHttpsTransport(ServerAddress server, TlsOptions tls,
                                            std::string bearer_token) {
  auto t = std::make_shared<HttpsTransport>(std::move(server), std::move(bearer_token));
  SKIFF_TRY(t->init(tls));
  return HttpTransportPtr(std::move(t));
}

}  // namespace skiff::agent
