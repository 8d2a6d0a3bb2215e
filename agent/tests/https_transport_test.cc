// The real HTTPS transport against a small TLS server on loopback: plain requests share one
// keep-alive connection, a connection the server dropped while idle is replaced without the
// caller seeing an error, and "Connection: close" is honoured.
#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <thread>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "skiff/agent/http_transport.h"
#include "skiff/agent/probe_manager.h"
#include "skiff/agent/testing/fake_runtime.h"
#include "skiff/agent/tls_util.h"

namespace skiff::agent {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

// A thread per connection; answers each request with its target as the body.
class TlsServer {
 public:
  enum class After { KeepOpen, DropSilently, SayClose, HangOnSecond };

  TlsServer(const CertAndKey& cert, After after) : after_(after) {
    ctx_.use_certificate_chain(asio::buffer(cert.cert_pem));
    ctx_.use_private_key(asio::buffer(cert.key_pem), ssl::context::pem);
    acceptor_.open(tcp::v4());
    acceptor_.bind({asio::ip::address_v4::loopback(), 0});
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { serve(); });
  }
  ~TlsServer() {
    stopping_ = true;
    tcp::socket wake(ioc_);  // unblocks accept()
    boost::system::error_code ec;
    wake.connect({asio::ip::address_v4::loopback(), port_}, ec);
    thread_.join();
    for (auto& t : conns_) t.join();
  }
  unsigned short port() const { return port_; }
  int accepted() const { return accepted_; }

 private:
  void serve() {
    while (true) {
      tcp::socket sock(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(sock, ec);
      if (stopping_) return;
      if (ec) continue;
      ++accepted_;
      conns_.emplace_back([this, s = std::move(sock)]() mutable { converse(std::move(s)); });
    }
  }

  void converse(tcp::socket sock) {
    boost::system::error_code ec;
    beast::ssl_stream<tcp::socket> stream(std::move(sock), ctx_);
    stream.handshake(ssl::stream_base::server, ec);
    if (ec) return;
    beast::flat_buffer buf;
    for (int n = 1;; ++n) {
      http::request<http::string_body> req;
      http::read(stream, buf, req, ec);
      if (ec) break;
      if (after_ == After::HangOnSecond && n == 2) {  // read it, never answer
        while (!stopping_) std::this_thread::sleep_for(std::chrono::milliseconds(10));
        break;
      }
      http::response<http::string_body> res{http::status::ok, 11};
      res.body() = std::string(req.target());
      res.keep_alive(after_ != After::SayClose);
      res.prepare_payload();
      http::write(stream, res, ec);
      if (ec || after_ == After::DropSilently || after_ == After::SayClose) break;
    }
  }

  After after_;
  asio::io_context ioc_;
  ssl::context ctx_{ssl::context::tls_server};
  tcp::acceptor acceptor_{ioc_};
  unsigned short port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> accepted_{0};
  std::thread thread_;
  std::vector<std::thread> conns_;  // touched by the accept thread only, until joined
};

class HttpsTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = makeSelfSignedServingCert("127.0.0.1", {}, {"127.0.0.1"});
    ASSERT_TRUE(c) << c.error().message();
    cert_ = *c;
  }
  HttpTransportPtr client(const TlsServer& server) {
    TlsOptions tls;
    tls.ca_pem = cert_.cert_pem;
    auto t = makeHttpsTransport(ServerAddress{"127.0.0.1", std::to_string(server.port())}, tls, "");
    EXPECT_TRUE(t) << t.error().message();
    return *t;
  }
  void expectThreeRequestsAnswered(HttpTransport& t) {
    for (int i = 0; i < 3; ++i) {
      HttpRequest req;
      req.method = i == 1 ? "POST" : "GET";
      req.target = "/r" + std::to_string(i);
      req.timeout = std::chrono::seconds(5);
      auto r = t.send(req);
      ASSERT_TRUE(r) << r.error().message();
      EXPECT_EQ(r->status, 200);
      EXPECT_EQ(r->body, req.target);
    }
  }
  // Three requests through one client to a server that ends each answer as `after` says; how
  // many connections the server accepted for them.
  int connectionsForThreeRequests(TlsServer::After after) {
    TlsServer server(cert_, after);
    auto t = client(server);
    expectThreeRequestsAnswered(*t);
    return server.accepted();
  }
  CertAndKey cert_;
};

TEST_F(HttpsTransportTest, RequestsShareOneKeepAliveConnection) {
  EXPECT_EQ(connectionsForThreeRequests(TlsServer::After::KeepOpen), 1);
}

TEST_F(HttpsTransportTest, AConnectionDroppedWhileIdleIsReplaced) {
  EXPECT_EQ(connectionsForThreeRequests(TlsServer::After::DropSilently), 3);
}

TEST_F(HttpsTransportTest, ConnectionCloseIsHonoured) {
  EXPECT_EQ(connectionsForThreeRequests(TlsServer::After::SayClose), 3);
}

