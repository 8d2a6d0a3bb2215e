// Non-resource paths: health, version, discovery and OpenAPI (reference/kube-api-surface.md
// §1-§2). Authentication and authorization happen in Handler::handle before these run.
#include <map>

#include "handler_internal.h"
#include "skiff/common/build_info.h"
#include "skiff/common/version.h"
#include "skiff/master/api/discovery.h"
#include "skiff/master/openapi/openapi.h"

namespace skiff::master::api::handler {
namespace {

struct NonResourceRequest {
  const std::string& path;  // without a trailing '/'
  const std::vector<std::string>& seg;
  const std::string& accept;
  const HandlerOptions& options;
};

using NonResourceFn = HttpResponse (*)(const NonResourceRequest&);

HttpResponse serveHealth(const NonResourceRequest&) { return textResponse(200, "ok"); }

HttpResponse serveReadyz(const NonResourceRequest& rq) {
  bool ready = !rq.options.ready || rq.options.ready();
  return textResponse(ready ? 200 : 500,
                      ready ? "ok" : "[-]skiff-ready failed: not ready yet\nreadyz check failed");
}

HttpResponse serveVersion(const NonResourceRequest&) {
  return jsonResponse(200, {{"major", "1"},
                            {"minor", std::to_string(kKubeMinor)},
                            {"gitVersion", kKubeVersion},
                            {"gitCommit", kGitCommit},
                            {"gitTreeState", "clean"},
                            {"buildDate", "2025-01-01T00:00:00Z"},
                            {"goVersion", "go1.23.4"},
                            {"compiler", "gc"},
                            {"platform", "linux/amd64"}});
}

// /api and /apis: aggregated discovery when the client asks for it, else the legacy lists.
HttpResponse serveDiscoveryRoot(const NonResourceRequest& rq) {
  const bool core = rq.path == "/api";
  std::string v = aggregatedDiscoveryVersion(rq.accept);
  if (!v.empty()) {
    HttpResponse r = jsonResponse(200, aggregatedDiscovery(core, v));
    r.content_type = "application/json;g=apidiscovery.k8s.io;v=" + v + ";as=APIGroupDiscoveryList";
    r.headers.emplace_back("Vary", "Accept");
    return r;
  }
  HttpResponse r =
      jsonResponse(200, core ? apiVersions(rq.options.server_address) : apiGroupList());
  r.headers.emplace_back("Vary", "Accept");
  return r;
}

// The group-versions with a document (skiff/master/openapi/openapi.h).
HttpResponse serveOpenApiV3(const NonResourceRequest&) {
  return jsonResponse(200, openapi::v3Index());
}

// /openapi/v3/api/v1, /openapi/v3/apis/<group>/<version>
HttpResponse serveOpenApiV3Document(const NonResourceRequest& rq) {
  auto doc = openapi::v3Document(rq.path.substr(std::string_view("/openapi/v3/").size()));
  if (!doc) return notFoundPath();
  HttpResponse r;
  r.status = 200;
  r.body = doc->body;
  r.headers.emplace_back("Etag", "\"" + doc->hash + "\"");
  return r;
}

HttpResponse serveOpenApiV2(const NonResourceRequest& rq) {
  // JSON unless protobuf is asked for, as kube-apiserver: a client sending no Accept or */* gets
  // JSON. See reference §2 for why the protobuf Content-Type has no '@'.
  HttpResponse r;
  r.status = 200;
  if (rq.accept.find("protobuf") == std::string::npos) {
    r.body = openapi::v2Json();
    return r;
  }
  r.content_type = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";
  r.body = openapi::v2ProtobufDocument();
  return r;
}

// ServiceAccount issuer discovery (OIDC): the document and the key set other systems verify
// the cluster's ServiceAccount tokens with.
HttpResponse serveOpenIdConfiguration(const NonResourceRequest& rq) {
  const auto& tokens = rq.options.service_account_tokens;
  if (!tokens) return notFoundPath();
  return jsonResponse(200, tokens->openidConfiguration(rq.options.jwks_uri));
}

HttpResponse serveJwks(const NonResourceRequest& rq) {
  const auto& tokens = rq.options.service_account_tokens;
  if (!tokens) return notFoundPath();
  HttpResponse r = jsonResponse(200, tokens->jwks());
  r.content_type = "application/jwk-set+json";
  return r;
}

const std::map<std::string, NonResourceFn>& exactPaths() {
  static const std::map<std::string, NonResourceFn> paths = {
      {"/healthz", serveHealth},
      {"/livez", serveHealth},
      {"/healthz/ping", serveHealth},
      {"/livez/ping", serveHealth},
      {"/readyz", serveReadyz},
      {"/version", serveVersion},
      {"/api", serveDiscoveryRoot},
      {"/apis", serveDiscoveryRoot},
      {"/openapi/v3", serveOpenApiV3},
      {"/openapi/v2", serveOpenApiV2},
      {"/.well-known/openid-configuration", serveOpenIdConfiguration},
      {"/openid/v1/jwks", serveJwks},
  };
  return paths;
}

// /api/<v>, /apis/<g>, /apis/<g>/<v>: 404 for a group or version this server does not serve.
HttpResponse serveGroupDiscovery(const std::vector<std::string>& seg) {
  json doc;
  if (seg.size() == 2 && seg[0] == "api") {
    doc = apiResourceList("", seg[1]);
  } else if (seg.size() == 2 && seg[0] == "apis") {
    doc = apiGroup(seg[1]);
  } else if (seg.size() == 3 && seg[0] == "apis") {
    doc = apiResourceList(seg[1], seg[2]);
  }
  return doc.is_null() ? notFoundPath() : jsonResponse(200, doc);
}

}  // namespace

HttpResponse serveNonResource(const std::string& path, const std::vector<std::string>& seg,
                              const std::string& accept, const HandlerOptions& options) {
  NonResourceRequest rq{path, seg, accept, options};
  if (auto it = exactPaths().find(path); it != exactPaths().end()) return it->second(rq);
  if (path.rfind("/readyz/", 0) == 0) return serveReadyz(rq);
  if (path.rfind("/openapi/v3/", 0) == 0) return serveOpenApiV3Document(rq);
  return serveGroupDiscovery(seg);
}

}  // namespace skiff::master::api::handler
