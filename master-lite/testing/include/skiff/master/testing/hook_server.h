#pragma once

// A small HTTPS webhook server for tests (Boost.Beast over a throwaway CA made with the openssl
// CLI): HookPki writes the CA, a serving certificate for hook.default.svc and 127.0.0.1, and an
// unrelated CA into a directory; HookServer answers every POST on 127.0.0.1 with
// handler(path, parsed body). Used by the admission webhook, aggregator and conversion webhook
// tests. Header-only.

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cstdlib>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "skiff/common/base64.h"
#include "skiff/common/file.h"

namespace skiff::master::testing {

// Writes ca.crt/ca.key, srv.crt/srv.key (CN and SAN hook.default.svc, SAN IP 127.0.0.1) and
// other.crt into `dir`; false when openssl fails. `ca` and `other_ca` are the base64 caBundles.
struct HookPki {
  bool make(const std::string& dir) {
    std::string cmd =
        "(cd " + dir +
        " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
        "-keyout ca.key -out ca.crt -days 1 -subj /CN=test-ca && "
        "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout srv.key "
        "-out srv.csr -subj /CN=hook.default.svc && "
        "printf 'subjectAltName=DNS:hook.default.svc,IP:127.0.0.1' > ext.cnf && "
        "openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out srv.crt "
        "-days 1 -extfile ext.cnf && "
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
        "-keyout other.key -out other.crt -days 1 -subj /CN=other-ca) >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) return false;
    auto ca_pem = readFile(dir + "/ca.crt", 1 << 20);
    auto other_pem = readFile(dir + "/other.crt", 1 << 20);
    if (!ca_pem || !other_pem) return false;
    ca = base64Encode(*ca_pem);
    other_ca = base64Encode(*other_pem);
    cert = dir + "/srv.crt";
    key = dir + "/srv.key";
    return true;
  }
  std::string ca, other_ca, cert, key;
};

// An HTTPS server on 127.0.0.1 answering POSTs with handler(path, parsed body); a string
// answer is sent as it is (garbage), anything else as JSON.
class HookServer {
 public:
  using json = nlohmann::json;
  using Handler = std::function<json(const std::string& path, const json& review)>;
  HookServer(const std::string& cert, const std::string& key, Handler h)
      : ctx_(boost::asio::ssl::context::tls_server), acceptor_(io_), handler_(std::move(h)) {
    ctx_.use_certificate_chain_file(cert);
    ctx_.use_private_key_file(key, boost::asio::ssl::context::pem);
    boost::asio::ip::tcp::endpoint ep(boost::asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(ep.protocol());
    acceptor_.set_option(boost::asio::ip::tcp::acceptor::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { loop(); });
  }
  ~HookServer() {
    stop_ = true;
    try {  // wake the blocking accept
      boost::asio::io_context io;
      boost::asio::ip::tcp::socket s(io);
      s.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port_));
    } catch (...) {
    }
    thread_.join();
    for (auto& t : conns_) t.join();
  }
  int port() const { return port_; }
  int calls(const std::string& path) {
    std::lock_guard lock(mu_);
    return counts_[path];
  }
  // The request target (with its query) of the last POST to `path`.
  std::string lastTarget(const std::string& path) {
    std::lock_guard lock(mu_);
    return targets_[path];
  }
  // The values of header `name` (case-insensitive) in the last request to `path`, in order.
  std::vector<std::string> lastHeader(const std::string& path, const std::string& name) {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (const auto& [k, v] : headers_[path]) {
      if (boost::beast::iequals(k, name)) out.push_back(v);
    }
    return out;
  }

 private:
  void loop() {
    while (!stop_) {
      boost::asio::ip::tcp::socket sock(io_);
      boost::system::error_code ec;
      acceptor_.accept(sock, ec);
      if (ec || stop_) break;
      conns_.emplace_back([this, s = std::move(sock)]() mutable { serve(std::move(s)); });
    }
  }
  void serve(boost::asio::ip::tcp::socket sock) {
    try {
      boost::beast::ssl_stream<boost::asio::ip::tcp::socket> stream(std::move(sock), ctx_);
      stream.handshake(boost::asio::ssl::stream_base::server);
      boost::beast::flat_buffer buf;
      boost::beast::http::request<boost::beast::http::string_body> req;
      boost::beast::http::read(stream, buf, req);
      std::string target(req.target());
      std::string path = target.substr(0, target.find('?'));
      {
        std::lock_guard lock(mu_);
        ++counts_[path];
        targets_[path] = target;
        auto& h = headers_[path];
        h.clear();
        for (const auto& f : req) h.emplace_back(f.name_string(), f.value());
      }
      json answer = handler_(path, json::parse(req.body(), nullptr, false));
      boost::beast::http::response<boost::beast::http::string_body> res{
          boost::beast::http::status::ok, 11};
      res.set(boost::beast::http::field::content_type, "application/json");
      res.body() = answer.is_string() ? answer.get<std::string>() : answer.dump();
      res.prepare_payload();
      boost::beast::http::write(stream, res);
      boost::beast::error_code ignored;
      stream.shutdown(ignored);
    } catch (...) {
    }
  }

  boost::asio::io_context io_;
  boost::asio::ssl::context ctx_;
  boost::asio::ip::tcp::acceptor acceptor_;
  Handler handler_;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::vector<std::thread> conns_;
  std::mutex mu_;
  std::map<std::string, int> counts_;
  std::map<std::string, std::string> targets_;
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> headers_;
};

}  // namespace skiff::master::testing
