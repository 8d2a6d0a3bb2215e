// The controllers' bootstrap roles: kube-apiserver v1.32's system:controller:<name> ClusterRoles
// and their bindings to ServiceAccount kube-system/<name>
// (plugin/pkg/auth/authorizer/rbac/bootstrappolicy/controller_policy.go), for the controllers
// skiff-master runs with --use-service-account-credentials semantics. Generated-table style:
// one entry per controller, rules in upstream's order.
#include <utility>

#include "skiff/master/rbac/bootstrap_policy.h"

namespace skiff::master::rbac {
namespace {

using json = nlohmann::json;
using L = std::vector<std::string>;

const char* kPrefix = "system:controller:";

json rule(const L& verbs, const L& groups, const L& resources, const L& names = {}) {
  json r = {{"verbs", verbs}, {"apiGroups", groups}, {"resources", resources}};
  if (!names.empty()) r["resourceNames"] = names;
  return r;
}

json eventsRule() { return rule({"create", "update", "patch"}, {"", "events.k8s.io"}, {"events"}); }

json defaultsMeta(const std::string& name) {
  return {{"name", name},
          {"labels", {{"kubernetes.io/bootstrapping", "rbac-defaults"}}},
          {"annotations", {{"rbac.authorization.kubernetes.io/autoupdate", "true"}}}};
}

struct ControllerRole {
  std::string name;  // the ServiceAccount's name; the role is system:controller:<name>
  json rules;
  // Whether skiff-master runs this controller (and so needs its ServiceAccount). kube-apiserver
  // creates every role and binding whatever the controller manager runs; the ServiceAccounts
  // come from the controllers that act with them.
  bool runs = true;
};

std::vector<ControllerRole> workloadRoles() {
  const std::string apps = "apps", ext = "extensions", batch = "batch";
  std::vector<ControllerRole> v;
  v.push_back({"cronjob-controller",
               json::array({rule({"get", "list", "watch", "update"}, {batch}, {"cronjobs"}),
                            rule({"get", "list", "watch", "create", "update", "delete", "patch"},
                                 {batch}, {"jobs"}),
                            rule({"update"}, {batch}, {"cronjobs/status"}),
                            rule({"update"}, {batch}, {"cronjobs/finalizers"}),
                            rule({"list", "delete"}, {""}, {"pods"}), eventsRule()})});
  v.push_back({"daemon-set-controller",
               json::array({rule({"get", "list", "watch"}, {ext, apps}, {"daemonsets"}),
                            rule({"update"}, {ext, apps}, {"daemonsets/status"}),
                            rule({"update"}, {ext, apps}, {"daemonsets/finalizers"}),
                            rule({"list", "watch"}, {""}, {"nodes"}),
                            rule({"list", "watch", "create", "delete", "patch"}, {""}, {"pods"}),
                            rule({"create"}, {""}, {"pods/binding"}),
                            rule({"get", "list", "watch", "create", "delete", "update", "patch"},
                                 {apps}, {"controllerrevisions"}),
                            eventsRule()})});
  v.push_back(
      {"deployment-controller",
       json::array({rule({"get", "list", "watch", "update"}, {ext, apps}, {"deployments"}),
                    rule({"update"}, {ext, apps}, {"deployments/status"}),
                    rule({"update"}, {ext, apps}, {"deployments/finalizers"}),
                    rule({"get", "list", "watch", "create", "update", "patch", "delete"},
                         {apps, ext}, {"replicasets"}),
                    rule({"get", "list", "watch", "update"}, {""}, {"pods"}), eventsRule()})});
  v.push_back({"disruption-controller",
               json::array({rule({"get", "list", "watch"}, {ext, apps}, {"deployments"}),
                            rule({"get", "list", "watch"}, {apps, ext}, {"replicasets"}),
                            rule({"get", "list", "watch"}, {""}, {"replicationcontrollers"}),
                            rule({"get", "list", "watch"}, {"policy"}, {"poddisruptionbudgets"}),
                            rule({"get", "list", "watch"}, {apps}, {"statefulsets"}),
                            rule({"update"}, {"policy"}, {"poddisruptionbudgets/status"}),
                            rule({"patch", "update"}, {""}, {"pods/status"}),
                            rule({"get"}, {"*"}, {"*/scale"}), eventsRule()})});
  v.push_back(
      {"horizontal-pod-autoscaler",
       json::array({rule({"get", "list", "watch"}, {"autoscaling"}, {"horizontalpodautoscalers"}),
                    rule({"update"}, {"autoscaling"}, {"horizontalpodautoscalers/status"}),
                    rule({"get", "update"}, {"*"}, {"*/scale"}), rule({"list"}, {""}, {"pods"}),
                    rule({"list"}, {"metrics.k8s.io"}, {"pods"}),
                    rule({"get", "list"}, {"custom.metrics.k8s.io"}, {"*"}),
                    rule({"get", "list"}, {"external.metrics.k8s.io"}, {"*"}), eventsRule()})});
  v.push_back({"job-controller",
               json::array({rule({"get", "list", "watch", "update", "patch"}, {batch}, {"jobs"}),
                            rule({"update"}, {batch}, {"jobs/status"}),
                            rule({"update"}, {batch}, {"jobs/finalizers"}),
                            rule({"list", "watch", "create", "delete", "patch"}, {""}, {"pods"}),
                            eventsRule()})});
  v.push_back({"replicaset-controller",
               json::array({rule({"get", "list", "watch", "update"}, {apps, ext}, {"replicasets"}),
                            rule({"update"}, {apps, ext}, {"replicasets/status"}),
                            rule({"update"}, {apps, ext}, {"replicasets/finalizers"}),
                            rule({"list", "watch", "patch", "create", "delete"}, {""}, {"pods"}),
                            eventsRule()})});
  v.push_back(
      {"replication-controller",
       json::array({rule({"get", "list", "watch", "update"}, {""}, {"replicationcontrollers"}),
                    rule({"update"}, {""}, {"replicationcontrollers/status"}),
                    rule({"update"}, {""}, {"replicationcontrollers/finalizers"}),
                    rule({"list", "watch", "patch", "create", "delete"}, {""}, {"pods"}),
                    eventsRule()})});
  v.push_back({"statefulset-controller",
               json::array({rule({"list", "watch"}, {""}, {"pods"}),
                            rule({"get", "list", "watch"}, {apps}, {"statefulsets"}),
                            rule({"update"}, {apps}, {"statefulsets/status"}),
                            rule({"update"}, {apps}, {"statefulsets/finalizers"}),
                            rule({"get", "create", "delete", "update", "patch"}, {""}, {"pods"}),
                            rule({"get", "create", "delete", "update", "patch", "list", "watch"},
                                 {apps}, {"controllerrevisions"}),
                            rule({"get", "create"}, {""}, {"persistentvolumeclaims"}), eventsRule(),
                            rule({"update", "delete"}, {""}, {"persistentvolumeclaims"})})});
  v.push_back(
      {"ttl-after-finished-controller",
       json::array({rule({"get", "list", "watch", "delete"}, {batch}, {"jobs"}), eventsRule()})});
  return v;
}

std::vector<ControllerRole> clusterRoles() {
  std::vector<ControllerRole> v;
  v.push_back(
      {"certificate-controller",
       json::array(
           {rule({"get", "list", "watch", "delete"}, {"certificates.k8s.io"},
                 {"certificatesigningrequests"}),
            rule({"update"}, {"certificates.k8s.io"},
                 {"certificatesigningrequests/status", "certificatesigningrequests/approval"}),
            rule({"approve"}, {"certificates.k8s.io"}, {"signers"},
                 {"kubernetes.io/kube-apiserver-client-kubelet"}),
            rule({"sign"}, {"certificates.k8s.io"}, {"signers"},
                 {"kubernetes.io/legacy-unknown", "kubernetes.io/kube-apiserver-client",
                  "kubernetes.io/kube-apiserver-client-kubelet", "kubernetes.io/kubelet-serving"}),
            rule({"create"}, {"authorization.k8s.io"}, {"subjectaccessreviews"}), eventsRule()})});
  v.push_back({"clusterrole-aggregation-controller",
               json::array({rule({"escalate", "get", "list", "watch", "update", "patch"},
                                 {"rbac.authorization.k8s.io"}, {"clusterroles"})})});
  v.push_back(
      {"endpoint-controller",
       json::array({rule({"get", "list", "watch"}, {""}, {"services", "pods"}),
                    rule({"get", "list", "create", "update", "delete"}, {""}, {"endpoints"}),
                    rule({"create"}, {""}, {"endpoints/restricted"}), eventsRule()})});
  v.push_back({"endpointslice-controller",
               json::array({rule({"get", "list", "watch"}, {""}, {"services", "pods", "nodes"}),
                            rule({"update"}, {""}, {"services/finalizers"}),
                            rule({"get", "list", "create", "update", "delete"},
                                 {"discovery.k8s.io"}, {"endpointslices"}),
                            eventsRule()})});
  v.push_back(
      {"generic-garbage-collector",
       json::array({rule({"get", "list", "watch", "patch", "update", "delete"}, {"*"}, {"*"}),
                    eventsRule()})});
  v.push_back({"namespace-controller",
               json::array({rule({"get", "list", "watch", "delete"}, {""}, {"namespaces"}),
                            rule({"update"}, {""}, {"namespaces/finalize", "namespaces/status"}),
                            rule({"get", "list", "delete", "deletecollection"}, {"*"}, {"*"})})});
  v.push_back({"node-controller",
               json::array({rule({"get", "list", "update", "delete", "patch"}, {""}, {"nodes"}),
                            rule({"patch", "update"}, {""}, {"nodes/status"}),
                            rule({"patch", "update"}, {""}, {"pods/status"}),
                            rule({"list", "delete"}, {""}, {"pods"}), eventsRule()})});
  v.push_back(
      {"persistent-volume-binder",
       json::array({rule({"get", "list", "watch", "update", "create", "delete"}, {""},
                         {"persistentvolumes"}),
                    rule({"update"}, {""}, {"persistentvolumes/status"}),
                    rule({"get", "list", "watch", "update"}, {""}, {"persistentvolumeclaims"}),
                    rule({"update"}, {""}, {"persistentvolumeclaims/status"}),
                    rule({"list", "watch", "get", "create", "delete"}, {""}, {"pods"}),
                    rule({"get", "list", "watch"}, {"storage.k8s.io"}, {"storageclasses"}),
                    rule({"get", "list"}, {""}, {"nodes"}), rule({"watch"}, {""}, {"events"}),
                    eventsRule()})});
  v.push_back(
      {"pod-garbage-collector", json::array({rule({"list", "watch", "delete"}, {""}, {"pods"}),
                                             rule({"get", "list"}, {""}, {"nodes"}),
                                             rule({"patch"}, {""}, {"pods/status"})})});
  v.push_back({"pv-protection-controller",
               json::array({rule({"get", "list", "watch", "update"}, {""}, {"persistentvolumes"}),
                            eventsRule()})});
  v.push_back(
      {"pvc-protection-controller",
       json::array({rule({"get", "list", "watch", "update"}, {""}, {"persistentvolumeclaims"}),
                    rule({"list", "watch", "get"}, {""}, {"pods"}), eventsRule()})});
  v.push_back({"resourcequota-controller",
               json::array({rule({"list", "watch"}, {"*"}, {"*"}),
                            rule({"update"}, {""}, {"resourcequotas/status"}), eventsRule()})});
  v.push_back({"root-ca-cert-publisher",
               json::array({rule({"create", "update"}, {""}, {"configmaps"}), eventsRule()})});
  v.push_back({"service-account-controller",
               json::array({rule({"create"}, {""}, {"serviceaccounts"}), eventsRule()})});
  return v;
}

// Roles of controllers skiff-master does not run (no cloud provider, no attach/detach or
// expansion of external volumes, no ValidatingAdmissionPolicy): bootstrapped all the same, as
// kube-apiserver does, so that manifests and `kubectl get clusterroles` find them.
std::vector<ControllerRole> idleRoles() {
  const std::string storage = "storage.k8s.io";
  std::vector<ControllerRole> v;
  v.push_back(
      {"attachdetach-controller",
       json::array(
           {rule({"list", "watch"}, {""}, {"persistentvolumes", "persistentvolumeclaims"}),
            rule({"get", "list", "watch"}, {""}, {"nodes"}),
            rule({"patch", "update"}, {""}, {"nodes/status"}),
            rule({"list", "watch"}, {""}, {"pods"}), eventsRule(),
            rule({"get", "create", "delete", "list", "watch"}, {storage}, {"volumeattachments"}),
            rule({"get", "watch", "list"}, {storage}, {"csidrivers"}),
            rule({"get", "watch", "list"}, {storage}, {"csinodes"})}),
       false});
  v.push_back({"endpointslicemirroring-controller",
               json::array({rule({"get", "list", "watch"}, {""}, {"services", "endpoints"}),
                            rule({"update"}, {""}, {"services/finalizers"}),
                            rule({"update"}, {""}, {"endpoints/finalizers"}),
                            rule({"get", "list", "create", "update", "delete"},
                                 {"discovery.k8s.io"}, {"endpointslices"}),
                            eventsRule()}),
               false});
  v.push_back(
      {"expand-controller",
       json::array({rule({"get", "list", "watch", "update", "patch"}, {""}, {"persistentvolumes"}),
                    rule({"update", "patch"}, {""}, {"persistentvolumeclaims/status"}),
                    rule({"get", "list", "watch"}, {""}, {"persistentvolumeclaims"}),
                    rule({"get", "list", "watch"}, {storage}, {"storageclasses"}),
                    rule({"get"}, {""}, {"services", "endpoints"}),
                    rule({"get"}, {""}, {"secrets"}), eventsRule()})});
  v.push_back(
      {"ephemeral-volume-controller",
       json::array({rule({"get", "list", "watch"}, {""}, {"pods"}),
                    rule({"update"}, {""}, {"pods/finalizers"}),
                    rule({"get", "list", "watch", "create"}, {""}, {"persistentvolumeclaims"}),
                    eventsRule()})});
  v.push_back({"route-controller",
               json::array({rule({"list", "watch"}, {""}, {"nodes"}),
                            rule({"patch"}, {""}, {"nodes/status"}), eventsRule()}),
               false});
  v.push_back({"service-controller",
               json::array({rule({"get", "list", "watch"}, {""}, {"services"}),
                            rule({"patch", "update"}, {""}, {"services/status"}),
                            rule({"list", "watch"}, {""}, {"nodes"}), eventsRule()}),
               false});
  v.push_back(
      {"ttl-controller",
       json::array({rule({"update", "patch", "list", "watch"}, {""}, {"nodes"}), eventsRule()}),
       false});
  v.push_back({"validatingadmissionpolicy-status-controller",
               json::array({rule({"get", "list", "watch"}, {"admissionregistration.k8s.io"},
                                 {"validatingadmissionpolicies"}),
                            rule({"get", "patch", "update"}, {"admissionregistration.k8s.io"},
                                 {"validatingadmissionpolicies/status"}),
                            eventsRule()}),
               false});
  v.push_back({"legacy-service-account-token-cleaner",
               json::array({rule({"get"}, {""}, {"configmaps"},
                                 {"kube-apiserver-legacy-service-account-token-tracking"}),
                            rule({"patch", "delete"}, {""}, {"secrets"})}),
               false});
  return v;
}

const std::vector<ControllerRole>& controllerRoles() {
  static const std::vector<ControllerRole> all = [] {
    std::vector<ControllerRole> v = workloadRoles();
    for (auto& r : clusterRoles()) v.push_back(std::move(r));
    for (auto& r : idleRoles()) v.push_back(std::move(r));
    return v;
  }();
  return all;
}

}  // namespace

const std::vector<std::string>& controllerServiceAccounts() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& r : controllerRoles()) {
      if (r.runs) v.push_back(r.name);
    }
    return v;
  }();
  return names;
}

void appendControllerPolicy(BootstrapPolicy& p) {
  for (const auto& r : controllerRoles()) {
    std::string name = kPrefix + r.name;
    p.cluster_roles.push_back({{"apiVersion", "rbac.authorization.k8s.io/v1"},
                               {"kind", "ClusterRole"},
                               {"metadata", defaultsMeta(name)},
                               {"rules", r.rules}});
    p.cluster_role_bindings.push_back(
        {{"apiVersion", "rbac.authorization.k8s.io/v1"},
         {"kind", "ClusterRoleBinding"},
         {"metadata", defaultsMeta(name)},
         {"roleRef",
          {{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "ClusterRole"}, {"name", name}}},
         {"subjects",
          json::array(
              {{{"kind", "ServiceAccount"}, {"name", r.name}, {"namespace", "kube-system"}}})}});
  }
}

}  // namespace skiff::master::rbac
