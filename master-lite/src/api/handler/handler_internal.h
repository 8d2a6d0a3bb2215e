#pragma once

// The pieces of the REST handler shared by its translation units: the parsed route, the query,
// response helpers, and the per-request context every verb handler receives. The flow is
// Handler::handle (handler.cc: authenticate, route, authorize, dispatch) -> one function per
// verb (read.cc: get/list/watch; write.cc: create/update/patch/delete/deletecollection;
// node_proxy.cc: pods/log|exec|attach|portforward) or a non-resource path (non_resource.cc).

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "skiff/master/api/authenticator.h"
#include "skiff/master/api/authorizer.h"
#include "skiff/master/api/handler.h"
#include "skiff/master/api/registry.h"
#include "skiff/master/api/tables.h"

namespace skiff::master::api::handler {

using Query = std::multimap<std::string, std::string>;

// The first value of a query parameter, "" when absent.
std::string q(const Query& query, const std::string& k);
// "true" or "1" (any case).
bool qbool(const Query& query, const std::string& k);
// a=b&c=d, percent-decoded ("+" is a space).
Query parseQuery(const std::string& query_string);

HttpResponse jsonResponse(int status, const json& body);
HttpResponse textResponse(int status, const std::string& body);
// The 404 Status for a path no route serves.
HttpResponse notFoundPath();
// 405 for a method the resource does not support.
HttpResponse methodNotAllowed(const std::string& verb, const ResourceInfo& r);
HttpResponse tableResponse(const json& table);
bool wantsTable(const std::string& accept);
// Every media range of `accept` asks for a conversion (as=Table, as=PartialObjectMetadata): the
// client takes no plain object.
bool acceptsOnlyConversions(const std::string& accept);
// 406 NotAcceptable, kube-apiserver's negotiation error.
HttpResponse notAcceptable();
TableObject includeObject(const Query& query);

// A request path parsed once: /api/v1/..., /apis/<g>/<v>/... name a resource (and optionally a
// namespace, name and subresource); everything else is a non-resource path.
struct Route {
  bool resource = false;  // under /api/<v>/ or /apis/<g>/<v>/ with at least one more segment
  std::string group, version;
  const ResourceInfo* info = nullptr;  // null when unknown
  std::string ns, name, subresource;
  bool legacy_watch = false;  // /api/v1/watch/...
  bool unknown = false;       // a resource path no resource serves
};

std::vector<std::string> splitPath(const std::string& path);
Route parseRoute(const std::vector<std::string>& seg);
// The Kubernetes verb for a method on a route: get list watch create update patch delete
// deletecollection; "" when the method is not one of the REST methods.
std::string verbFor(const std::string& method, const Route& r, bool watch);

// APIService aggregation (aggregated.cc): the response for a path under an aggregated
// group-version (nullopt: not one), and the aggregated groups merged into an /apis answer.
std::optional<HttpResponse> serveAggregated(Registry& registry, const HandlerOptions& options,
                                            const HttpRequest& req,
                                            const std::vector<std::string>& seg,
                                            const UserInfo& user, bool authenticated);
void mergeAggregatedDiscovery(const HandlerOptions& options, const std::string& accept,
                              HttpResponse& resp);

// Serves /healthz, /livez, /readyz, /version, discovery (/api, /apis, /api/<v>,
// /apis/<g>[/<v>]) and /openapi/v2|v3; 404 for any other path.
HttpResponse serveNonResource(const std::string& path, const std::vector<std::string>& seg,
                              const std::string& accept, const HandlerOptions& options);

// One authorized request on a resource: what every verb handler needs.
struct ResourceRequest {
  const HttpRequest& req;
  const Route& rt;
  const ResourceInfo& r;
  const Query& query;
  const UserInfo& user;
  RequestAttributes attrs;
  Registry& registry;
  const HandlerOptions& options;
  WriteOptions wopts;
  std::string validation;                                     // ?fieldValidation=
  Selection sel;                                              // list, watch, deletecollection
  bool table = false;                                         // Accept asks for a Table
  std::vector<std::pair<std::string, std::string>> warnings;  // Warning headers

  // Adds the Warning headers collected so far.
  HttpResponse finish(HttpResponse resp) const;
  // The Status response for `e`, naming the route's object.
  HttpResponse fail(const Error& e) const;
  // The request body as JSON for a write (size limit, media type, strict field validation).
  Result<json> body(bool allow_empty);
  // An object, or its one-row Table when the client asked for one.
  HttpResponse respondObject(int code, const json& obj) const;
};

// The verb handlers (read.cc, write.cc).
HttpResponse serveGet(ResourceRequest& rq);
HttpResponse serveList(ResourceRequest& rq);
HttpResponse serveWatch(ResourceRequest& rq);
HttpResponse serveCreate(ResourceRequest& rq);
HttpResponse serveUpdate(ResourceRequest& rq);
HttpResponse servePatch(ResourceRequest& rq);
HttpResponse serveDelete(ResourceRequest& rq);
HttpResponse serveDeleteCollection(ResourceRequest& rq);

// pods/log, exec, attach, portforward: answered with a ProxyTarget on the node's agent
// (node_proxy.cc). True when the route is one of them.
bool isNodeProxy(const Route& rt);
HttpResponse serveNodeProxy(ResourceRequest& rq);
// The agent of a node: its address and kubelet port (node_proxy.cc).
Result<ProxyTarget> agentOf(Registry& registry, const std::string& node);

// pods|services|nodes/<id>/proxy[/<path>]: relayed to a pod, an endpoint of the Service, or the
// node (proxy_subresource.cc), as kube-apiserver's ProxyREST storages do.
bool isProxySubresource(const Route& rt);
HttpResponse serveProxySubresource(ResourceRequest& rq);

}  // namespace skiff::master::api::handler
