// Kubeconfig reading (libyaml) and one-shot HTTPS requests (Boost.Beast, blocking) for the
// `skiff-master token` commands.
#include "skiff/master/token/admin_client.h"

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <yaml.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <memory>

#include "skiff/common/file.h"

namespace skiff::master::token {
namespace {

using nlohmann::json;
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

// A kubeconfig only holds strings, lists and mappings: every scalar stays a string.
Result<json> toJson(yaml_document_t* doc, yaml_node_t* node, int depth) {
  if (node == nullptr) return Error(ErrorCode::Invalid, "parse kubeconfig: dangling yaml node");
  if (depth > 32) return Error(ErrorCode::Invalid, "parse kubeconfig: nesting too deep");
  switch (node->type) {
    case YAML_SCALAR_NODE:
      return json(std::string(reinterpret_cast<const char*>(node->data.scalar.value),
                              node->data.scalar.length));
    case YAML_SEQUENCE_NODE: {
      json arr = json::array();
      for (auto* it = node->data.sequence.items.start; it < node->data.sequence.items.top; ++it) {
        SKIFF_ASSIGN_OR_RETURN(json v, toJson(doc, yaml_document_get_node(doc, *it), depth + 1));
        arr.push_back(std::move(v));
      }
      return arr;
    }
    case YAML_MAPPING_NODE: {
      json obj = json::object();
      for (auto* p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top; ++p) {
        yaml_node_t* k = yaml_document_get_node(doc, p->key);
        if (k == nullptr || k->type != YAML_SCALAR_NODE) {
          return Error(ErrorCode::Invalid, "parse kubeconfig: mapping keys must be scalars");
        }
        SKIFF_ASSIGN_OR_RETURN(json v, toJson(doc, yaml_document_get_node(doc, p->value), depth + 1));
        obj[std::string(reinterpret_cast<const char*>(k->data.scalar.value), k->data.scalar.length)] =
            std::move(v);
      }
      return obj;
    }
    default:
      return json(nullptr);
  }
}

Result<json> parseYaml(const std::string& text) {
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser)) return Error(ErrorCode::Internal, "init yaml parser");
  std::unique_ptr<yaml_parser_t, void (*)(yaml_parser_t*)> pguard(&parser, yaml_parser_delete);
  yaml_parser_set_input_string(&parser, reinterpret_cast<const unsigned char*>(text.data()),
                               text.size());
  yaml_document_t doc;
  if (!yaml_parser_load(&parser, &doc)) {
    return Error(ErrorCode::Invalid, std::string("parse kubeconfig: ") +
                                         (parser.problem ? parser.problem : "syntax error") +
                                         " at line " + std::to_string(parser.problem_mark.line + 1));
  }
  std::unique_ptr<yaml_document_t, void (*)(yaml_document_t*)> dguard(&doc, yaml_document_delete);
  return toJson(&doc, yaml_document_get_root_node(&doc), 0);
}

std::string str(const json& o, const char* k) {
  return o.is_object() && o.contains(k) && o[k].is_string() ? o[k].get<std::string>() : "";
}

const json* named(const json& doc, const char* list, const std::string& name) {
  if (!doc.contains(list) || !doc[list].is_array()) return nullptr;
  for (const auto& e : doc[list]) {
    if (e.is_object() && str(e, "name") == name) return &e;
  }
  return nullptr;
}

Result<std::string> b64decode(const std::string& in) {
  std::string clean;
  for (char c : in) {
    if (c != '\n' && c != '\r' && c != ' ') clean.push_back(c);
  }
  if (clean.size() % 4 != 0) return Error(ErrorCode::Invalid, "not valid base64");
  std::string out(clean.size() / 4 * 3 + 1, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(clean.data()),
                          static_cast<int>(clean.size()));
  if (n < 0) return Error(ErrorCode::Invalid, "not valid base64");
  std::size_t len = static_cast<std::size_t>(n);
  if (!clean.empty() && clean.back() == '=') --len;
  if (clean.size() > 1 && clean[clean.size() - 2] == '=') --len;
  out.resize(len);
  return out;
}

