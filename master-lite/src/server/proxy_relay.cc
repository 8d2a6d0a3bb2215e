// The proxy subresources' relay: connect (plain or TLS), forward the request without the
// client's credentials and hop-by-hop headers, and stream the answer back. Errors reaching the
// backend answer as kube-apiserver's do: a 500 Status "error trying to reach service: dial tcp
// <addr>: connect: connection refused".
#include "proxy_relay.h"

#include <openssl/ssl.h>

#include <arpa/inet.h>

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <limits>
#include <nlohmann/json.hpp>

#include "body_piece.h"
#include "skiff/master/api/proxy_rewrite.h"
#include "skiff/master/https/beast_names.h"

namespace skiff::master::server {
namespace {

using namespace beast_names;
using boost::system::error_code;

auto tok(error_code& ec) { return net::redirect_error(net::use_awaitable, ec); }

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Go's error text: lower-case errno strings, "i/o timeout".
std::string goError(const error_code& ec) {
  if (ec == beast::error::timeout || ec == net::error::timed_out) return "i/o timeout";
  std::string m = ec.message();
  if (!m.empty()) m[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(m[0])));
  return m;
}

std::string hostPort(const api::ProxyTarget& t) {
  std::string host = t.host.find(':') != std::string::npos ? "[" + t.host + "]" : t.host;
  return host + ":" + (t.port_name.empty() ? std::to_string(t.port) : t.port_name);
}

bool isOneOf(const std::string& lower_name, std::initializer_list<const char*> names) {
  for (const char* n : names) {
    if (lower_name == n) return true;
  }
  return false;
}

// The connection's headers, not the message's (Go's hopHeaders; Proxy-Authenticate and
// Proxy-Authorization only for requests), and the length, which is re-framed here.
bool isConnectionHeader(const std::string& lower_name) {
  return isOneOf(lower_name, {"connection", "proxy-connection", "keep-alive", "te", "trailer",
                              "transfer-encoding", "upgrade", "content-length"});
}

// Request headers not relayed: the connection's and the credentials the API server consumed.
bool dropRequestHeader(const std::string& lower_name) {
  return isConnectionHeader(lower_name) ||
         isOneOf(lower_name, {"proxy-authenticate", "proxy-authorization", "authorization"}) ||
         lower_name.rfind("impersonate-", 0) == 0;
}

// Response headers not relayed: the connection's and CORS (upstream's corsRemovingTransport).
bool dropResponseHeader(const std::string& lower_name) {
  return isConnectionHeader(lower_name) ||
         isOneOf(lower_name, {"access-control-allow-credentials", "access-control-allow-headers",
                              "access-control-allow-methods", "access-control-allow-origin"});
}

template <class S>
net::awaitable<void> writeStatus(S& s, unsigned version, const std::string& message,
                                 const RelayContext& ctx) {
  // Not an API status error upstream: code 500, no reason.
  nlohmann::json body = {
      {"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", nlohmann::json::object()},
      {"status", "Failure"}, {"message", message}, {"code", 500}};
  http::response<http::string_body> res{http::status::internal_server_error, version};
  res.set(http::field::content_type, "application/json");
  res.set("Cache-Control", "no-cache, private");
  for (const auto& [k, v] : ctx.headers) res.insert(k, v);
  res.body() = body.dump();
  res.keep_alive(false);
  res.prepare_payload();
  error_code ec;
  beast::get_lowest_layer(s).expires_after(ctx.write_timeout);
  co_await http::async_write(s, res, tok(ec));
}

http::request<http::string_body> backendRequest(const http::request<http::string_body>& req,
                                                const api::ProxyTarget& t,
                                                const RelayContext& ctx) {
  http::request<http::string_body> out{req.method(), t.path, 11};
  std::vector<std::string> conn_tokens;
  for (const auto& f : req) {
    std::string n = lower(std::string(f.name_string()));
    if (n == "connection") {
      std::string v = lower(std::string(f.value()));
      std::size_t i = 0;
      while (i < v.size()) {
        std::size_t j = v.find(',', i);
        if (j == std::string::npos) j = v.size();
        std::string tokn = v.substr(i, j - i);
        tokn.erase(0, tokn.find_first_not_of(' '));
        tokn.erase(tokn.find_last_not_of(' ') + 1);
        conn_tokens.push_back(tokn);
        i = j + 1;
      }
    }
  }
  for (const auto& f : req) {
    std::string n = lower(std::string(f.name_string()));
    if (dropRequestHeader(n) || n == "x-forwarded-for") continue;
    if (std::find(conn_tokens.begin(), conn_tokens.end(), n) != conn_tokens.end()) continue;
    out.insert(f.name_string(), f.value());
  }
  if (out[http::field::host].empty()) out.set(http::field::host, hostPort(t));
  std::string xff(req["X-Forwarded-For"]);
  if (!ctx.remote_addr.empty())
    out.set("X-Forwarded-For", xff.empty() ? ctx.remote_addr : xff + ", " + ctx.remote_addr);
  std::string backend_path = t.path.substr(0, t.path.find('?'));
  out.set("X-Forwarded-Uri", t.path_prepend + backend_path);
  out.body() = req.body();
  if (!out.body().empty() || req.has_content_length()) out.prepare_payload();
  return out;
}

// The answer relayed: headers filtered, Location and HTML rewritten, the body streamed.
template <class S>
net::awaitable<void> relayResponse(S& up, ClientStream& client, bool head,
                                   const api::ProxyTarget& t, const std::string& request_host,
                                   const RelayContext& ctx) {
  error_code ec;
  beast::flat_buffer up_buf;
  http::response_parser<http::buffer_body> p;
  p.body_limit(std::numeric_limits<std::uint64_t>::max());
  if (head) p.skip(true);
  co_await http::async_read_header(up, up_buf, p, tok(ec));
  if (ec) {
    co_await writeStatus(client, 11, "error trying to reach service: " + goError(ec), ctx);
    co_return;
  }
  api::ProxyRewrite rw{t.path_prepend, hostPort(t), request_host};
  http::response<http::empty_body> res{p.get().result(), 11};
  std::string content_length;
  bool redirect = false;
  for (const auto& f : p.get()) {
    std::string n = lower(std::string(f.name_string()));
    if (n == "content-length") content_length = std::string(f.value());
    if (dropResponseHeader(n)) continue;
    if (n == "location") {
      redirect = true;
      res.insert(f.name_string(), api::rewriteProxyUrl(std::string(f.value()), rw));
    } else {
      res.insert(f.name_string(), f.value());
    }
  }
  for (const auto& [k, v] : ctx.headers) res.insert(k, v);
  res.keep_alive(false);
  std::string ct = lower(std::string(p.get()[http::field::content_type]));
  ct = ct.substr(0, ct.find(';'));
  ct.erase(ct.find_last_not_of(' ') + 1);
  std::string encoding(p.get()[http::field::content_encoding]);
  bool html = !redirect && ct == "text/html" && encoding.empty();
  unsigned code = p.get().result_int();
  beast::get_lowest_layer(client).expires_after(ctx.write_timeout);
  if (head || code < 200 || code == 204 || code == 304) {
    if (head && !content_length.empty()) res.set(http::field::content_length, content_length);
    http::response_serializer<http::empty_body> sr{res};
    co_await http::async_write_header(client, sr, tok(ec));
    co_return;
  }
  std::string page;
  if (!html) {
    res.chunked(true);
    http::response_serializer<http::empty_body> sr{res};
    co_await http::async_write_header(client, sr, tok(ec));
    if (ec) co_return;
  }
  BodyPieces pieces(up, up_buf, p);
  for (;;) {
    std::string_view piece = co_await pieces.next(ec);
    if (piece.empty()) break;
    if (html) {
      page.append(piece);
      continue;
    }
    beast::get_lowest_layer(client).expires_after(ctx.write_timeout);
    error_code wec;
    co_await net::async_write(client, http::make_chunk(net::buffer(piece.data(), piece.size())),
                              tok(wec));
    if (wec) co_return;
  }
  if (html) {
    http::response<http::string_body> full{res.result(), 11};
    for (const auto& f : res) full.insert(f.name_string(), f.value());
    full.body() = api::rewriteProxyHtml(page, rw);
    full.keep_alive(false);
    full.prepare_payload();
    beast::get_lowest_layer(client).expires_after(ctx.write_timeout);
    co_await http::async_write(client, full, tok(ec));
    co_return;
  }
  beast::get_lowest_layer(client).expires_after(ctx.write_timeout);
  co_await net::async_write(client, http::make_chunk_last(), tok(ec));
}

template <class S>
net::awaitable<bool> sendRequest(S& up, ClientStream& client, http::request<http::string_body>& out,
                                 const RelayContext& ctx) {
  error_code ec;
  co_await http::async_write(up, out, tok(ec));
  if (ec) {
    co_await writeStatus(client, 11, "error trying to reach service: " + goError(ec), ctx);
    co_return false;
  }
  co_return true;
}

}  // namespace

