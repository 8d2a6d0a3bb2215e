// Authorization: system:masters, the Node authorizer's rules, bootstrappers' CSRs, discovery.
#include "skiff/master/api/authorizer.h"

#include <algorithm>

#include "skiff/master/api/object_util.h"

namespace skiff::master::api {
namespace {

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
    // system:service-account-issuer-discovery: ServiceAccounts read the issuer documents.
    if ((p == "/.well-known/openid-configuration" || p == "/openid/v1/jwks") &&
        user.inGroup("system:serviceaccounts"))
      return ok();
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
      // TokenRequest for the ServiceAccount of a pod on this node (NodeRestriction checks
      // the bound pod in the registry).
      if (g.empty() && res == "serviceaccounts" && a.subresource == "token" && v == "create" &&
          podOnNodeReferences(reg, node, a.ns, res, a.name))
        return ok();
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
