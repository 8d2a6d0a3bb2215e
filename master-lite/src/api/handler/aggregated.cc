// Requests for group-versions served through an APIService (HandlerOptions::aggregator):
// /apis/<group> answered here, /apis/<group>/<version>[/...] authorized as the resource it
// names and proxied to the backend; /apis (both the legacy list and aggregated discovery)
// gets the aggregated groups merged in.
#include "handler_internal.h"
#include "skiff/master/api/object_util.h"

namespace skiff::master::api::handler {
namespace {

json gvJson(const std::string& group, const std::string& version) {
  return {{"groupVersion", group + "/" + version}, {"version", version}};
}

json apiGroupOf(const GroupInfo& g) {
  json versions = json::array();
  for (const auto& v : g.versions) versions.push_back(gvJson(g.name, v));
  return {{"name", g.name},
          {"versions", versions},
          {"preferredVersion", gvJson(g.name, g.versions.front())}};
}

// APIResourceList -> the resources of an aggregated discovery version entry.
json discoveryResources(const std::string& group, const std::string& version, const json& list) {
  json out = json::array();
  std::map<std::string, json> subs;
  for (const auto& r : list.value("resources", json::array())) {
    std::string name = r.value("name", "");
    auto slash = name.find('/');
    if (slash == std::string::npos) continue;
    subs[name.substr(0, slash)].push_back({{"subresource", name.substr(slash + 1)},
                                           {"responseKind",
                                            {{"group", r.value("group", group)},
                                             {"version", r.value("version", version)},
                                             {"kind", r.value("kind", "")}}},
                                           {"verbs", r.value("verbs", json::array())}});
  }
  for (const auto& r : list.value("resources", json::array())) {
    std::string name = r.value("name", "");
    if (name.empty() || name.find('/') != std::string::npos) continue;
    json e = {
        {"resource", name},
        {"responseKind", {{"group", group}, {"version", version}, {"kind", r.value("kind", "")}}},
        {"scope", r.value("namespaced", false) ? "Namespaced" : "Cluster"},
        {"singularResource", r.value("singularName", "")},
        {"verbs", r.value("verbs", json::array())}};
    if (r.contains("shortNames")) e["shortNames"] = r["shortNames"];
    if (r.contains("categories")) e["categories"] = r["categories"];
    if (subs.count(name)) e["subresources"] = subs[name];
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace

std::optional<HttpResponse> serveAggregated(Registry& registry, const HandlerOptions& options,
                                            const HttpRequest& req,
                                            const std::vector<std::string>& seg,
                                            const UserInfo& user, bool authenticated) {
  ApiAggregator* agg = options.aggregator.get();
  if (!agg || seg.size() < 2 || seg[0] != "apis") return std::nullopt;
  const std::string& group = seg[1];
  if (seg.size() == 2) {
    for (const auto& g : agg->groups()) {
      if (g.name != group) continue;
      json doc = apiGroupOf(g);
      doc["kind"] = "APIGroup";
      doc["apiVersion"] = "v1";
      return jsonResponse(200, doc);
    }
    return std::nullopt;
  }
  const std::string& version = seg[2];
  if (!agg->serves(group, version)) return std::nullopt;
  if (!authenticated) return errorResponse(Error(ErrorCode::Unauthorized, "Unauthorized"));
  // Authorized as the resource the path names (RequestInfo), or as the discovery path.
  std::string path = req.target.substr(0, req.target.find('?'));
  RequestAttributes a;
  a.path = path;
  ResourceInfo info;
  std::vector<std::string> rest(seg.begin() + 3, seg.end());
  if (!rest.empty()) {
    info.group = group;
    info.version = version;
    if (rest.size() >= 3 && rest[0] == "namespaces") {
      a.ns = rest[1];
      rest.erase(rest.begin(), rest.begin() + 2);
    }
    info.resource = rest[0];
    if (rest.size() >= 2) a.name = rest[1];
    if (rest.size() >= 3) a.subresource = rest[2];
    Route rt;
    rt.name = a.name;
    bool watch = req.target.find("watch=true") != std::string::npos ||
                 req.target.find("watch=1") != std::string::npos;
    a.verb = verbFor(req.method, rt, watch);
    a.resource = &info;
  } else {
    a.verb = "get";
  }
  auto az = authorize(registry, user, a);
  if (!az) return errorResponse(az.error());
  return agg->proxy(req, group, version, user);
}

void mergeAggregatedDiscovery(const HandlerOptions& options, const std::string& accept,
                              HttpResponse& resp) {
  ApiAggregator* agg = options.aggregator.get();
  if (!agg || resp.status != 200) return;
  auto groups = agg->groups();
  if (groups.empty()) return;
  json doc = json::parse(resp.body, nullptr, false);
  if (!doc.is_object()) return;
  bool aggregated = accept.find("apidiscovery.k8s.io") != std::string::npos &&
                    doc.value("kind", "") == "APIGroupDiscoveryList";
  for (const auto& g : groups) {
    if (!aggregated) {
      doc["groups"].push_back(apiGroupOf(g));
      continue;
    }
    json versions = json::array();
    for (const auto& v : g.versions) {
      json list = agg->resourceList(g.name, v);
      versions.push_back(
          {{"version", v},
           {"freshness", list.is_null() ? "Stale" : "Current"},
           {"resources", list.is_null() ? json::array() : discoveryResources(g.name, v, list)}});
    }
    doc["items"].push_back({{"metadata", {{"name", g.name}}}, {"versions", versions}});
  }
  resp.body = doc.dump();
}

}  // namespace skiff::master::api::handler