net::awaitable<void> relayProxy(std::shared_ptr<ClientStream> client,
                                http::request<http::string_body>& req, const api::ProxyTarget& t,
                                const RelayContext& ctx) {
  auto ex = co_await net::this_coro::executor;
  error_code ec;
  tcp::resolver resolver(ex);
  std::string service = t.port_name.empty() ? std::to_string(t.port) : t.port_name;
  auto results = co_await resolver.async_resolve(t.host, service, tok(ec));
  if (ec) {
    std::string why = !t.port_name.empty()
                          ? "dial tcp: address tcp/" + t.port_name + ": unknown port"
                          : "dial tcp: lookup " + t.host + ": " + goError(ec);
    co_await writeStatus(*client, req.version(), "error trying to reach service: " + why, ctx);
    co_return;
  }
  beast::tcp_stream tcp_up(ex);
  tcp_up.expires_after(std::chrono::seconds(30));  // kube-apiserver's proxy dialer timeout
  auto ep = co_await tcp_up.async_connect(results, tok(ec));
  // The address as Go prints it: the resolved one (a named port as its number).
  if (ec && !results.empty()) ep = results.begin()->endpoint();
  std::string ip = ep.address().to_string();
  std::string addr =
      (ip.find(':') != std::string::npos ? "[" + ip + "]" : ip) + ":" + std::to_string(ep.port());
  if (ec) {
    std::string why = ec == beast::error::timeout ? "i/o timeout" : "connect: " + goError(ec);
    co_await writeStatus(*client, req.version(),
                         "error trying to reach service: dial tcp " + addr + ": " + why, ctx);
    co_return;
  }
  http::request<http::string_body> out = backendRequest(req, t, ctx);
  std::string request_host(req[http::field::host]);
  bool head = req.method() == http::verb::head;
  tcp_up.expires_never();
  if (!t.tls) {
    if (co_await sendRequest(tcp_up, *client, out, ctx))
      co_await relayResponse(tcp_up, *client, head, t, request_host, ctx);
    co_return;
  }
  beast::ssl_stream<beast::tcp_stream> tls_up(std::move(tcp_up),
                                              t.kubelet_client ? ctx.kubelet_tls : ctx.plain_tls);
  unsigned char ipbuf[16];
  if (inet_pton(AF_INET, t.host.c_str(), ipbuf) != 1 &&
      inet_pton(AF_INET6, t.host.c_str(), ipbuf) != 1)
    SSL_set_tlsext_host_name(tls_up.native_handle(), t.host.c_str());
  beast::get_lowest_layer(tls_up).expires_after(std::chrono::seconds(10));
  co_await tls_up.async_handshake(ssl::stream_base::client, tok(ec));
  beast::get_lowest_layer(tls_up).expires_never();
  if (ec) {
    co_await writeStatus(*client, req.version(), "error trying to reach service: " + goError(ec),
                         ctx);
    co_return;
  }
  if (co_await sendRequest(tls_up, *client, out, ctx))
    co_await relayResponse(tls_up, *client, head, t, request_host, ctx);
}

}  // namespace skiff::master::server
