#include "skiff/master/api/discovery.h"

#include "skiff/master/api/resources.h"

namespace skiff::master::api {
namespace {

using json = nlohmann::json;

json gvJson(const std::string& group, const std::string& version) {
  return {{"groupVersion", group.empty() ? version : group + "/" + version}, {"version", version}};
}

}  // namespace

json apiVersions(const std::string& server_address) {
  return {{"kind", "APIVersions"},
          {"versions", json::array({"v1"})},
          {"serverAddressByClientCIDRs",
           json::array({{{"clientCIDR", "0.0.0.0/0"}, {"serverAddress", server_address}}})}};
}

json apiGroup(const std::string& group) {
  for (const auto& g : servedGroups()) {
    if (g.name != group || g.name.empty()) continue;
    json versions = json::array();
    for (const auto& v : g.versions) versions.push_back(gvJson(g.name, v));
    return {{"kind", "APIGroup"},
            {"apiVersion", "v1"},
            {"name", g.name},
            {"versions", versions},
            {"preferredVersion", gvJson(g.name, g.versions.front())}};
  }
  return json();
}

json apiGroupList() {
  json groups = json::array();
  for (const auto& g : servedGroups()) {
    if (g.name.empty()) continue;
    json a = apiGroup(g.name);
    a.erase("kind");
    a.erase("apiVersion");
    groups.push_back(a);
  }
  return {{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", groups}};
}

json apiResourceList(const std::string& group, const std::string& version) {
  json resources = json::array();
  bool any = false;
  for (const ResourceInfo* rp : servedResources()) {
    const ResourceInfo& r = *rp;
    if (r.group != group || r.version != version) continue;
    any = true;
    json e = {{"name", r.resource},
              {"singularName", r.singular},
              {"namespaced", r.namespaced},
              {"kind", r.kind},
              {"verbs", r.servedVerbs()}};
    if (!r.short_names.empty()) e["shortNames"] = r.short_names;
    if (!r.categories.empty()) e["categories"] = r.categories;
    resources.push_back(e);
    for (const auto& s : r.subresources) {
      json se = {{"name", r.resource + "/" + s.name},
                 {"singularName", ""},
                 {"namespaced", r.namespaced},
                 {"kind", s.kind},
                 {"verbs", s.verbs}};
      if (s.group != r.group || s.version != r.version) {
        se["group"] = s.group;
        se["version"] = s.version;
      }
      resources.push_back(se);
    }
  }
  if (!any) return json();
  return {{"kind", "APIResourceList"},
          {"apiVersion", "v1"},
          {"groupVersion", group.empty() ? version : group + "/" + version},
          {"resources", resources}};
}

json aggregatedDiscovery(bool core, const std::string& version) {
  json items = json::array();
  for (const auto& g : servedGroups()) {
    if (core != g.name.empty()) continue;
    json versions = json::array();
    for (const auto& v : g.versions) {
      json resources = json::array();
      for (const ResourceInfo* rp : servedResources()) {
        const ResourceInfo& r = *rp;
        if (r.group != g.name || r.version != v) continue;
        json e = {{"resource", r.resource},
                  {"responseKind", {{"group", r.group}, {"version", r.version}, {"kind", r.kind}}},
                  {"scope", r.namespaced ? "Namespaced" : "Cluster"},
                  {"singularResource", r.singular},
                  {"verbs", r.servedVerbs()}};
        if (!r.short_names.empty()) e["shortNames"] = r.short_names;
        if (!r.categories.empty()) e["categories"] = r.categories;
        json subs = json::array();
        for (const auto& s : r.subresources) {
          subs.push_back(
              {{"subresource", s.name},
               {"responseKind", {{"group", s.group}, {"version", s.version}, {"kind", s.kind}}},
               {"verbs", s.verbs}});
        }
        if (!subs.empty()) e["subresources"] = subs;
        resources.push_back(e);
      }
      versions.push_back({{"version", v}, {"freshness", "Current"}, {"resources", resources}});
    }
    items.push_back({{"metadata", {{"name", g.name}}}, {"versions", versions}});
  }
  return {{"kind", "APIGroupDiscoveryList"},
          {"apiVersion", "apidiscovery.k8s.io/" + version},
          {"metadata", json::object()},
          {"items", items}};
}

std::string aggregatedDiscoveryVersion(const std::string& accept) {
  // Media ranges in the client's order; the first aggregated one we serve wins.
  std::size_t pos = 0;
  while (pos <= accept.size()) {
    std::size_t comma = accept.find(',', pos);
    std::string range =
        accept.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    if (range.find("g=apidiscovery.k8s.io") != std::string::npos &&
        range.find("as=APIGroupDiscoveryList") != std::string::npos) {
      if (range.find("v=v2beta1") != std::string::npos) return "v2beta1";
      if (range.find("v=v2") != std::string::npos) return "v2";
    }
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return "";
}

}  // namespace skiff::master::api
