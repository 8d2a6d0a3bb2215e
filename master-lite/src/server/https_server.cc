// Boost.Beast + OpenSSL transport (the one TU with Asio/Beast on the server side, to keep
// compile times down). Each connection is a C++20 coroutine on its own strand.
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <utility>  // before Boost 1.74 awaitable.hpp, which uses std::exchange

#include <malloc.h>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <limits>
#include <thread>
#include <vector>

#include "body_piece.h"
#include "log_websocket.h"
#include "proxy_relay.h"
#include "skiff/common/log.h"
#include "skiff/master/https/beast_names.h"
#include "skiff/master/server.h"
#include "x509_subject.h"

namespace skiff::master {
namespace {

using namespace beast_names;
using Stream = beast::ssl_stream<beast::tcp_stream>;
using boost::system::error_code;

const std::shared_ptr<spdlog::logger>& lg() {
  static const auto l = skiff::log::get("master");
  return l;
}

auto tok(error_code& ec) { return net::redirect_error(net::use_awaitable, ec); }

std::optional<api::UserInfo> peerUser(Stream& s) {
  SSL* ssl = s.native_handle();
  X509* peer = SSL_get1_peer_certificate(ssl);
  if (!peer) return std::nullopt;
  std::unique_ptr<X509, void (*)(X509*)> owner(peer, X509_free);
  if (SSL_get_verify_result(ssl) != X509_V_OK) return std::nullopt;
  CertSubject subject = readCertSubject(X509_get_subject_name(peer));
  api::UserInfo u;
  u.name = subject.cn;
  u.groups = subject.orgs;
  u.groups.push_back("system:authenticated");
  return u;
}

int alpnSelect(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
               unsigned int inlen, void*) {
  // Only HTTP/1.1: Go would switch to HTTP/2 if we offered h2.
  static const unsigned char proto[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  if (SSL_select_next_proto(const_cast<unsigned char**>(out), outlen, proto, sizeof proto, in,
                            inlen) == OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_OK;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

class Server : public HttpsServer {
 public:
  Server(const ServerOptions& o, api::Handler& h)
      : opts_(o),
        handler_(h),
        ctx_(ssl::context::tls_server),
        client_ctx_(ssl::context::tls_client),
        plain_client_ctx_(ssl::context::tls_client),
        acceptor_(ioc_) {}
  ~Server() override { stop(); }

  Result<void> init() {
    error_code ec;
    ctx_.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                     ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    ctx_.use_certificate_chain_file(opts_.cert_file, ec);
    if (ec)
      return Error(ErrorCode::Internal,
                   "load serving certificate '" + opts_.cert_file + "': " + ec.message());
    ctx_.use_private_key_file(opts_.key_file, ssl::context::pem, ec);
    if (ec)
      return Error(ErrorCode::Internal,
                   "load serving key '" + opts_.key_file + "': " + ec.message());
    if (!opts_.client_ca_file.empty()) {
      ctx_.load_verify_file(opts_.client_ca_file, ec);
      if (ec)
        return Error(ErrorCode::Internal,
                     "load client CA '" + opts_.client_ca_file + "': " + ec.message());
      // Ask for a certificate, accept connections without one (bearer tokens), and let the
      // handshake finish with a bad one so that the request gets a 401 instead of a TLS error.
      SSL_CTX_set_verify(ctx_.native_handle(), SSL_VERIFY_PEER,
                         [](int, X509_STORE_CTX*) { return 1; });
      STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(opts_.client_ca_file.c_str());
      if (names) SSL_CTX_set_client_CA_list(ctx_.native_handle(), names);
    }
    SSL_CTX_set_alpn_select_cb(ctx_.native_handle(), alpnSelect, nullptr);
    // Idle connections (watchers, kubelets) give their ~34 KiB TLS buffers back.
    SSL_CTX_set_mode(ctx_.native_handle(), SSL_MODE_RELEASE_BUFFERS);
    client_ctx_.set_verify_mode(ssl::verify_none);  // node agents serve self-signed certificates
    // https: proxy targets in pods are not verified either (kube-apiserver's proxy transport
    // skips verification); they get no client certificate.
    plain_client_ctx_.set_verify_mode(ssl::verify_none);
    if (!opts_.proxy_client_cert.empty()) {
      client_ctx_.use_certificate_chain_file(opts_.proxy_client_cert, ec);
      if (!ec) client_ctx_.use_private_key_file(opts_.proxy_client_key, ssl::context::pem, ec);
      if (ec) return Error(ErrorCode::Internal, "load proxy client certificate: " + ec.message());
    }
    auto addr = net::ip::make_address(opts_.bind_address, ec);
    if (ec)
      return Error(ErrorCode::Invalid,
                   "bind address '" + opts_.bind_address + "': " + ec.message());
    tcp::endpoint ep(addr, static_cast<unsigned short>(opts_.port));
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      return Error(ErrorCode::Unavailable, "listen on " + opts_.bind_address + ":" +
                                               std::to_string(opts_.port) + ": " + ec.message());
    }
    port_ = acceptor_.local_endpoint().port();
    return ok();
  }

  void run() {
    net::co_spawn(ioc_, accept(), net::detached);
    for (int i = 0; i < std::max(1, opts_.threads); ++i)
      threads_.emplace_back([this] { ioc_.run(); });
  }

  int port() const override { return port_; }

  void stop() override {
    if (stopped_.exchange(true)) return;
    net::post(ioc_, [this] {
      error_code ec;
      acceptor_.close(ec);
    });
    ioc_.stop();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

 private:
  net::awaitable<void> accept() {
    for (;;) {
      error_code ec;
      tcp::socket sock = co_await acceptor_.async_accept(net::make_strand(ioc_), tok(ec));
      if (ec) {
        if (ec == net::error::operation_aborted || !acceptor_.is_open()) co_return;
        if (ec == net::error::no_descriptors) {
          SKIFF_LOG_WARN(lg(), "Out of file descriptors, pausing accept",
                         skiff::log::kv("err", ec.message()));
          net::steady_timer t(ioc_, std::chrono::milliseconds(100));
          co_await t.async_wait(tok(ec));
        }
        continue;
      }
      auto ex = sock.get_executor();
      net::co_spawn(ex, session(std::move(sock)), net::detached);
    }
  }

  net::awaitable<void> session(tcp::socket sock) {
    error_code ec;
    sock.set_option(tcp::no_delay(true), ec);
    std::string remote_addr = sock.remote_endpoint(ec).address().to_string();
    auto stream = std::make_shared<Stream>(beast::tcp_stream(std::move(sock)), ctx_);
    beast::get_lowest_layer(*stream).expires_after(opts_.handshake_timeout);
    co_await stream->async_handshake(ssl::stream_base::server, tok(ec));
    if (ec) co_return;
    std::optional<api::UserInfo> cert_user = peerUser(*stream);
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(handler_.options().max_body_bytes + 1);
      beast::get_lowest_layer(*stream).expires_after(opts_.idle_timeout);
      co_await http::async_read(*stream, buffer, parser, tok(ec));
      if (ec == http::error::body_limit) {
        co_await writeSimple(
            *stream,
            api::errorResponse(
                Error(ErrorCode::TooLarge, "the request body is too large (limit 3 MiB)")),
            11, false);
        break;
      }
      if (ec) break;
      auto& req = parser.get();
      api::HttpRequest r;
      r.method = std::string(req.method_string());
      r.target = std::string(req.target());
      for (const auto& f : req) {
        std::string name(f.name_string());
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        // Repeated Impersonate-* headers (kubectl --as-group a --as-group b) keep every value.
        auto seen = r.headers.find(name);
        if (seen != r.headers.end() && name.rfind("impersonate-", 0) == 0)
          seen->second += "\n" + std::string(f.value());
        else
          r.headers[name] = std::string(f.value());
      }
      r.body = std::move(req.body());
      r.cert_user = cert_user;
      r.remote_addr = remote_addr;
      beast::get_lowest_layer(*stream).expires_after(opts_.write_timeout);
      api::HttpResponse resp = handler_.handle(r);
      bool keep = req.keep_alive();
      if (resp.proxy && resp.proxy->relay) {
        server::RelayContext rc{client_ctx_, plain_client_ctx_, opts_.write_timeout, remote_addr,
                                resp.headers};
        co_await server::relayProxy(stream, req, *resp.proxy, rc);
        break;
      }
      if (resp.proxy) {
        co_await proxy(stream, req, buffer, *resp.proxy);
        break;
      }
      if (resp.stream) {
        co_await writeStream(*stream, resp, req.version());
        break;
      }
      bool ok_write = co_await writeSimple(*stream, resp, req.version(), keep);
      if (!ok_write || !keep) break;
    }
    beast::get_lowest_layer(*stream).expires_after(std::chrono::seconds(5));
    co_await stream->async_shutdown(tok(ec));
    beast::get_lowest_layer(*stream).close();
  }

  static void addHeaders(http::response_header<>& h, const api::HttpResponse& r) {
    if (!r.content_type.empty()) h.set(http::field::content_type, r.content_type);
    h.set("Cache-Control", "no-cache, private");
    h.set("X-Kubernetes-Pf-Flowschema-Uid", "");
    for (const auto& [k, v] : r.headers) h.insert(k, v);
  }

  net::awaitable<bool> writeSimple(Stream& s, const api::HttpResponse& r, unsigned version,
                                   bool keep) {
    http::response<http::string_body> res{static_cast<http::status>(r.status), version};
    addHeaders(res.base(), r);
    res.body() = r.body;
    res.keep_alive(keep);
    res.prepare_payload();
    error_code ec;
    co_await http::async_write(s, res, tok(ec));
    if (res.body().size() > (1u << 20)) {
      // A large LIST leaves freed pages in malloc's arenas; give them back so RSS tracks the
      // live data, not the biggest response ever sent.
      res.body().clear();
      res.body().shrink_to_fit();
      ::malloc_trim(0);
    }
    co_return !ec;
  }

  // A watch: chunked, one line per event, flushed at once; bookmarks when idle; cut off when
  // the client stops reading (write timeout).
  net::awaitable<void> writeStream(Stream& s, api::HttpResponse& r, unsigned version) {
    http::response<http::empty_body> res{static_cast<http::status>(r.status), version};
    addHeaders(res.base(), r);
    res.chunked(true);
    res.keep_alive(false);
    error_code ec;
    http::response_serializer<http::empty_body> sr{res};
    co_await http::async_write_header(s, sr, tok(ec));
    if (ec) co_return;
    auto ex = co_await net::this_coro::executor;
    auto timer = std::make_shared<net::steady_timer>(ex);
    auto pending = std::make_shared<std::atomic<bool>>(true);
    r.stream->setNotify([timer, pending, ex] {
      pending->store(true);
      net::post(ex, [timer] { timer->cancel(); });
    });
    auto deadline = r.stream->deadline();
    auto bookmark_every = handler_.options().bookmark_interval;
    auto last_write = std::chrono::steady_clock::now();
    for (;;) {
      std::string data;
      bool more = true;
      if (pending->exchange(false)) more = r.stream->read(data);
      auto now = std::chrono::steady_clock::now();
      if (data.empty() && now - last_write >= bookmark_every) {
        data = r.stream->idle();
        last_write = now;
      }
      if (!data.empty()) {
        beast::get_lowest_layer(s).expires_after(opts_.write_timeout);
        co_await net::async_write(s, http::make_chunk(net::buffer(data)), tok(ec));
        if (ec) break;
        last_write = std::chrono::steady_clock::now();
        beast::get_lowest_layer(s).expires_never();
      }
      if (!more) break;
      if (pending->load()) continue;
      now = std::chrono::steady_clock::now();
      if (now >= deadline) break;
      auto wake = std::min(deadline, last_write + bookmark_every);
      timer->expires_at(wake);
      if (pending->load()) continue;
      co_await timer->async_wait(tok(ec));
    }
    r.stream->setNotify(nullptr);
    r.stream.reset();
    if (ec) co_return;
    beast::get_lowest_layer(s).expires_after(opts_.write_timeout);
    co_await net::async_write(s, http::make_chunk_last(), tok(ec));
  }

  net::awaitable<std::shared_ptr<Stream>> dial(const api::ProxyTarget& t, error_code& ec) {
    auto ex = co_await net::this_coro::executor;
    tcp::resolver resolver(ex);
    auto results = co_await resolver.async_resolve(t.host, std::to_string(t.port), tok(ec));
    if (ec) co_return nullptr;
    auto up = std::make_shared<Stream>(beast::tcp_stream(ex), client_ctx_);
    beast::get_lowest_layer(*up).expires_after(std::chrono::seconds(10));
    co_await beast::get_lowest_layer(*up).async_connect(results, tok(ec));
    if (ec) co_return nullptr;
    SSL_set_tlsext_host_name(up->native_handle(), t.host.c_str());
    co_await up->async_handshake(ssl::stream_base::client, tok(ec));
    if (ec) co_return nullptr;
    beast::get_lowest_layer(*up).expires_never();
    co_return up;
  }

  net::awaitable<void> proxy(std::shared_ptr<Stream> client, http::request<http::string_body>& req,
                             beast::flat_buffer& client_buf, const api::ProxyTarget& t) {
    error_code ec;
    auto up = co_await dial(t, ec);
    if (!up) {
      SKIFF_LOG_WARN(lg(), "Dial node agent failed", skiff::log::kv("host", t.host),
                     skiff::log::kv("port", t.port), skiff::log::kv("err", ec.message()));
      co_await writeSimple(
          *client,
          api::errorResponse(Error(ErrorCode::Internal, "error dialing backend: dial tcp " +
                                                            t.host + ":" + std::to_string(t.port) +
                                                            ": " + ec.message())),
          req.version(), false);
      co_return;
    }
    http::request<http::string_body> out = upstreamRequest(req, t);
    co_await http::async_write(*up, out, tok(ec));
    if (ec) {
      SKIFF_LOG_WARN(lg(), "Proxy request to node agent failed", skiff::log::kv("host", t.host),
                     skiff::log::kv("err", ec.message()));
      co_return;
    }
    beast::flat_buffer up_buf;
    if (t.upgrade) {
      co_await relayUpgrade(client, up, up_buf, client_buf);
      co_return;
    }
    co_await relayResponse(client, req, t, up, up_buf);
  }

  // The request to the node agent: the client's method, body and Accept; the upgrade handshake
  // headers unless the agent is to see a plain GET (a websocket log).
  static http::request<http::string_body> upstreamRequest(
      const http::request<http::string_body>& req, const api::ProxyTarget& t) {
    http::request<http::string_body> out{req.method(), t.path, 11};
    out.set(http::field::host, t.host + ":" + std::to_string(t.port));
    for (const auto& f : req) {
      std::string n(f.name_string());
      std::string lower = n;
      for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      bool handshake = lower == "upgrade" || lower == "connection" ||
                       lower.rfind("sec-websocket-", 0) == 0 ||
                       lower == "x-stream-protocol-version";
      // A websocket log is a plain GET to the agent; the handshake is answered here.
      if ((handshake && !t.websocket_log) || lower == "accept") {
        out.insert(f.name_string(), f.value());
      }
    }
    out.body() = req.body();
    out.prepare_payload();
    return out;
  }

  // exec/attach/port-forward: relay the agent's answer to the upgrade; on 101 Switching
  // Protocols, splice the two connections until either ends.
  net::awaitable<void> relayUpgrade(std::shared_ptr<Stream> client, std::shared_ptr<Stream> up,
                                    beast::flat_buffer& up_buf, beast::flat_buffer& client_buf) {
    error_code ec;
    http::response_parser<http::string_body> p;
    p.skip(false);
    co_await http::async_read_header(*up, up_buf, p, tok(ec));
    if (ec) co_return;
    if (p.get().result() != http::status::switching_protocols) {
      co_await http::async_read(*up, up_buf, p, tok(ec));
      auto res = p.release();
      res.keep_alive(false);
      res.prepare_payload();
      co_await http::async_write(*client, res, tok(ec));
      co_return;
    }
    http::response<http::empty_body> res{http::status::switching_protocols, 11};
    for (const auto& f : p.get()) res.insert(f.name_string(), f.value());
    http::response_serializer<http::empty_body> sr{res};
    co_await http::async_write_header(*client, sr, tok(ec));
    if (ec) co_return;
    beast::get_lowest_layer(*client).expires_never();
    // Splice both directions; whichever ends first closes both.
    auto ex = co_await net::this_coro::executor;
    auto leftover_up = std::make_shared<std::string>(beast::buffers_to_string(up_buf.data()));
    auto leftover_client =
        std::make_shared<std::string>(beast::buffers_to_string(client_buf.data()));
    net::co_spawn(ex, pump(up, client, leftover_up), net::detached);
    co_await pump(client, up, leftover_client);
  }

  // Logs: relay status and body, streaming (follow) as it arrives.
  net::awaitable<void> relayResponse(std::shared_ptr<Stream> client,
                                     http::request<http::string_body>& req,
                                     const api::ProxyTarget& t, std::shared_ptr<Stream> up,
                                     beast::flat_buffer& up_buf) {
    error_code ec;
    http::response_parser<http::buffer_body> p;
    // Not boost::none: Boost 1.74 compares the length against an empty optional (always
    // "exceeded").
    p.body_limit(std::numeric_limits<std::uint64_t>::max());
    co_await http::async_read_header(*up, up_buf, p, tok(ec));
    if (ec) {
      SKIFF_LOG_WARN(lg(), "Read node agent response failed", skiff::log::kv("host", t.host),
                     skiff::log::kv("err", ec.message()));
      co_return;
    }
    if (t.websocket_log && p.get().result() == http::status::ok) {
      std::string offered(req[http::field::sec_websocket_protocol]);
      auto protocol = server::logWebSocketProtocol(offered);
      if (!protocol) {
        co_await writeSimple(
            *client,
            api::errorResponse(Error(ErrorCode::BadRequest,
                                     "requested protocol(s) are not supported: " + offered)),
            req.version(), false);
        co_return;
      }
      co_await server::relayLogAsWebSocket(*client, req, *protocol, *up, up_buf, p);
      co_return;
    }
    http::response<http::empty_body> res{p.get().result(), 11};
    auto ct = p.get()[http::field::content_type];
    res.set(http::field::content_type, ct.empty() ? "text/plain" : std::string(ct));
    res.chunked(true);
    res.keep_alive(false);
    http::response_serializer<http::empty_body> sr{res};
    co_await http::async_write_header(*client, sr, tok(ec));
    if (ec) co_return;
    server::BodyPieces pieces(*up, up_buf, p);
    for (;;) {
      std::string_view piece = co_await pieces.next(ec);
      if (piece.empty()) break;
      beast::get_lowest_layer(*client).expires_after(opts_.write_timeout);
      error_code wec;
      co_await net::async_write(*client, http::make_chunk(net::buffer(piece.data(), piece.size())),
                                tok(wec));
      if (wec) co_return;
    }
    co_await net::async_write(*client, http::make_chunk_last(), tok(ec));
  }

  static net::awaitable<void> pump(std::shared_ptr<Stream> from, std::shared_ptr<Stream> to,
                                   std::shared_ptr<std::string> leftover) {
    error_code ec;
    if (!leftover->empty()) {
      co_await net::async_write(*to, net::buffer(*leftover), tok(ec));
      if (ec) co_return;
    }
    char buf[16384];
    for (;;) {
      std::size_t n = co_await from->async_read_some(net::buffer(buf), tok(ec));
      if (ec) break;
      co_await net::async_write(*to, net::buffer(buf, n), tok(ec));
      if (ec) break;
    }
    beast::get_lowest_layer(*from).close();
    beast::get_lowest_layer(*to).close();
  }

  ServerOptions opts_;
  api::Handler& handler_;
  net::io_context ioc_;
  ssl::context ctx_;
  ssl::context client_ctx_;
  ssl::context plain_client_ctx_;
  tcp::acceptor acceptor_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopped_{false};
  int port_ = 0;
};

}  // namespace

Result<std::unique_ptr<HttpsServer>> startHttpsServer(const ServerOptions& options,
                                                      api::Handler& handler) {
  auto s = std::make_unique<Server>(options, handler);
  SKIFF_TRY(s->init());
  s->run();
  return std::unique_ptr<HttpsServer>(std::move(s));
}

}  // namespace skiff::master
