// The route table: a request path parsed once into a Route (group, version, namespace,
// resource, name, subresource) and a method mapped to its Kubernetes verb
// (reference/kube-api-surface.md §0-§1).
#include <algorithm>

#include "handler_internal.h"

namespace skiff::master::api {

std::string urlDecode(const std::string& s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else if (s[i] == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

namespace handler {

std::string q(const Query& query, const std::string& k) {
  auto it = query.find(k);
  return it == query.end() ? "" : it->second;
}

bool qbool(const Query& query, const std::string& k) {
  std::string v = q(query, k);
  std::transform(v.begin(), v.end(), v.begin(), ::tolower);
  return v == "true" || v == "1";
}

Query parseQuery(const std::string& query_string) {
  Query query;
  std::size_t pos = 0;
  while (pos < query_string.size()) {
    std::size_t amp = query_string.find('&', pos);
    if (amp == std::string::npos) amp = query_string.size();
    std::string kv = query_string.substr(pos, amp - pos);
    auto eq = kv.find('=');
    if (!kv.empty()) {
      query.emplace(urlDecode(kv.substr(0, eq), true),
                    eq == std::string::npos ? "" : urlDecode(kv.substr(eq + 1), true));
    }
    pos = amp + 1;
  }
  return query;
}

std::vector<std::string> splitPath(const std::string& path) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    std::size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) out.push_back(urlDecode(path.substr(i, j - i), false));
    i = j;
  }
  return out;
}

// /api/v1/..., /apis/<g>/<v>/... -> resource route.
Route parseRoute(const std::vector<std::string>& seg) {
  Route r;
  std::size_t i;
  if (seg.size() >= 2 && seg[0] == "api") {
    r.group = "";
    r.version = seg[1];
    i = 2;
  } else if (seg.size() >= 3 && seg[0] == "apis") {
    r.group = seg[1];
    r.version = seg[2];
    i = 3;
  } else {
    return r;
  }
  if (i >= seg.size()) return r;
  r.resource = true;
  std::vector<std::string> rest(seg.begin() + static_cast<long>(i), seg.end());
  if (!rest.empty() && rest[0] == "watch") {
    r.legacy_watch = true;
    rest.erase(rest.begin());
  }
  if (rest.size() >= 3 && rest[0] == "namespaces") {
    const ResourceInfo* nsinfo = findResource(r.group, r.version, "namespaces");
    if (nsinfo && rest.size() == 3 && nsinfo->hasSubresource(rest[2])) {
      r.info = nsinfo;
      r.name = rest[1];
      r.subresource = rest[2];
      return r;
    }
    r.ns = rest[1];
    rest.erase(rest.begin(), rest.begin() + 2);
  }
  // .../<name>/proxy/<path...>: the proxy subresources take the rest of the path.
  bool proxy_path = rest.size() > 3 && rest[2] == "proxy";
  if (rest.empty() || (rest.size() > 3 && !proxy_path)) {
    r.unknown = true;
    return r;
  }
  r.info = findResource(r.group, r.version, rest[0]);
  if (!r.info) {
    r.unknown = true;
    return r;
  }
  if (rest.size() >= 2) r.name = rest[1];
  if (rest.size() >= 3) r.subresource = rest[2];
  if (proxy_path && !r.info->hasSubresource("proxy")) r.unknown = true;
  if (!r.info->namespaced && !r.ns.empty()) r.unknown = true;
  return r;
}

std::string verbFor(const std::string& method, const Route& r, bool watch) {
  if (method == "GET" || (method == "HEAD" && r.subresource == "proxy")) {
    if (!r.name.empty()) return "get";
    return watch ? "watch" : "list";
  }
  if (method == "POST") return "create";
  if (method == "PUT") return "update";
  if (method == "PATCH") return "patch";
  if (method == "DELETE") return r.name.empty() ? "deletecollection" : "delete";
  return "";
}

}  // namespace handler
}  // namespace skiff::master::api
