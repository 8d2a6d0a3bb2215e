// The bootstrap RBAC policy as data: kube-apiserver v1.32's default ClusterRoles, Roles and
// bindings (plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go, namespace_policy.go),
// and the kubeadm-style bindings skiff's node join relies on. Generated-table style: one entry
// per object, rules in upstream's order.
#include "skiff/master/rbac/bootstrap_policy.h"

#include <initializer_list>

namespace skiff::master::rbac {
namespace {

using json = nlohmann::json;
using L = std::vector<std::string>;

const L kRead{"get", "list", "watch"};
const L kWrite{"create", "update", "patch", "delete", "deletecollection"};
const L kReadWrite{"get",    "list",  "watch",  "create",
                   "update", "patch", "delete", "deletecollection"};
const L kReadUpdate{"get", "list", "watch", "update", "patch"};

const char* kRbacGroup = "rbac.authorization.k8s.io";
const char* kAggAdmin = "rbac.authorization.k8s.io/aggregate-to-admin";
const char* kAggEdit = "rbac.authorization.k8s.io/aggregate-to-edit";
const char* kAggView = "rbac.authorization.k8s.io/aggregate-to-view";

json rule(const L& verbs, const L& groups, const L& resources, const L& names = {}) {
  json r = {{"verbs", verbs}, {"apiGroups", groups}, {"resources", resources}};
  if (!names.empty()) r["resourceNames"] = names;
  return r;
}

json urls(const L& verbs, const L& paths) { return {{"verbs", verbs}, {"nonResourceURLs", paths}}; }

json eventsRule() { return rule({"create", "update", "patch"}, {"", "events.k8s.io"}, {"events"}); }

json meta(const std::string& name, json labels, bool defaults) {
  json m = {{"name", name}};
  if (defaults) {
    labels["kubernetes.io/bootstrapping"] = "rbac-defaults";
    m["annotations"] = {{"rbac.authorization.kubernetes.io/autoupdate", "true"}};
  }
  if (!labels.empty()) m["labels"] = labels;
  return m;
}

json clusterRole(const std::string& name, json rules, json labels = json::object()) {
  return {{"apiVersion", "rbac.authorization.k8s.io/v1"},
          {"kind", "ClusterRole"},
          {"metadata", meta(name, std::move(labels), true)},
          {"rules", std::move(rules)}};
}

json aggregated(const std::string& name, const char* selector_label, json labels) {
  json role = clusterRole(name, json::array(), std::move(labels));
  role["aggregationRule"] = {
      {"clusterRoleSelectors", json::array({{{"matchLabels", {{selector_label, "true"}}}}})}};
  return role;
}

json subject(const std::string& kind, const std::string& name, const std::string& ns = "") {
  json s = {{"kind", kind}, {"name", name}};
  if (kind == "ServiceAccount")
    s["namespace"] = ns;
  else
    s["apiGroup"] = kRbacGroup;
  return s;
}

json binding(const std::string& kind, const std::string& name, const std::string& role_kind,
             const std::string& role, json subjects, bool defaults = true) {
  json b = {{"apiVersion", "rbac.authorization.k8s.io/v1"},
            {"kind", kind},
            {"metadata", meta(name, json::object(), defaults)},
            {"roleRef", {{"apiGroup", kRbacGroup}, {"kind", role_kind}, {"name", role}}}};
  if (!subjects.empty()) b["subjects"] = std::move(subjects);
  return b;
}

json crb(const std::string& name, json subjects, bool defaults = true) {
  return binding("ClusterRoleBinding", name, "ClusterRole", name, std::move(subjects), defaults);
}

json group(const std::string& n) { return subject("Group", n); }
json user(const std::string& n) { return subject("User", n); }

void aggregateToRoles(std::vector<json>& v);
void componentRoles(std::vector<json>& v);
void controlPlaneRoles(std::vector<json>& v);

std::vector<json> clusterRoles() {
  std::vector<json> v;
  v.push_back(
      clusterRole("cluster-admin", json::array({rule({"*"}, {"*"}, {"*"}), urls({"*"}, {"*"})})));
  v.push_back(clusterRole(
      "system:discovery",
      json::array(
          {urls({"get"}, {"/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi",
                          "/openapi/*", "/readyz", "/version", "/version/"})})));
  v.push_back(clusterRole(
      "system:monitoring",
      json::array({urls({"get"}, {"/metrics", "/metrics/slis", "/livez", "/readyz", "/healthz",
                                  "/livez/*", "/readyz/*", "/healthz/*"})})));
  v.push_back(clusterRole(
      "system:basic-user",
      json::array({rule({"create"}, {"authorization.k8s.io"},
                        {"selfsubjectaccessreviews", "selfsubjectrulesreviews"}),
                   rule({"create"}, {"authentication.k8s.io"}, {"selfsubjectreviews"})})));
  v.push_back(clusterRole(
      "system:public-info-viewer",
      json::array({urls({"get"}, {"/healthz", "/livez", "/readyz", "/version", "/version/"})})));
  v.push_back(aggregated("admin", kAggAdmin, json::object()));
  v.push_back(aggregated("edit", kAggEdit, {{kAggAdmin, "true"}}));
  v.push_back(aggregated("view", kAggView, {{kAggEdit, "true"}}));
  aggregateToRoles(v);
  componentRoles(v);
  return v;
}

// What admin, edit and view aggregate (policy.go's system:aggregate-to-*).
void aggregateToRoles(std::vector<json>& v) {
  v.push_back(clusterRole(
      "system:aggregate-to-admin",
      json::array({rule({"create"}, {"authorization.k8s.io"}, {"localsubjectaccessreviews"}),
                   rule(kReadWrite, {kRbacGroup}, {"rolebindings", "roles"})}),
      {{kAggAdmin, "true"}}));
  v.push_back(clusterRole(
      "system:aggregate-to-edit",
      json::array(
          {rule({"impersonate"}, {""}, {"serviceaccounts"}),
           rule(kWrite, {""},
                {"pods", "pods/attach", "pods/proxy", "pods/exec", "pods/portforward"}),
           rule({"create"}, {""}, {"pods/eviction"}),
           rule(kWrite, {""},
                {"replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts",
                 "services", "services/proxy", "persistentvolumeclaims", "configmaps", "secrets",
                 "events"}),
           rule({"create"}, {""}, {"serviceaccounts/token"}),
           rule(kWrite, {"apps"},
                {"statefulsets", "statefulsets/scale", "daemonsets", "deployments",
                 "deployments/scale", "deployments/rollback", "replicasets", "replicasets/scale"}),
           rule(kWrite, {"autoscaling"}, {"horizontalpodautoscalers"}),
           rule(kWrite, {"batch"}, {"jobs", "cronjobs"}),
           rule(kWrite, {"extensions"},
                {"daemonsets", "deployments", "deployments/scale", "deployments/rollback",
                 "ingresses", "replicasets", "replicasets/scale", "replicationcontrollers/scale",
                 "networkpolicies"}),
           rule(kWrite, {"policy"}, {"poddisruptionbudgets"}),
           rule(kWrite, {"networking.k8s.io"}, {"networkpolicies", "ingresses"}),
           rule(kReadWrite, {"coordination.k8s.io"}, {"leases"})}),
      {{kAggEdit, "true"}}));
  v.push_back(clusterRole(
      "system:aggregate-to-view",
      json::array(
          {rule(kRead, {""},
                {"pods", "replicationcontrollers", "replicationcontrollers/scale",
                 "serviceaccounts", "services", "services/status", "endpoints",
                 "persistentvolumeclaims", "persistentvolumeclaims/status", "configmaps"}),
           rule(kRead, {""},
                {"limitranges", "resourcequotas", "bindings", "events", "pods/status",
                 "resourcequotas/status", "namespaces/status", "replicationcontrollers/status",
                 "pods/log"}),
           rule(kRead, {""}, {"namespaces"}), rule(kRead, {"discovery.k8s.io"}, {"endpointslices"}),
           rule(kRead, {"apps"},
                {"controllerrevisions", "statefulsets", "statefulsets/status", "statefulsets/scale",
                 "daemonsets", "daemonsets/status", "deployments", "deployments/status",
                 "deployments/scale", "replicasets", "replicasets/status", "replicasets/scale"}),
           rule(kRead, {"autoscaling"},
                {"horizontalpodautoscalers", "horizontalpodautoscalers/status"}),
           rule(kRead, {"batch"}, {"jobs", "cronjobs", "cronjobs/status", "jobs/status"}),
           rule(kRead, {"extensions"},
                {"daemonsets", "daemonsets/status", "deployments", "deployments/scale",
                 "deployments/status", "ingresses", "ingresses/status", "replicasets",
                 "replicasets/scale", "replicasets/status", "replicationcontrollers/scale",
                 "networkpolicies"}),
           rule(kRead, {"policy"}, {"poddisruptionbudgets", "poddisruptionbudgets/status"}),
           rule(kRead, {"networking.k8s.io"},
                {"networkpolicies", "ingresses", "ingresses/status"})}),
      {{kAggView, "true"}}));
}

// The components' roles: nodes, kube-proxy, DNS, bootstrappers, auth delegation.
void componentRoles(std::vector<json>& v) {
  v.push_back(clusterRole("system:heapster",
                          json::array({rule(kRead, {""}, {"events", "pods", "nodes", "namespaces"}),
                                       rule(kRead, {"extensions"}, {"deployments"})})));
  v.push_back(clusterRole(
      "system:node",
      json::array(
          {rule({"create"}, {"authentication.k8s.io"}, {"tokenreviews"}),
           rule({"create"}, {"authorization.k8s.io"},
                {"subjectaccessreviews", "localsubjectaccessreviews"}),
           rule(kRead, {""}, {"services"}),
           rule({"create", "get", "list", "watch"}, {""}, {"nodes"}),
           rule({"update", "patch"}, {""}, {"nodes/status"}),
           rule({"update", "patch"}, {""}, {"nodes"}),
           eventsRule(),
           rule(kRead, {""}, {"pods"}),
           rule({"create", "delete"}, {""}, {"pods"}),
           rule({"update", "patch"}, {""}, {"pods/status"}),
           rule({"create"}, {""}, {"pods/eviction"}),
           rule({"get"}, {""}, {"secrets", "configmaps"}),
           rule({"get"}, {""}, {"persistentvolumeclaims", "persistentvolumes"}),
           rule({"get"}, {""}, {"endpoints"}),
           rule({"create", "get", "list", "watch"}, {"certificates.k8s.io"},
                {"certificatesigningrequests"}),
           rule({"update", "patch"}, {""}, {"persistentvolumeclaims/status"}),
           rule({"get"}, {"storage.k8s.io"}, {"volumeattachments"}),
           rule({"create"}, {""}, {"serviceaccounts/token"}),
           rule(kRead, {"storage.k8s.io"}, {"csidrivers"}),
           rule({"get", "create", "update", "patch", "delete"}, {"storage.k8s.io"}, {"csinodes"}),
           rule({"get", "create", "update", "patch", "delete"}, {"coordination.k8s.io"},
                {"leases"}),
           rule(kRead, {"node.k8s.io"}, {"runtimeclasses"})})));
  v.push_back(clusterRole(
      "system:node-proxier",
      json::array({rule({"list", "watch"}, {""}, {"services", "endpoints"}),
                   rule({"get", "list", "watch"}, {""}, {"nodes"}), eventsRule(),
                   rule({"list", "watch"}, {"discovery.k8s.io"}, {"endpointslices"})})));
  v.push_back(clusterRole(
      "system:kube-dns",
      json::array({rule({"list", "watch"}, {""}, {"endpoints", "services"}),
                   rule({"list", "watch"}, {"discovery.k8s.io"}, {"endpointslices"})})));
  v.push_back(
      clusterRole("system:node-bootstrapper",
                  json::array({rule({"create", "get", "list", "watch"}, {"certificates.k8s.io"},
                                    {"certificatesigningrequests"})})));
  v.push_back(clusterRole(
      "system:auth-delegator",
      json::array({rule({"create"}, {"authentication.k8s.io"}, {"tokenreviews"}),
                   rule({"create"}, {"authorization.k8s.io"}, {"subjectaccessreviews"})})));
  controlPlaneRoles(v);
}

// The control plane's roles: controller manager, scheduler, issuer discovery, CSR signers.
void controlPlaneRoles(std::vector<json>& v) {
  v.push_back(clusterRole(
      "system:kube-controller-manager",
      json::array({eventsRule(), rule({"create"}, {"coordination.k8s.io"}, {"leases"}),
                   rule({"get", "update"}, {"coordination.k8s.io"}, {"leases"},
                        {"kube-controller-manager"}),
                   rule({"create"}, {""}, {"endpoints"}),
                   rule({"get", "update"}, {""}, {"endpoints"}, {"kube-controller-manager"}),
                   rule({"create"}, {""}, {"secrets", "serviceaccounts"}),
                   rule({"delete"}, {""}, {"secrets"}),
                   rule({"get"}, {""}, {"configmaps", "namespaces", "secrets", "serviceaccounts"}),
                   rule({"update"}, {""}, {"secrets", "serviceaccounts"}),
                   rule({"create"}, {"authentication.k8s.io"}, {"tokenreviews"}),
                   rule({"create"}, {"authorization.k8s.io"}, {"subjectaccessreviews"}),
                   rule({"list", "watch"}, {"*"}, {"*"}),
                   rule({"create"}, {""}, {"serviceaccounts/token"})})));
  v.push_back(clusterRole(
      "system:kube-scheduler",
      json::array({eventsRule(),
                   rule({"create"}, {"coordination.k8s.io"}, {"leases"}),
                   rule({"get", "update"}, {"coordination.k8s.io"}, {"leases"}, {"kube-scheduler"}),
                   rule({"create"}, {""}, {"endpoints"}),
                   rule({"get", "update"}, {""}, {"endpoints"}, {"kube-scheduler"}),
                   rule(kRead, {""}, {"nodes"}),
                   rule({"get", "list", "watch", "delete"}, {""}, {"pods"}),
                   rule({"create"}, {""}, {"pods/binding", "bindings"}),
                   rule({"patch", "update"}, {""}, {"pods/status"}),
                   rule(kRead, {""}, {"replicationcontrollers", "services"}),
                   rule(kRead, {"apps", "extensions"}, {"replicasets"}),
                   rule(kRead, {"apps"}, {"statefulsets"}),
                   rule(kRead, {"policy"}, {"poddisruptionbudgets"}),
                   rule(kRead, {""}, {"persistentvolumeclaims", "persistentvolumes"}),
                   rule({"create"}, {"authentication.k8s.io"}, {"tokenreviews"}),
                   rule({"create"}, {"authorization.k8s.io"}, {"subjectaccessreviews"}),
                   rule(kRead, {"storage.k8s.io"}, {"csinodes"}),
                   rule(kRead, {""}, {"namespaces"}),
                   rule(kRead, {"storage.k8s.io"}, {"csidrivers"}),
                   rule(kRead, {"storage.k8s.io"}, {"csistoragecapacities"})})));
  v.push_back(clusterRole("system:volume-scheduler",
                          json::array({rule(kReadUpdate, {""}, {"persistentvolumes"}),
                                       rule(kRead, {"storage.k8s.io"}, {"storageclasses"}),
                                       rule(kReadUpdate, {""}, {"persistentvolumeclaims"})})));
  v.push_back(clusterRole("system:service-account-issuer-discovery",
                          json::array({urls({"get"}, {"/.well-known/openid-configuration",
                                                      "/.well-known/openid-configuration/",
                                                      "/openid/v1/jwks", "/openid/v1/jwks/"})})));
  const std::string csr = "system:certificates.k8s.io:";
  v.push_back(clusterRole(csr + "certificatesigningrequests:nodeclient",
                          json::array({rule({"create"}, {"certificates.k8s.io"},
                                            {"certificatesigningrequests/nodeclient"})})));
  v.push_back(clusterRole(csr + "certificatesigningrequests:selfnodeclient",
                          json::array({rule({"create"}, {"certificates.k8s.io"},
                                            {"certificatesigningrequests/selfnodeclient"})})));
  for (const char* signer : {"kube-apiserver-client", "kube-apiserver-client-kubelet",
                             "kubelet-serving", "legacy-unknown"}) {
    v.push_back(clusterRole(csr + signer + "-approver",
                            json::array({rule({"approve"}, {"certificates.k8s.io"}, {"signers"},
                                              {std::string("kubernetes.io/") + signer})})));
  }
}

std::vector<json> clusterRoleBindings() {
  std::vector<json> v;
  v.push_back(crb("cluster-admin", json::array({group("system:masters")})));
  v.push_back(crb("system:monitoring", json::array({group("system:monitoring")})));
  v.push_back(crb("system:discovery", json::array({group("system:authenticated")})));
  v.push_back(crb("system:basic-user", json::array({group("system:authenticated")})));
  v.push_back(crb("system:public-info-viewer",
                  json::array({group("system:authenticated"), group("system:unauthenticated")})));
  v.push_back(crb("system:node-proxier", json::array({user("system:kube-proxy")})));
  v.push_back(
      crb("system:kube-controller-manager", json::array({user("system:kube-controller-manager")})));
  v.push_back(
      crb("system:kube-dns", json::array({subject("ServiceAccount", "kube-dns", "kube-system")})));
  v.push_back(crb("system:kube-scheduler", json::array({user("system:kube-scheduler")})));
  v.push_back(crb("system:volume-scheduler", json::array({user("system:kube-scheduler")})));
  v.push_back(crb("system:node", json::array()));
  v.push_back(crb("system:service-account-issuer-discovery",
                  json::array({group("system:serviceaccounts")})));
  // kubeadm's join bindings (kubeadm:kubelet-bootstrap, kubeadm:node-autoapprove-bootstrap,
  // kubeadm:node-autoapprove-certificate-rotation), for skiff's bootstrap tokens
  // (group system:bootstrappers) and nodes renewing their client certificates.
  const std::string csr = "system:certificates.k8s.io:certificatesigningrequests:";
  v.push_back(binding("ClusterRoleBinding", "skiff:kubelet-bootstrap", "ClusterRole",
                      "system:node-bootstrapper", json::array({group("system:bootstrappers")}),
                      false));
  v.push_back(binding("ClusterRoleBinding", "skiff:node-autoapprove-bootstrap", "ClusterRole",
                      csr + "nodeclient", json::array({group("system:bootstrappers")}), false));
  v.push_back(binding("ClusterRoleBinding", "skiff:node-autoapprove-certificate-rotation",
                      "ClusterRole", csr + "selfnodeclient", json::array({group("system:nodes")}),
                      false));
  return v;
}

json nsRole(const std::string& ns, const std::string& name, json rules) {
  return {{"apiVersion", "rbac.authorization.k8s.io/v1"},
          {"kind", "Role"},
          {"metadata",
           [&] {
             json m = meta(name, json::object(), true);
             m["namespace"] = ns;
             return m;
           }()},
          {"rules", std::move(rules)}};
}

json nsBinding(const std::string& ns, const std::string& name, json subjects) {
  json b = binding("RoleBinding", name, "Role", name, std::move(subjects));
  b["metadata"]["namespace"] = ns;
  return b;
}

}  // namespace

const BootstrapPolicy& bootstrapPolicy() {
  static const BootstrapPolicy p = [] {
    BootstrapPolicy out;
    out.cluster_roles = clusterRoles();
    out.cluster_role_bindings = clusterRoleBindings();
    appendControllerPolicy(out);
    const std::string ks = "kube-system";
    out.roles.push_back(nsRole(ks, "extension-apiserver-authentication-reader",
                               json::array({rule({"get", "list", "watch"}, {""}, {"configmaps"},
                                                 {"extension-apiserver-authentication"})})));
    for (const char* who : {"kube-controller-manager", "kube-scheduler"}) {
      std::string name = std::string("system::leader-locking-") + who;
      out.roles.push_back(
          nsRole(ks, name,
                 json::array({rule({"watch"}, {""}, {"configmaps"}),
                              rule({"get", "update"}, {""}, {"configmaps"}, {who})})));
      out.role_bindings.push_back(
          nsBinding(ks, name, json::array({user(std::string("system:") + who)})));
    }
    return out;
  }();
  return p;
}

}  // namespace skiff::master::rbac
