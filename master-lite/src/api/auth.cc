#include "skiff/master/api/auth.h"

#include <algorithm>
#include <sstream>

#include "skiff/common/base64.h"
#include "skiff/master/api/object_util.h"

namespace skiff::master::api {
namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
  std::size_t b = s.find_first_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b);
}

// CSV fields, with "double quoted" fields that may contain commas.
std::vector<std::string> csv(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  for (char c : line) {
    if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      out.push_back(trim(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(trim(cur));
  return out;
}

Error unauthorized() { return Error(ErrorCode::Unauthorized, "Unauthorized"); }

bool allowed(const std::vector<std::string>& verbs, const std::string& v) {
  return std::find(verbs.begin(), verbs.end(), v) != verbs.end();
}

const std::vector<std::string> kRead{"get", "list", "watch"};

// Node authorizer: may the node read this secret/configmap/serviceaccount/pvc? Only when a pod
// bound to it references the object.
bool podOnNodeReferences(Registry& reg, const std::string& node, const std::string& ns,
                         const std::string& kind, const std::string& name) {
  Selection sel;
  sel.field_selector = "spec.nodeName=" + node;
  auto pods = reg.list(*findResource("", "v1", "pods"), ns, sel);
  if (!pods) return false;
  for (const auto& pod : (*pods)["items"]) {
    const json& spec = pod.value("spec", json::object());
    if (kind == "serviceaccounts" && spec.value("serviceAccountName", "") == name) return true;
    std::string text = spec.dump();
    // Volumes, envFrom and env valueFrom all name the object; a textual check of the exact
    // reference shapes keeps this small.
    if (kind == "secrets") {
      if (text.find("\"secretName\":\"" + name + "\"") != std::string::npos) return true;
      if (text.find("\"secretRef\":{\"name\":\"" + name + "\"") != std::string::npos) return true;
      if (text.find("\"secretKeyRef\":{\"key\"") != std::string::npos &&
          text.find("\"name\":\"" + name + "\"") != std::string::npos)
        return true;
      for (const auto& s : spec.value("imagePullSecrets", json::array())) {
        if (s.value("name", "") == name) return true;
      }
    }
    if (kind == "configmaps") {
      if (text.find("\"configMap\":{") != std::string::npos &&
          text.find("\"name\":\"" + name + "\"") != std::string::npos)
        return true;
      if (text.find("\"configMapRef\":{\"name\":\"" + name + "\"") != std::string::npos)
        return true;
      if (text.find("\"configMapKeyRef\":{") != std::string::npos &&
          text.find("\"name\":\"" + name + "\"") != std::string::npos)
        return true;
    }
    if (kind == "persistentvolumeclaims" &&
        text.find("\"claimName\":\"" + name + "\"") != std::string::npos)
      return true;
  }
  return false;
}

}  // namespace

Result<std::map<std::string, TokenEntry>> parseTokenFile(const std::string& text) {
  std::map<std::string, TokenEntry> out;
  std::istringstream in(text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    auto f = csv(line);
    if (f.size() < 3 || f[0].empty() || f[1].empty()) {
      return Error(ErrorCode::Invalid, "token file line " + std::to_string(n) +
                                           ": want token,user,uid[,\"group1,group2\"]");
    }
    TokenEntry e{{f[1], {}}, f[2]};
    if (f.size() > 3) {
      std::string g;
      std::istringstream gs(f[3]);
      while (std::getline(gs, g, ',')) {
        g = trim(g);
        if (!g.empty()) e.user.groups.push_back(g);
      }
    }
    e.user.groups.push_back("system:authenticated");
    out[f[0]] = e;
  }
  return out;
}

Result<UserInfo> Authenticator::authenticateToken(const std::string& token) {
  if (auto it = tokens_.find(token); it != tokens_.end()) return it->second.user;
  // Bootstrap token "abcdef.0123456789abcdef" -> secret kube-system/bootstrap-token-abcdef.
  auto dot = token.find('.');
  if (dot != 6 || token.size() != 23) return unauthorized();
  std::string id = token.substr(0, 6), secret = token.substr(7);
  for (char c : token) {
    if (c != '.' && !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return unauthorized();
  }
  auto s =
      registry_.get(*findResource("", "v1", "secrets"), "kube-system", "bootstrap-token-" + id);
  if (!s) return unauthorized();
  const json& data = s->value("data", json::object());
  auto field = [&](const char* k) {
    return data.contains(k) && data[k].is_string()
               ? base64Decode(data[k].get<std::string>()).value_or("")
               : std::string();
  };
  if (s->value("type", "") != "bootstrap.kubernetes.io/token") return unauthorized();
  if (field("token-id") != id || field("token-secret") != secret) return unauthorized();
  if (field("usage-bootstrap-authentication") != "true") return unauthorized();
  std::string exp = field("expiration");
  if (!exp.empty() && parseTime(exp) < Clock::now()) return unauthorized();
  if (!str(*s, {"metadata", "deletionTimestamp"}).empty()) return unauthorized();
  UserInfo u{"system:bootstrap:" + id, {"system:bootstrappers", "system:authenticated"}};
  std::string extra = field("auth-extra-groups");
  std::istringstream gs(extra);
  std::string g;
  while (std::getline(gs, g, ',')) {
    if (g.rfind("system:bootstrappers:", 0) == 0) u.groups.push_back(g);
  }
  return u;
}

Result<void> authorize(Registry& reg, const UserInfo& user, const RequestAttributes& a) {
  if (user.inGroup("system:masters")) return ok();
  bool authenticated = user.inGroup("system:authenticated") || !user.name.empty();
  if (!a.resource) {
    // Non-resource URLs: health, version and discovery for everyone authenticated
    // (system:discovery, system:public-info-viewer); health and version for anyone.
    const std::string& p = a.path;
    bool pub = p == "/healthz" || p == "/livez" || p == "/readyz" || p == "/version" ||
               p.rfind("/healthz/", 0) == 0 || p.rfind("/livez/", 0) == 0 ||
               p.rfind("/readyz/", 0) == 0;
    if (pub || (authenticated && (p == "/api" || p.rfind("/api/", 0) == 0 || p == "/apis" ||
                                  p.rfind("/apis/", 0) == 0 || p.rfind("/openapi", 0) == 0))) {
      return ok();
    }
  } else {
    const std::string& res = a.resource->resource;
    const std::string& g = a.resource->group;
    const std::string& v = a.verb;
    if (user.inGroup("system:nodes") && user.name.rfind("system:node:", 0) == 0) {
      std::string node = user.name.substr(12);
      // The Node authorizer + NodeRestriction admission, simplified to the same outcomes.
      if (g.empty() && (res == "services" || res == "endpoints" || res == "namespaces") &&
          allowed(kRead, v))
        return ok();
      if (g == "discovery.k8s.io" && res == "endpointslices" && allowed(kRead, v)) return ok();
      if (g.empty() && res == "nodes") {
        if (allowed(kRead, v)) return ok();
        if ((v == "create" || v == "update" || v == "patch") && (a.name.empty() || a.name == node))
          return ok();
      }
      if (g.empty() && res == "pods") {
        if (allowed(kRead, v) && a.subresource.empty()) return ok();
        if ((v == "update" || v == "patch") && a.subresource == "status") {
          auto pod = reg.get(*a.resource, a.ns, a.name);
          if (pod && str(*pod, {"spec", "nodeName"}) == node) return ok();
        }
        if (v == "delete" && a.subresource.empty()) {
          auto pod = reg.get(*a.resource, a.ns, a.name);
          if (pod && str(*pod, {"spec", "nodeName"}) == node) return ok();
        }
        if (v == "create" && a.subresource.empty()) return ok();  // static (mirror) pods
      }
      if (g.empty() && res == "events" && (v == "create" || v == "update" || v == "patch"))
        return ok();
      if (g == "events.k8s.io" && res == "events" &&
          (v == "create" || v == "update" || v == "patch"))
        return ok();
      if (g == "coordination.k8s.io" && res == "leases" && a.ns == "kube-node-lease" &&
          (a.name == node || a.name.empty()) &&
          (v == "get" || v == "create" || v == "update" || v == "patch" || v == "delete")) {
        return ok();
      }
      if (g == "certificates.k8s.io" && res == "certificatesigningrequests" &&
          (v == "create" || v == "get" || v == "list" || v == "watch")) {
        return ok();
      }
      if (g.empty() &&
          (res == "secrets" || res == "configmaps" || res == "serviceaccounts" ||
           res == "persistentvolumeclaims") &&
          v == "get" && podOnNodeReferences(reg, node, a.ns, res, a.name)) {
        return ok();
      }
    }
    if (user.inGroup("system:bootstrappers") && g == "certificates.k8s.io" &&
        res == "certificatesigningrequests" &&
        (v == "create" || v == "get" || v == "list" || v == "watch")) {
      return ok();
    }
  }
  std::string who = user.name.empty() ? "system:anonymous" : user.name;
  if (!a.resource) {
    return Error(ErrorCode::Forbidden,
                 "forbidden: User \"" + who + "\" cannot " + a.verb + " path \"" + a.path + "\"");
  }
  std::string res = a.resource->resource + (a.subresource.empty() ? "" : "/" + a.subresource);
  std::string subject = a.name.empty()
                            ? a.resource->qualifiedResource() + " is forbidden"
                            : a.resource->qualifiedResource() + " \"" + a.name + "\" is forbidden";
  std::string msg = subject + ": User \"" + who + "\" cannot " + a.verb + " resource \"" + res +
                    "\" in API group \"" + a.resource->group + "\"";
  if (a.resource->namespaced && !a.ns.empty())
    msg += " in the namespace \"" + a.ns + "\"";
  else if (!a.resource->namespaced)
    msg += " at the cluster scope";
  return Error(ErrorCode::Forbidden, msg);
}

}  // namespace skiff::master::api