// `<field>-data` (base64) wins over `<field>` (a file path), as in client-go.
Result<std::string> dataOrFile(const json& o, const std::string& field, const std::string& base) {
  std::string data = str(o, (field + "-data").c_str());
  if (!data.empty()) {
    auto d = b64decode(data);
    if (!d) return std::move(d).error().wrap("parse kubeconfig: " + field + "-data");
    return d;
  }
  std::string path = str(o, field.c_str());
  if (path.empty()) return std::string();
  if (path.front() != '/') path = base + "/" + path;
  return readFile(path, 1u << 20);
}

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
    if (close == std::string::npos) return Error(ErrorCode::Invalid, "bad server URL '" + url + "'");
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
  return ::inet_pton(AF_INET, host.c_str(), buf) == 1 || ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

ErrorCode codeForStatus(unsigned status) {
  switch (status) {
    case 400: return ErrorCode::BadRequest;
    case 401: return ErrorCode::Unauthorized;
    case 403: return ErrorCode::Forbidden;
    case 404: return ErrorCode::NotFound;
    case 409: return ErrorCode::AlreadyExists;
    case 410: return ErrorCode::Gone;
    case 413: return ErrorCode::TooLarge;
    case 422: return ErrorCode::Invalid;
    case 503: return ErrorCode::Unavailable;
    case 504: return ErrorCode::Timeout;
    default: return ErrorCode::Internal;
  }
}

}  // namespace

Result<AdminKubeconfig> parseAdminKubeconfig(const std::string& yaml, const std::string& base_dir) {
  SKIFF_ASSIGN_OR_RETURN(json doc, parseYaml(yaml));
  if (!doc.is_object()) return Error(ErrorCode::Invalid, "parse kubeconfig: not a mapping");
  std::string ctx_name = str(doc, "current-context");
  const json* ctx = named(doc, "contexts", ctx_name);
  if (ctx == nullptr) {
    return Error(ErrorCode::Invalid, "parse kubeconfig: current-context '" + ctx_name + "' not found");
  }
  const json c = ctx->value("context", json::object());
  const json* cluster = named(doc, "clusters", str(c, "cluster"));
  const json* user = named(doc, "users", str(c, "user"));
  if (cluster == nullptr) {
    return Error(ErrorCode::Invalid, "parse kubeconfig: cluster '" + str(c, "cluster") + "' not found");
  }
  const json cl = cluster->value("cluster", json::object());
  AdminKubeconfig out;
  out.server = str(cl, "server");
  if (out.server.empty()) return Error(ErrorCode::Invalid, "parse kubeconfig: the cluster has no server");
  SKIFF_ASSIGN_OR_RETURN(out.ca_pem, dataOrFile(cl, "certificate-authority", base_dir));
  if (out.ca_pem.empty()) {
    return Error(ErrorCode::Invalid, "parse kubeconfig: the cluster has no certificate-authority; "
                                     "refusing to send credentials to an unverified server");
  }
  if (user != nullptr) {
    const json u = user->value("user", json::object());
    SKIFF_ASSIGN_OR_RETURN(out.client_cert_pem, dataOrFile(u, "client-certificate", base_dir));
    SKIFF_ASSIGN_OR_RETURN(out.client_key_pem, dataOrFile(u, "client-key", base_dir));
    out.bearer_token = str(u, "token");
  }
  if (out.bearer_token.empty() && (out.client_cert_pem.empty() || out.client_key_pem.empty())) {
    return Error(ErrorCode::Invalid, "parse kubeconfig: the user has neither a client certificate "
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
    return Error(ErrorCode::Invalid, "load the kubeconfig's CA and client certificate: " +
                                         e.code().message());
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
    if (!kc.bearer_token.empty()) req.set(http::field::authorization, "Bearer " + kc.bearer_token);
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
      if (parsed.is_discarded()) return Error(ErrorCode::Internal, where(method + " " + target) + ": reply is not JSON");
      return parsed;
    }
    std::string msg = !parsed.is_discarded() && parsed.is_object() && parsed.contains("message")
                          ? parsed.value("message", "")
                          : res.body();
    return Error(codeForStatus(status), msg.empty() ? "the server answered " + std::to_string(status) : msg);
  } catch (const boost::system::system_error& e) {
    return Error(e.code() == beast::error::timeout ? ErrorCode::Timeout : ErrorCode::Unavailable,
                 where("connect to the API server at") + ": " + e.code().message());
  }
}

}  // namespace skiff::master::token
