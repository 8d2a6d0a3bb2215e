// The deadline-bound HTTPS request of https_request.h: Boost.Beast on a private io_context, run
// for at most the deadline; whatever is still pending then is abandoned with the context.
#include "skiff/master/https/https_request.h"
#include "skiff/master/https/beast_names.h"

#include <openssl/ssl.h>
#include <utility>  // before Boost 1.74 awaitable.hpp, which uses std::exchange

#include <arpa/inet.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <optional>

namespace skiff::master::https {
namespace {

using namespace beast_names;

// Go's wording for the common failures.
std::string describe(const boost::system::error_code& ec, const HttpsTarget& t, bool connected) {
  if (ec == net::error::connection_refused)
    return "dial tcp " + t.connect_host + ":" + t.port + ": connect: connection refused";
  if (ec == net::error::host_unreachable || ec == net::error::network_unreachable)
    return "dial tcp " + t.connect_host + ":" + t.port + ": connect: no route to host";
  if (ec.category() == net::error::get_ssl_category()) {
    std::string m = ec.message();
    if (m.find("certificate verify failed") != std::string::npos)
      return "tls: failed to verify certificate: x509: certificate signed by unknown authority";
    return "remote error: tls: " + m;
  }
  if (ec == http::error::end_of_stream || ec == net::error::eof ||
      ec == net::error::connection_reset)
    return connected ? "EOF" : "dial tcp " + t.connect_host + ":" + t.port + ": " + ec.message();
  return ec.message();
}

struct Exchange {
  const HttpsTarget& t;
  std::string method, target, body, content_type;
  std::size_t body_limit;
  std::optional<Result<HttpsReply>> out;
  bool connected = false;

  net::awaitable<void> run(ssl::context& ctx) {
    auto ex = co_await net::this_coro::executor;
    beast::ssl_stream<beast::tcp_stream> stream(ex, ctx);
    if (!t.insecure) stream.set_verify_callback(ssl::host_name_verification(t.server_name));
    if (!isIpLiteral(t.server_name))
      SSL_set_tlsext_host_name(stream.native_handle(), t.server_name.c_str());
    tcp::resolver resolver(ex);
    auto eps = co_await resolver.async_resolve(t.connect_host, t.port, net::use_awaitable);
    co_await beast::get_lowest_layer(stream).async_connect(eps, net::use_awaitable);
    connected = true;
    co_await stream.async_handshake(ssl::stream_base::client, net::use_awaitable);
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, t.server_name + ":" + t.port);
    req.set(http::field::user_agent, "skiff-master");
    req.set(http::field::accept, "application/json, */*");
    // An extra header replaces a default of its name; a name given several times is sent several
    // times (a front proxy's X-Remote-Group, once per group: set() would keep only the last).
    for (const auto& [k, v] : t.headers) req.erase(k);
    for (const auto& [k, v] : t.headers) req.insert(k, v);
    if (!body.empty()) {
      req.set(http::field::content_type, content_type);
      req.body() = body;
    }
    req.prepare_payload();
    co_await http::async_write(stream, req, net::use_awaitable);
    beast::flat_buffer buf;
    http::response_parser<http::string_body> parser;
    parser.body_limit(body_limit);
    co_await http::async_read(stream, buf, parser, net::use_awaitable);
    auto res = parser.release();
    HttpsReply reply;
    reply.status = res.result_int();
    reply.content_type = std::string(res[http::field::content_type]);
    reply.body = std::move(res.body());
    out = std::move(reply);
  }
};

}  // namespace

bool isIpLiteral(const std::string& host) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, host.c_str(), buf) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

Result<HttpsReply> httpsRequest(const HttpsTarget& t, const std::string& method,
                                const std::string& target, const std::string& body,
                                const std::string& content_type, std::chrono::milliseconds deadline,
                                std::size_t body_limit) {
  ssl::context ctx(ssl::context::tls_client);
  try {
    ctx.set_options(ssl::context::no_sslv2 | ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                    ssl::context::no_tlsv1_1);
    if (t.insecure) {
      ctx.set_verify_mode(ssl::verify_none);
    } else {
      if (t.ca_pem.empty())
        ctx.set_default_verify_paths();
      else
        ctx.add_certificate_authority(net::buffer(t.ca_pem));
      ctx.set_verify_mode(ssl::verify_peer);
    }
  } catch (const boost::system::system_error& e) {
    return Error(ErrorCode::Invalid, "x509: malformed certificate: " + e.code().message());
  }
  if (!t.client_cert_pem.empty() || !t.client_key_pem.empty()) {
    try {
      ctx.use_certificate_chain(net::buffer(t.client_cert_pem));
      ctx.use_private_key(net::buffer(t.client_key_pem), ssl::context::pem);
    } catch (const boost::system::system_error& e) {
      return Error(ErrorCode::Invalid,
                   "tls: failed to load the client certificate and key: " + e.code().message());
    }
  }
  // Declared before the context: on a timeout the context's destructor destroys the pending
  // coroutine, which must not outlive what it refers to.
  Exchange x{t, method, target, body, content_type, body_limit, std::nullopt};
  net::io_context io;
  net::co_spawn(io, x.run(ctx), [&](std::exception_ptr e) {
    if (!e || x.out) return;
    try {
      std::rethrow_exception(e);
    } catch (const boost::system::system_error& se) {
      x.out = Error(ErrorCode::Unavailable, describe(se.code(), t, x.connected));
    } catch (const std::exception& se) {
      x.out = Error(ErrorCode::Internal, se.what());
    }
  });
  io.run_for(deadline);
  if (!x.out) {
    return Error(ErrorCode::Timeout, "context deadline exceeded");
  }
  return std::move(*x.out);
}

}  // namespace skiff::master::https
