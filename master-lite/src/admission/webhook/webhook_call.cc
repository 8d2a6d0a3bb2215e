#include "webhook_call.h"

#include "skiff/common/base64.h"
#include "skiff/master/api/object_util.h"

namespace skiff::master::admission::webhook {
namespace {

using json = nlohmann::json;
using api::at;
using api::str;

struct Endpoint {
  https::HttpsTarget target;
  std::string url;  // as Go prints it in errors
  std::string path;
};

// The Service's port `port`: its name and target port.
Result<std::pair<std::string, json>> servicePort(const json& svc, int port) {
  const json& ports = at(svc, {"spec", "ports"});
  for (const auto& p : ports.is_array() ? ports : json::array()) {
    if (p.value("port", 0) == port)
      return std::make_pair(p.value("name", ""),
                            p.contains("targetPort") ? p["targetPort"] : json(port));
  }
  return Error(ErrorCode::NotFound, "no service port " + std::to_string(port) +
                                        " found for service \"" + str(svc, {"metadata", "name"}) +
                                        "\"");
}

// The URL or Service of a clientConfig.
Result<Endpoint> endpointOf(api::Registry& registry, const json& cc, int timeout_s,
                            bool timeout_in_url) {
  Endpoint e;
  std::string query = timeout_in_url ? "?timeout=" + std::to_string(timeout_s) + "s" : "";
  if (cc.contains("url") && cc["url"].is_string()) {
    std::string u = cc["url"].get<std::string>();
    e.url = u + (u.find('?') == std::string::npos ? query : "");
    std::string rest = u.substr(8);  // validated: https://
    std::string hostport = rest.substr(0, rest.find('/'));
    e.path = rest.find('/') == std::string::npos ? "/" : rest.substr(rest.find('/'));
    std::string host = hostport, port = "443";
    if (!hostport.empty() && hostport.front() == '[') {
      host = hostport.substr(1, hostport.find(']') - 1);
      auto c = hostport.find("]:");
      if (c != std::string::npos) port = hostport.substr(c + 2);
    } else if (hostport.find(':') != std::string::npos) {
      host = hostport.substr(0, hostport.find(':'));
      port = hostport.substr(hostport.find(':') + 1);
    }
    e.target.connect_host = host;
    e.target.port = port;
    e.target.server_name = host;
  } else {
    std::string ns = str(cc, {"service", "namespace"}), name = str(cc, {"service", "name"});
    int port =
        at(cc, {"service", "port"}).is_number_integer() ? cc["service"]["port"].get<int>() : 443;
    e.path = str(cc, {"service", "path"});
    if (e.path.empty()) e.path = "/";
    e.url = "https://" + name + "." + ns + ".svc:" + std::to_string(port) + e.path + query;
    auto t = resolveService(registry, ns, name, port);
    if (!t) return Error(t.error().code(), "Post \"" + e.url + "\": " + t.error().message());
    e.target = std::move(*t);
  }
  std::string ca = str(cc, {"caBundle"});
  if (!ca.empty()) {
    auto pem = base64Decode(ca);
    if (!pem) return Error(ErrorCode::Invalid, "invalid caBundle: " + pem.error().message());
    e.target.ca_pem = std::move(*pem);
  }
  return e;
}

}  // namespace

Result<https::HttpsTarget> resolveService(api::Registry& registry, const std::string& ns,
                                          const std::string& name, int port) {
  auto svc = registry.get(*api::findResource("", "v1", "services"), ns, name);
  if (!svc) return Error(ErrorCode::NotFound, "service \"" + name + "\" not found");
  SKIFF_ASSIGN_OR_RETURN(auto sp, servicePort(*svc, port));
  https::HttpsTarget t;
  t.server_name = name + "." + ns + ".svc";
  std::string type = str(*svc, {"spec", "type"});
  if (type == "ExternalName") {
    t.connect_host = str(*svc, {"spec", "externalName"});
    t.port = std::to_string(port);
    return t;
  }
  auto eps = registry.get(*api::findResource("", "v1", "endpoints"), ns, name);
  const json& subsets = eps ? at(*eps, {"subsets"}) : json();
  for (const auto& s : subsets.is_array() ? subsets : json::array()) {
    const json& addrs = at(s, {"addresses"});
    if (!addrs.is_array() || addrs.empty()) continue;
    for (const auto& p : s.value("ports", json::array())) {
      bool same = p.value("name", "") == sp.first;
      if (!same) continue;
      t.connect_host = addrs[0].value("ip", "");
      t.port = std::to_string(p.value("port", 0));
      return t;
    }
  }
  return Error(ErrorCode::Unavailable, "no endpoints available for service \"" + name + "\"");
}

Result<std::string> postReview(api::Registry& registry, const json& client_config, int timeout_s,
                               bool timeout_in_url, const json& review) {
  SKIFF_ASSIGN_OR_RETURN(Endpoint ep,
                         endpointOf(registry, client_config, timeout_s, timeout_in_url));
  std::size_t q = ep.url.find('?');
  std::string target = ep.path + (q == std::string::npos ? "" : ep.url.substr(q));
  auto reply = https::httpsRequest(ep.target, "POST", target, review.dump(), "application/json",
                                   std::chrono::seconds(timeout_s));
  if (!reply)
    return Error(reply.error().code(), "Post \"" + ep.url + "\": " + reply.error().message());
  if (reply->status < 200 || reply->status >= 300) {
    std::string body = reply->body.substr(0, 256);
    return Error(ErrorCode::Internal, "an error on the server (\"" + body +
                                          "\") has prevented the request from succeeding");
  }
  return std::move(reply->body);
}

Result<json> callWebhook(api::Registry& registry, const json& spec, const json& request) {
  int timeout_s =
      at(spec, {"timeoutSeconds"}).is_number_integer() ? spec["timeoutSeconds"].get<int>() : 10;
  json review = {
      {"apiVersion", "admission.k8s.io/v1"}, {"kind", "AdmissionReview"}, {"request", request}};
  auto body = postReview(registry, at(spec, {"clientConfig"}), timeout_s, true, review);
  if (!body) return Error(body.error().code(), "failed to call webhook: " + body.error().message());
  json answer = json::parse(*body, nullptr, false);
  if (answer.is_discarded() || !answer.is_object())
    return Error(ErrorCode::Internal,
                 "received invalid webhook response: the response is not JSON");
  if (answer.value("kind", "") != "AdmissionReview" ||
      answer.value("apiVersion", "") != "admission.k8s.io/v1")
    return Error(
        ErrorCode::Internal,
        "received invalid webhook response: expected webhook response of admission.k8s.io/v1, "
        "Kind=AdmissionReview, got " +
            answer.value("apiVersion", "") + ", Kind=" + answer.value("kind", ""));
  const json& response = at(answer, {"response"});
  if (!response.is_object())
    return Error(ErrorCode::Internal,
                 "received invalid webhook response: webhook response was absent");
  std::string uid = str(response, {"uid"}), want = str(request, {"uid"});
  if (uid != want)
    return Error(ErrorCode::Internal,
                 "received invalid webhook response: expected response.uid=\"" + want +
                     "\", got \"" + uid + "\"");
  return response;
}

}  // namespace skiff::master::admission::webhook
