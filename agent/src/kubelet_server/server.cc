// The kubelet API server: TLS listener (client certificates from the cluster CA), the plain
// healthz listener, and the router to the endpoint handlers. With https_transport.cc, these are
// the only agent TUs that instantiate Beast.
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <thread>

#include "skiff/common/log.h"
#include "stream.h"

namespace skiff::agent {
namespace {

using namespace kubelet_api;
using skiff::log::kv;

class Server final : public KubeletServer {
 public:
  Server(KubeletServerOptions o, KubeletApiSource& src)
      : opts_(std::move(o)),
        src_(src),
        ctx_(ssl::context::tls_server),
        acceptor_(io_),
        healthz_(io_) {}

  ~Server() override { stop(); }

  Result<void> start() {
    boost::system::error_code ec;
    ctx_.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                     ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    ctx_.use_certificate_chain(asio::buffer(opts_.cert_pem), ec);
    if (ec) return Error(ErrorCode::Invalid, "load kubelet serving certificate: " + ec.message());
    ctx_.use_private_key(asio::buffer(opts_.key_pem), ssl::context::pem, ec);
    if (ec) return Error(ErrorCode::Invalid, "load kubelet serving key: " + ec.message());
    if (!opts_.client_ca_pem.empty()) {
      ctx_.add_certificate_authority(asio::buffer(opts_.client_ca_pem), ec);
      if (ec) return Error(ErrorCode::Invalid, "load client ca: " + ec.message());
      ctx_.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
    }
    SKIFF_TRY(listen(acceptor_, opts_.address, opts_.port, "kubelet"));
    if (opts_.healthz_port >= 0) {
      SKIFF_TRY(listen(healthz_, opts_.healthz_address, opts_.healthz_port, "healthz"));
    }
    asio::co_spawn(io_, acceptLoop(acceptor_, &Server::session), asio::detached);
    if (healthz_.is_open())
      asio::co_spawn(io_, acceptLoop(healthz_, &Server::plainHealthz), asio::detached);
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
    return ok();
  }

  int port() const override { return port_; }
  int healthzPort() const override { return healthz_port_; }

  void stop() override {
    if (stopped_.exchange(true)) return;
    io_.stop();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

 private:
  Result<void> listen(tcp::acceptor& a, const std::string& addr, int port, const char* what) {
    boost::system::error_code ec;
    auto ip = asio::ip::make_address(addr, ec);
    if (ec)
      return Error(ErrorCode::Invalid, std::string("bad ") + what + " address '" + addr + "'");
    tcp::endpoint ep(ip, static_cast<unsigned short>(port));
    a.open(ep.protocol(), ec);
    if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) a.bind(ep, ec);
    if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return Error(ErrorCode::Unavailable, std::string("listen ") + what + " on " + addr + ":" +
                                               std::to_string(port) + ": " + ec.message());
    }
    int bound = a.local_endpoint().port();
    if (&a == &acceptor_) {
      port_ = bound;
    } else {
      healthz_port_ = bound;
    }
    return ok();
  }

  // Accepts on `acceptor` until it is closed; each connection is served by `serve` on its own
  // strand.
  asio::awaitable<void> acceptLoop(tcp::acceptor& acceptor,
                                   asio::awaitable<void> (Server::*serve)(tcp::socket)) {
    for (;;) {
      boost::system::error_code ec;
      tcp::socket sock(asio::make_strand(io_));
      co_await acceptor.async_accept(sock, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (ec == asio::error::operation_aborted) co_return;
        continue;
      }
      auto ex = sock.get_executor();
      asio::co_spawn(ex, (this->*serve)(std::move(sock)), asio::detached);
    }
  }

  asio::awaitable<void> plainHealthz(tcp::socket sock) {
    try {
      beast::tcp_stream stream(std::move(sock));
      beast::flat_buffer buf;
      Request req;
      stream.expires_after(std::chrono::seconds(10));
      co_await http::async_read(stream, buf, req, asio::use_awaitable);
      auto res = req.target() == "/healthz"
                     ? reply(req, 200, "text/plain; charset=utf-8", "ok")
                     : reply(req, 404, "text/plain; charset=utf-8", "404 page not found\n");
      res.keep_alive(false);
      co_await http::async_write(stream, res, asio::use_awaitable);
      boost::system::error_code ignored;
      stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    } catch (const std::exception&) {
    }
  }

