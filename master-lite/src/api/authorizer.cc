// Authorization: the Node authorizer's rules, then RBAC (authorizer.h).
#include "skiff/master/api/authorizer.h"

#include <algorithm>
#include <set>

#include "skiff/master/api/object_util.h"
#include "skiff/master/rbac/policy_index.h"
#include "skiff/master/volume/volume.h"

namespace skiff::master::api {
namespace {

bool allowed(const std::vector<std::string>& verbs, const std::string& v) {
  return std::find(verbs.begin(), verbs.end(), v) != verbs.end();
}

const std::vector<std::string> kRead{"get", "list", "watch"};

// The secrets or configmaps a pod spec names, as upstream's VisitPodSecretNames and
// VisitPodConfigmapNames walk it: image pull secrets, every container's env and envFrom, and the
// volume sources (projected sources included).
void addName(std::set<std::string>& out, const json& ref, const char* field = "name") {
  if (ref.is_object() && ref.contains(field) && ref[field].is_string())
    out.insert(ref[field].get<std::string>());
}

std::set<std::string> referencedNames(const json& spec, bool secrets) {
  std::set<std::string> out;
  const char* from_ref = secrets ? "secretRef" : "configMapRef";
  const char* key_ref = secrets ? "secretKeyRef" : "configMapKeyRef";
  if (secrets) {
    for (const auto& s : spec.value("imagePullSecrets", json::array())) addName(out, s);
  }
  for (const char* list : {"initContainers", "containers", "ephemeralContainers"}) {
    for (const auto& c : spec.value(list, json::array())) {
      for (const auto& e : c.value("envFrom", json::array()))
        addName(out, e.value(from_ref, json()));
      for (const auto& e : c.value("env", json::array()))
        addName(out, at(e, {"valueFrom", key_ref}));
    }
  }
  for (const auto& v : spec.value("volumes", json::array())) {
    if (!v.is_object()) continue;
    if (!secrets) {
      addName(out, v.value("configMap", json()));
      for (const auto& src : at(v, {"projected", "sources"}))
        addName(out, src.value("configMap", json()));
      continue;
    }
    addName(out, v.value("secret", json()), "secretName");
    addName(out, v.value("azureFile", json()), "secretName");
    for (const char* plugin :
         {"cephfs", "cinder", "flexVolume", "rbd", "scaleIO", "iscsi", "storageos"})
      addName(out, at(v, {plugin, "secretRef"}));
    addName(out, at(v, {"csi", "nodePublishSecretRef"}));
    for (const auto& src : at(v, {"projected", "sources"}))
      addName(out, src.value("secret", json()));
  }
  return out;
}

// Node authorizer: may the node read this secret/configmap/serviceaccount/pvc? Only when a pod
// bound to it references the object (upstream's node graph, evaluated on demand).
bool podOnNodeReferences(Registry& reg, const std::string& node, const std::string& ns,
                         const std::string& kind, const std::string& name) {
  Selection sel;
  sel.field_selector = "spec.nodeName=" + node;
  auto pods = reg.list(*findResource("", "v1", "pods"), ns, sel);
  if (!pods) return false;
  for (const auto& pod : (*pods)["items"]) {
    const json& spec = pod.value("spec", json::object());
    if (kind == "serviceaccounts" && spec.value("serviceAccountName", "") == name) return true;
    if ((kind == "secrets" || kind == "configmaps") &&
        referencedNames(spec, kind == "secrets").count(name))
      return true;
    if (kind != "persistentvolumeclaims") continue;
    for (const auto& v : spec.value("volumes", json::array())) {
      if (at(v, {"persistentVolumeClaim", "claimName"}) == name) return true;
      // A generic ephemeral volume's claim is <pod>-<volume>.
      if (v.contains("ephemeral") &&
          str(pod, {"metadata", "name"}) + "-" + v.value("name", "") == name)
        return true;
    }
  }
  return false;
}

// A PersistentVolume made by the built-in provisioner for `node` (kubernetes.io/hostname In
// [node]) and Released: the only kind a node may delete.
bool localPathVolumeOf(Registry& reg, const std::string& node, const std::string& name) {
  auto pv = reg.get(*findResource("", "v1", "persistentvolumes"), "", name);
  if (!pv || str(*pv, {"metadata", "annotations", volume::kAnnProvisionedBy}) !=
                 volume::kLocalPathProvisioner)
    return false;
  if (str(*pv, {"status", "phase"}) != "Released") return false;
  for (const auto& t : at(*pv, {"spec", "nodeAffinity", "required", "nodeSelectorTerms"})) {
    for (const auto& e : t.value("matchExpressions", json::array())) {
      if (e.value("key", "") == "kubernetes.io/hostname" && e.value("operator", "") == "In" &&
          e.value("values", json::array()) == json::array({node}))
        return true;
    }
  }
  return false;
}

// The Node authorizer (plugin/pkg/auth/authorizer/node) with NodeRestriction's outcomes: a node
// reads services, endpoints and its pods' secrets/configmaps/serviceaccounts/claims, writes its
// own Node, Lease, pod status and events, creates CSRs and mirror pods.
bool nodeAllows(Registry& reg, const std::string& node, const rbac::Attributes& a) {
  if (!a.resource_request) return false;
  const std::string& res = a.resource;
  const std::string& g = a.api_group;
  const std::string& v = a.verb;
  const ResourceInfo* pods = findResource("", "v1", "pods");
  if (g.empty() && (res == "services" || res == "endpoints" || res == "namespaces") &&
      allowed(kRead, v))
    return true;
  if (g == "discovery.k8s.io" && res == "endpointslices" && allowed(kRead, v)) return true;
  if (g.empty() && res == "nodes") {
    if (allowed(kRead, v)) return true;
    if ((v == "create" || v == "update" || v == "patch") && (a.name.empty() || a.name == node))
      return true;
  }
  if (g.empty() && res == "pods") {
    if (allowed(kRead, v) && a.subresource.empty()) return true;
    bool status_write = (v == "update" || v == "patch") && a.subresource == "status";
    bool del = v == "delete" && a.subresource.empty();
    if (status_write || del) {
      auto pod = reg.get(*pods, a.ns, a.name);
      if (pod && str(*pod, {"spec", "nodeName"}) == node) return true;
    }
    if (v == "create" && a.subresource.empty()) return true;  // static (mirror) pods
  }
  if ((g.empty() || g == "events.k8s.io") && res == "events" &&
      (v == "create" || v == "update" || v == "patch"))
    return true;
  if (g == "coordination.k8s.io" && res == "leases" && a.ns == "kube-node-lease" &&
      (a.name == node || a.name.empty()) &&
      (v == "get" || v == "create" || v == "update" || v == "patch" || v == "delete")) {
    return true;
  }
  if (g == "certificates.k8s.io" && res == "certificatesigningrequests" && a.subresource.empty() &&
      (v == "create" || v == "get" || v == "list" || v == "watch")) {
    return true;
  }
  // PersistentVolumes: a node reads them (its pods' claims resolve to them; upstream allows get
  // of those only, skiff also list/watch so the agent finds the local-path volumes it must
  // reclaim) and deletes a Released local-path volume pinned to itself once its directory is
  // gone (local_storage.h).
  if (g.empty() && res == "persistentvolumes") {
    if (allowed(kRead, v)) return true;
    if (v == "delete" && localPathVolumeOf(reg, node, a.name)) return true;
  }
  // TokenRequest for the ServiceAccount of a pod on this node (NodeRestriction checks the bound
  // pod in the registry).
  if (g.empty() && res == "serviceaccounts" && a.subresource == "token" && v == "create" &&
      podOnNodeReferences(reg, node, a.ns, res, a.name))
    return true;
  return g.empty() &&
         (res == "secrets" || res == "configmaps" || res == "serviceaccounts" ||
          res == "persistentvolumeclaims") &&
         v == "get" && podOnNodeReferences(reg, node, a.ns, res, a.name);
}

}  // namespace

rbac::Attributes attributesOf(const UserInfo& user, const RequestAttributes& a) {
  rbac::Attributes out;
  out.user = user.name;
  out.verb = a.verb;
  out.resource_request = a.resource != nullptr;
  if (a.resource) {
    out.api_group = a.resource->group;
    out.resource = a.resource->resource;
  }
  out.subresource = a.subresource;
  out.ns = a.ns;
  out.name = a.name;
  out.path = a.path;
  return out;
}

AuthzDecision authorizeAttributes(Registry& reg, const UserInfo& user, const rbac::Attributes& a) {
  // kube-apiserver puts a privileged-group authorizer for system:masters before the chain, so
  // the cluster's admins are never locked out by an edited or deleted cluster-admin binding.
  if (user.inGroup("system:masters")) return {true, ""};
  std::string reasons;
  for (const std::string& mode : reg.authorizationModes()) {
    if (mode == "AlwaysAllow") return {true, ""};
    if (mode == "AlwaysDeny") {
      reasons += (reasons.empty() ? "" : "\n") + std::string("Everything is forbidden.");
    } else if (mode == "Node") {
      if (user.inGroup("system:nodes") && user.name.rfind("system:node:", 0) == 0 &&
          nodeAllows(reg, user.name.substr(12), a))
        return {true, ""};
    } else if (mode == "RBAC") {
      rbac::Decision d = reg.policy().authorize({user.name, user.groups}, a);
      if (d.allowed) return {true, d.reason};
      if (!d.reason.empty()) reasons += (reasons.empty() ? "" : "\n") + d.reason;
    }
  }
  return {false, reasons};
}

Error forbidden(const UserInfo& user, const rbac::Attributes& a, const std::string& reason) {
  std::string who = user.name;
  std::string msg;
  if (!a.resource_request) {
    msg = "forbidden: User \"" + who + "\" cannot " + a.verb + " path \"" + a.path + "\"";
  } else {
    std::string qualified = a.api_group.empty() ? a.resource : a.resource + "." + a.api_group;
    std::string res = a.resource + (a.subresource.empty() ? "" : "/" + a.subresource);
    msg = (a.name.empty() ? qualified : qualified + " \"" + a.name + "\"") +
          " is forbidden: User \"" + who + "\" cannot " + a.verb + " resource \"" + res +
          "\" in API group \"" + a.api_group + "\"" +
          (a.ns.empty() ? " at the cluster scope" : " in the namespace \"" + a.ns + "\"");
  }
  if (!reason.empty()) msg += ": " + reason;
  return Error(ErrorCode::Forbidden, msg);
}

Result<void> authorize(Registry& reg, const UserInfo& user, const RequestAttributes& a) {
  rbac::Attributes attrs = attributesOf(user, a);
  AuthzDecision d = authorizeAttributes(reg, user, attrs);
  if (d.allowed) return ok();
  return forbidden(user, attrs, d.reason);
}

}  // namespace skiff::master::api
