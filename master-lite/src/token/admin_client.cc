// Admin kubeconfig checks and one-shot HTTPS requests (Boost.Beast, blocking) for the
// `skiff-master token` commands.
#include "skiff/master/token/admin_client.h"

#include <arpa/inet.h>
#include <openssl/ssl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <memory>

#include "skiff/common/file.h"
#include "skiff/common/http_status.h"

namespace skiff::master::token {
namespace {

using nlohmann::json;
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

struct Endpoint {
  std::string host;
  std::string port;
};

Result<Endpoint> splitServer(const std::string& url) {
  if (url.rfind("https://", 0) != 0) {
    return Error(ErrorCode::Invalid, "kubeconfig server '" + url + "' is not an https:// URL");
  }
  std::string rest = url.substr(8);
  rest = rest.substr(0, rest.find('/'));
  Endpoint e;
  if (!rest.empty() && rest.front() == '[') {  // [v6]:port
    auto close = rest.find(']');
    if (close == std::string::npos)
      return Error(ErrorCode::Invalid, "bad server URL '" + url + "'");
    e.host = rest.substr(1, close - 1);
    e.port = close + 2 <= rest.size() ? rest.substr(close + 2) : "";
  } else {
    auto colon = rest.rfind(':');
    e.host = rest.substr(0, colon);
    e.port = colon == std::string::npos ? "" : rest.substr(colon + 1);
  }
  if (e.port.empty()) e.port = "443";
  if (e.host.empty()) return Error(ErrorCode::Invalid, "bad server URL '" + url + "'");
  return e;
}

bool isIpLiteral(const std::string& host) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, host.c_str(), buf) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

}  // namespace

Result<AdminKubeconfig> parseAdminKubeconfig(const std::string& yaml, const std::string& base_dir) {
  SKIFF_ASSIGN_OR_RETURN(AdminKubeconfig out, parseKubeconfig(yaml, base_dir));
  if (out.ca_pem.empty()) {
    return Error(ErrorCode::Invalid,
                 "parse kubeconfig: the cluster has no certificate-authority; "
                 "refusing to send credentials to an unverified server");
  }
  if (out.token.empty() && (out.client_cert_pem.empty() || out.client_key_pem.empty())) {
    return Error(ErrorCode::Invalid,
                 "parse kubeconfig: the user has neither a client certificate "
                 "and key nor a token");
  }
  return out;
}

Result<AdminKubeconfig> loadAdminKubeconfig(const std::string& path) {
  auto text = readFile(path, 1u << 20);
  if (!text) return std::move(text).error().wrap("read kubeconfig '" + path + "'");
  std::string base = path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/'));
  auto kc = parseAdminKubeconfig(*text, base);
  if (!kc) return std::move(kc).error().wrap("kubeconfig '" + path + "'");
  return kc;
}

Result<json> apiRequest(const AdminKubeconfig& kc, const std::string& method,
                        const std::string& target, const json* body, std::chrono::seconds timeout) {
  SKIFF_ASSIGN_OR_RETURN(Endpoint ep, splitServer(kc.server));
  auto where = [&](const std::string& what) { return what + " " + kc.server; };
  ssl::context ctx(ssl::context::tls_client);
  try {
    ctx.set_options(ssl::context::no_sslv2 | ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                    ssl::context::no_tlsv1_1);
    ctx.add_certificate_authority(net::buffer(kc.ca_pem));
    ctx.set_verify_mode(ssl::verify_peer);
    if (!kc.client_cert_pem.empty()) {
      ctx.use_certificate_chain(net::buffer(kc.client_cert_pem));
      ctx.use_private_key(net::buffer(kc.client_key_pem), ssl::context::pem);
    }
  } catch (const boost::system::system_error& e) {
    return Error(ErrorCode::Invalid,
                 "load the kubeconfig's CA and client certificate: " + e.code().message());
  }
  try {
    net::io_context io;
    beast::ssl_stream<beast::tcp_stream> stream(io, ctx);
    stream.set_verify_callback(ssl::host_name_verification(ep.host));
    if (!isIpLiteral(ep.host)) SSL_set_tlsext_host_name(stream.native_handle(), ep.host.c_str());
    tcp::resolver resolver(io);
    beast::get_lowest_layer(stream).expires_after(timeout);
    beast::get_lowest_layer(stream).connect(resolver.resolve(ep.host, ep.port));
    stream.handshake(ssl::stream_base::client);
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, ep.host);
    req.set(http::field::user_agent, "skiff-master-token/v1");
    req.set(http::field::accept, "application/json");
    if (!kc.token.empty()) req.set(http::field::authorization, "Bearer " + kc.token);
    if (body != nullptr) {
      req.set(http::field::content_type, "application/json");
      req.body() = body->dump();
    }
    req.prepare_payload();
    http::write(stream, req);
    beast::flat_buffer buf;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64u << 20);
    http::read(stream, buf, parser);
    auto res = parser.release();
    beast::error_code ignored;
    stream.shutdown(ignored);
    unsigned status = res.result_int();
    json parsed = json::parse(res.body(), nullptr, false);
    if (status >= 200 && status < 300) {
      if (parsed.is_discarded())
        return Error(ErrorCode::Internal, where(method + " " + target) + ": reply is not JSON");
      return parsed;
    }
    std::string msg = !parsed.is_discarded() && parsed.is_object() && parsed.contains("message")
                          ? parsed.value("message", "")
                          : res.body();
    std::string reason =
        !parsed.is_discarded() && parsed.is_object() ? parsed.value("reason", "") : "";
    return Error(errorCodeForHttpStatus(static_cast<int>(status), reason),
                 msg.empty() ? "the server answered " + std::to_string(status) : msg);
  } catch (const boost::system::system_error& e) {
    return Error(e.code() == beast::error::timeout ? ErrorCode::Timeout : ErrorCode::Unavailable,
                 where("connect to the API server at") + ": " + e.code().message());
  }
}

}  // namespace skiff::master::token