  asio::awaitable<void> session(tcp::socket sock) {
    auto lg = skiff::log::get("agent");
    auto stream = std::make_shared<TlsStream>(std::move(sock), ctx_);
    try {
      beast::get_lowest_layer(*stream).expires_after(std::chrono::seconds(30));
      co_await stream->async_handshake(ssl::stream_base::server, asio::use_awaitable);
      std::string cn = peerCommonName(*stream);
      beast::flat_buffer buf;
      for (;;) {
        Request req;
        beast::get_lowest_layer(*stream).expires_after(std::chrono::minutes(5));
        co_await http::async_read(*stream, buf, req, asio::use_awaitable);
        beast::get_lowest_layer(*stream).expires_never();
        if (cn.rfind("system:node:", 0) == 0) {
          co_await sendReply(*stream, replyStatus(req, 403, "Forbidden",
                                                  "Forbidden (user=" + cn +
                                                      ", verb=get, resource=nodes, "
                                                      "subresource=proxy)"));
          continue;
        }
        int next = co_await route(stream, req, buf);
        if (next == kTaken) co_return;  // the WebSocket owns (and closed) the connection
        if (next == kClose || !req.keep_alive()) break;
      }
      boost::system::error_code ignored;
      beast::get_lowest_layer(*stream).socket().shutdown(tcp::socket::shutdown_both, ignored);
    } catch (const boost::system::system_error& e) {
      if (e.code() != http::error::end_of_stream && e.code() != asio::error::eof &&
          e.code() != ssl::error::stream_truncated) {
        SKIFF_LOG_DEBUG(lg, "Kubelet API connection ended", kv("err", e.code().message()));
      }
    } catch (const std::exception& e) {
      SKIFF_LOG_DEBUG(lg, "Kubelet API connection failed", kv("err", std::string(e.what())));
    }
  }

  static std::string peerCommonName(TlsStream& s) {
    X509* cert = SSL_get_peer_certificate(s.native_handle());
    if (cert == nullptr) return "";
    char buf[256] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof buf - 1);
    X509_free(cert);
    return buf;
  }

  static constexpr int kClose = 0, kKeep = 1, kTaken = 2;
  // Returns kKeep when the connection can serve another request, kTaken when an upgrade moved
  // the stream away.
  asio::awaitable<int> route(std::shared_ptr<TlsStream> stream, Request& req,
                             beast::flat_buffer& buf) {
    std::vector<std::string> segs;
    Query q;
    splitTarget(std::string_view(req.target().data(), req.target().size()), segs, q);
    if (segs.size() == 1 && segs[0] == "healthz") {
      co_await sendReply(*stream, reply(req, 200, "text/plain; charset=utf-8", "ok"));
      co_return kKeep;
    }
    if (segs.size() == 1 && segs[0] == "pods") {
      json list = {{"kind", "PodList"},
                   {"apiVersion", "v1"},
                   {"metadata", json::object()},
                   {"items", src_.pods()}};
      co_await sendReply(*stream, reply(req, 200, "application/json", list.dump()));
      co_return kKeep;
    }
    if (segs.size() == 1 && segs[0] == "metrics") {
      co_await sendReply(
          *stream, reply(req, 200, "text/plain; version=0.0.4; charset=utf-8", src_.metrics()));
      co_return kKeep;
    }
    if (segs.size() == 2 && segs[0] == "metrics" && segs[1] == "resource") {
      co_await sendReply(*stream, reply(req, 200, "text/plain; version=0.0.4; charset=utf-8",
                                        src_.resourceMetrics()));
      co_return kKeep;
    }
    if (segs.size() == 2 && segs[0] == "stats" && segs[1] == "summary") {
      co_await sendReply(*stream, reply(req, 200, "application/json", src_.statsSummary().dump()));
      co_return kKeep;
    }
    if (segs.size() == 4 && segs[0] == "containerLogs") {
      bool keep = co_await handleContainerLogs(src_, *stream, req, segs[1], segs[2], segs[3], q);
      co_return keep ? kKeep : kClose;
    }
    if ((segs.size() == 4 || segs.size() == 5) && (segs[0] == "exec" || segs[0] == "attach")) {
      // /exec/{ns}/{pod}/{container} or /exec/{ns}/{pod}/{uid}/{container}
      std::string container = segs.back();
      bool taken = co_await handleExec(src_, stream, req, buf, segs[1], segs[2], container, q,
                                       segs[0] == "attach");
      co_return taken ? kTaken : kClose;
    }
    if ((segs.size() == 3 || segs.size() == 4) && segs[0] == "portForward") {
      // /portForward/{ns}/{pod} or /portForward/{ns}/{pod}/{uid}
      bool taken = co_await handlePortForward(src_, stream, req, buf, segs[1], segs[2], q);
      co_return taken ? kTaken : kClose;
    }
    co_await sendReply(*stream,
                       reply(req, 404, "text/plain; charset=utf-8", "404 page not found\n"));
    co_return kKeep;
  }

  KubeletServerOptions opts_;
  KubeletApiSource& src_;
  asio::io_context io_;
  ssl::context ctx_;
  tcp::acceptor acceptor_;
  tcp::acceptor healthz_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopped_{false};
  int port_ = 0;
  int healthz_port_ = 0;
};

}  // namespace

Result<std::unique_ptr<KubeletServer>> startKubeletServer(KubeletServerOptions opts,
                                                          KubeletApiSource& source) {
  auto s = std::make_unique<Server>(std::move(opts), source);
  SKIFF_TRY(s->start());
  return std::unique_ptr<KubeletServer>(std::move(s));
}

}  // namespace skiff::agent