// Admin kubeconfig checks and one-shot HTTPS requests (the master's HTTPS client) for the
// `skiff-master token` commands.
#include "skiff/master/token/admin_client.h"

#include "skiff/common/file.h"
#include "skiff/common/http_status.h"
#include "skiff/master/https/https_request.h"

namespace skiff::master::token {
namespace {

using nlohmann::json;

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
  https::HttpsTarget t;
  t.connect_host = ep.host;
  t.port = ep.port;
  t.server_name = ep.host;
  t.ca_pem = kc.ca_pem;  // never empty: parseAdminKubeconfig refuses a kubeconfig without one
  t.client_cert_pem = kc.client_cert_pem;
  t.client_key_pem = kc.client_key_pem;
  t.headers.emplace_back("User-Agent", "skiff-master-token/v1");
  if (!kc.token.empty()) t.headers.emplace_back("Authorization", "Bearer " + kc.token);
  auto res = https::httpsRequest(t, method, target, body != nullptr ? body->dump() : "",
                                 "application/json", timeout, 64u << 20);
  if (!res) {
    if (res.error().is(ErrorCode::Invalid))
      return std::move(res).error().wrap("load the kubeconfig's CA and client certificate");
    return std::move(res).error().wrap("connect to the API server at " + kc.server);
  }
  json parsed = json::parse(res->body, nullptr, false);
  if (res->status >= 200 && res->status < 300) {
    if (parsed.is_discarded())
      return Error(ErrorCode::Internal,
                   method + " " + target + " " + kc.server + ": reply is not JSON");
    return parsed;
  }
  bool status_object = !parsed.is_discarded() && parsed.is_object();
  std::string msg =
      status_object && parsed.contains("message") ? parsed.value("message", "") : res->body;
  std::string reason = status_object ? parsed.value("reason", "") : "";
  return Error(errorCodeForHttpStatus(static_cast<int>(res->status), reason),
               msg.empty() ? "the server answered " + std::to_string(res->status) : msg);
}

}  // namespace skiff::master::token