TEST_F(HttpsTransportTest, ATimedOutRequestIsNotSentAgain) {
  TlsServer server(cert_, TlsServer::After::HangOnSecond);
  auto t = client(server);
  HttpRequest req;
  req.method = "POST";
  req.target = "/once";
  req.timeout = std::chrono::milliseconds(300);
  ASSERT_TRUE(t->send(req));
  auto r = t->send(req);  // on the pooled connection; the server never answers
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(ErrorCode::Timeout)) << r.error().message();
  EXPECT_EQ(server.accepted(), 1);  // no second connection carried the POST again
}

TEST_F(HttpsTransportTest, AnUntrustedServerIsRefused) {
  TlsServer server(cert_, TlsServer::After::KeepOpen);
  auto other = makeSelfSignedServingCert("127.0.0.1", {}, {"127.0.0.1"});
  ASSERT_TRUE(other);
  TlsOptions tls;
  tls.ca_pem = other->cert_pem;
  auto t = makeHttpsTransport(ServerAddress{"127.0.0.1", std::to_string(server.port())}, tls, "");
  ASSERT_TRUE(t);
  HttpRequest req;
  req.target = "/x";
  req.timeout = std::chrono::seconds(5);
  auto r = (*t)->send(req);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(ErrorCode::Unavailable)) << r.error().message();
}

// HA masters: a server that cannot be reached is skipped (its error says nothing left), the
// one that answered is kept for the next requests.
TEST_F(HttpsTransportTest, FailoverSkipsAServerThatCannotBeReachedAndStaysOnTheOther) {
  unsigned short closed;
  {
    TlsServer gone(cert_, TlsServer::After::KeepOpen);
    closed = gone.port();
  }  // its port now refuses connections
  TlsServer live(cert_, TlsServer::After::KeepOpen);
  TlsOptions tls;
  tls.ca_pem = cert_.cert_pem;
  auto dead = makeHttpsTransport(ServerAddress{"127.0.0.1", std::to_string(closed)}, tls, "");
  ASSERT_TRUE(dead);
  HttpRequest req;
  req.method = "POST";
  req.target = "/create";
  req.timeout = std::chrono::seconds(5);
  auto refused = (*dead)->send(req);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().sysErrno(), ENOTCONN) << refused.error().message();

  auto t = makeFailoverTransport({*dead, client(live)});
  expectThreeRequestsAnswered(*t);  // the POST among them went to `live`, once
  EXPECT_EQ(live.accepted(), 1);
  EXPECT_EQ(t->serverUrl(), "https://127.0.0.1:" + std::to_string(live.port()));
}

// A write that reached a server and got no answer may have happened: it is not sent to another
// server. A read is.
TEST_F(HttpsTransportTest, FailoverRepeatsReadsButNotWritesThatReachedAServer) {
  TlsServer hangs(cert_, TlsServer::After::HangOnSecond);
  TlsServer other(cert_, TlsServer::After::KeepOpen);
  auto t = makeFailoverTransport({client(hangs), client(other)});
  HttpRequest req;
  req.method = "POST";
  req.target = "/once";
  req.timeout = std::chrono::milliseconds(300);
  ASSERT_TRUE(t->send(req));
  auto r = t->send(req);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(ErrorCode::Timeout)) << r.error().message();
  EXPECT_EQ(other.accepted(), 0);

  TlsServer hangs2(cert_, TlsServer::After::HangOnSecond);
  auto t2 = makeFailoverTransport({client(hangs2), client(other)});
  req.method = "GET";
  ASSERT_TRUE(t2->send(req));
  auto read = t2->send(req);  // hangs on the first server, answered by the second
  ASSERT_TRUE(read) << read.error().message();
  EXPECT_EQ(read->body, "/once");
  EXPECT_EQ(other.accepted(), 1);
}

// An httpGet probe with scheme HTTPS speaks TLS to the container and does not verify its
// self-signed certificate (conformance's webhook deployments probe /readyz on 8444 this way); the
// same port probed as HTTP fails.
TEST_F(HttpsTransportTest, HttpsProbeSkipsVerification) {
  TlsServer server(cert_, TlsServer::After::KeepOpen);
  testing::FakeRuntime rt;
  auto runner = makeProbeRunner(rt);
  nlohmann::json probe = {
      {"httpGet", {{"path", "/readyz"}, {"port", server.port()}, {"scheme", "HTTPS"}}},
      {"timeoutSeconds", 2}};
  std::string out;
  EXPECT_TRUE(runner->run(probe, nlohmann::json::object(), "cid", "127.0.0.1", out)) << out;
  probe["httpGet"]["scheme"] = "HTTP";
  EXPECT_FALSE(runner->run(probe, nlohmann::json::object(), "cid", "127.0.0.1", out));
}

}  // namespace
}  // namespace skiff::agent
