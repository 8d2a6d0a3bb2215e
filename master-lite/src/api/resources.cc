// The table of built-in resources. Short names, categories and subresources mirror what a
// Kubernetes 1.32 API server advertises, so `kubectl api-resources` looks the same.
#include "skiff/master/api/resources.h"

#include <map>
#include <tuple>

#include "custom_resource_table.h"

namespace skiff::master::api {
namespace {

using Subs = std::vector<SubresourceInfo>;
const std::vector<std::string> kGetPatchUpdate{"get", "patch", "update"};
// The proxy subresources' verbs, as kube-apiserver's discovery lists them.
const std::vector<std::string> kProxyVerbs{"create", "delete", "get", "patch", "update"};

SubresourceInfo status(const std::string& g, const std::string& v, const std::string& kind) {
  return {"status", g, v, kind, kGetPatchUpdate};
}
SubresourceInfo scale() { return {"scale", "autoscaling", "v1", "Scale", kGetPatchUpdate}; }

ResourceInfo make(std::string group, std::string version, std::string resource,
                  std::string singular, std::string kind, bool namespaced,
                  std::vector<std::string> short_names, std::vector<std::string> categories,
                  Subs subs, bool generation = false) {
  ResourceInfo r;
  r.group = std::move(group);
  r.version = std::move(version);
  r.resource = std::move(resource);
  r.singular = std::move(singular);
  r.kind = std::move(kind);
  r.namespaced = namespaced;
  r.short_names = std::move(short_names);
  r.categories = std::move(categories);
  r.subresources = std::move(subs);
  r.storage_version = r.version;
  r.has_generation = generation;
  return r;
}

// RBAC (stored) and the reviews of authentication.k8s.io and authorization.k8s.io (create only).
void addAccessResources(std::vector<ResourceInfo>& v) {
  const std::string rbac = "rbac.authorization.k8s.io";
  v.push_back(make(rbac, "v1", "clusterrolebindings", "clusterrolebinding", "ClusterRoleBinding",
                   false, {}, {}, {}));
  v.push_back(make(rbac, "v1", "clusterroles", "clusterrole", "ClusterRole", false, {}, {}, {}));
  v.push_back(make(rbac, "v1", "rolebindings", "rolebinding", "RoleBinding", true, {}, {}, {}));
  v.push_back(make(rbac, "v1", "roles", "role", "Role", true, {}, {}, {}));
  auto review = [&](const std::string& g, std::string res, std::string singular, std::string kind,
                    bool namespaced) {
    auto r =
        make(g, "v1", std::move(res), std::move(singular), std::move(kind), namespaced, {}, {}, {});
    r.verbs = {"create"};
    v.push_back(std::move(r));
  };
  review("authentication.k8s.io", "selfsubjectreviews", "selfsubjectreview", "SelfSubjectReview",
         false);
  review("authentication.k8s.io", "tokenreviews", "tokenreview", "TokenReview", false);
  const std::string az = "authorization.k8s.io";
  review(az, "localsubjectaccessreviews", "localsubjectaccessreview", "LocalSubjectAccessReview",
         true);
  review(az, "selfsubjectaccessreviews", "selfsubjectaccessreview", "SelfSubjectAccessReview",
         false);
  review(az, "selfsubjectrulesreviews", "selfsubjectrulesreview", "SelfSubjectRulesReview", false);
  review(az, "subjectaccessreviews", "subjectaccessreview", "SubjectAccessReview", false);
}

// Issue 22: the HorizontalPodAutoscaler (autoscaling/v2, stored as v2; autoscaling/v1 served
// from it) and the resource metrics API skiff-master serves itself, as metrics-server's
// APIService would (get and list only).
void addPolicyResources(std::vector<ResourceInfo>& v) {
  v.push_back(make("autoscaling", "v2", "horizontalpodautoscalers", "horizontalpodautoscaler",
                   "HorizontalPodAutoscaler", true, {"hpa"}, {"all"},
                   {status("autoscaling", "v2", "HorizontalPodAutoscaler")}));
  auto v1 = make("autoscaling", "v1", "horizontalpodautoscalers", "horizontalpodautoscaler",
                 "HorizontalPodAutoscaler", true, {}, {},
                 {status("autoscaling", "v1", "HorizontalPodAutoscaler")});
  v1.storage_version = "v2";
  v.push_back(std::move(v1));
  for (auto [res, singular, kind, namespaced] :
       {std::tuple{"nodes", "", "NodeMetrics", false}, {"pods", "", "PodMetrics", true}}) {
    auto m = make("metrics.k8s.io", "v1beta1", res, singular, kind, namespaced, {}, {}, {});
    m.verbs = {"get", "list"};
    v.push_back(std::move(m));
  }
}

// Persistent storage: core/v1 PersistentVolume(Claim)s and the storage.k8s.io/v1 kinds.
void addStorageResources(std::vector<ResourceInfo>& v) {
  v.push_back(make("", "v1", "persistentvolumeclaims", "persistentvolumeclaim",
                   "PersistentVolumeClaim", true, {"pvc"}, {},
                   {status("", "v1", "PersistentVolumeClaim")}));
  v.push_back(make("", "v1", "persistentvolumes", "persistentvolume", "PersistentVolume", false,
                   {"pv"}, {}, {status("", "v1", "PersistentVolume")}));
  const std::string st = "storage.k8s.io";
  v.push_back(make(st, "v1", "csidrivers", "csidriver", "CSIDriver", false, {}, {}, {}));
  v.push_back(make(st, "v1", "csinodes", "csinode", "CSINode", false, {}, {}, {}));
  v.push_back(make(st, "v1", "csistoragecapacities", "csistoragecapacity", "CSIStorageCapacity",
                   true, {}, {}, {}));
  v.push_back(
      make(st, "v1", "storageclasses", "storageclass", "StorageClass", false, {"sc"}, {}, {}));
  v.push_back(make(st, "v1", "volumeattachments", "volumeattachment", "VolumeAttachment", false, {},
                   {}, {status(st, "v1", "VolumeAttachment")}));
}

// networking.k8s.io, node.k8s.io, core PodTemplates, admissionregistration.k8s.io and
// apiregistration.k8s.io (issue 20): stored and validated; scopes and short names as upstream.
void addExtensionResources(std::vector<ResourceInfo>& v) {
  v.push_back(make("", "v1", "podtemplates", "podtemplate", "PodTemplate", true, {}, {}, {}));
  const std::string net = "networking.k8s.io";
  v.push_back(make(net, "v1", "ingressclasses", "ingressclass", "IngressClass", false, {}, {}, {}));
  v.push_back(make(net, "v1", "ingresses", "ingress", "Ingress", true, {"ing"}, {},
                   {status(net, "v1", "Ingress")}, true));
  v.push_back(make(net, "v1", "networkpolicies", "networkpolicy", "NetworkPolicy", true, {"netpol"},
                   {}, {}, true));
  v.push_back(make("node.k8s.io", "v1", "runtimeclasses", "runtimeclass", "RuntimeClass", false, {},
                   {}, {}));
  const std::string adm = "admissionregistration.k8s.io";
  v.push_back(make(adm, "v1", "mutatingwebhookconfigurations", "mutatingwebhookconfiguration",
                   "MutatingWebhookConfiguration", false, {}, {"api-extensions"}, {}, true));
  v.push_back(make(adm, "v1", "validatingwebhookconfigurations", "validatingwebhookconfiguration",
                   "ValidatingWebhookConfiguration", false, {}, {"api-extensions"}, {}, true));
  const std::string agg = "apiregistration.k8s.io";
  v.push_back(make(agg, "v1", "apiservices", "apiservice", "APIService", false, {},
                   {"api-extensions"}, {status(agg, "v1", "APIService")}));
}

// apiextensions.k8s.io: CustomResourceDefinitions (the resources they define are served from
// the live table, custom_resource_table.cc).
void addApiExtensionsResources(std::vector<ResourceInfo>& v) {
  v.push_back(make("apiextensions.k8s.io", "v1", "customresourcedefinitions",
                   "customresourcedefinition", "CustomResourceDefinition", false, {"crd", "crds"},
                   {"api-extensions"},
                   {status("apiextensions.k8s.io", "v1", "CustomResourceDefinition")}, true));
}

std::vector<ResourceInfo> build() {
  std::vector<ResourceInfo> v;
  const std::vector<std::string> all{"all"};
  // core/v1
  v.push_back(make("", "v1", "configmaps", "configmap", "ConfigMap", true, {"cm"}, {}, {}));
  v.push_back(make("", "v1", "endpoints", "endpoints", "Endpoints", true, {"ep"}, {}, {}));
  v.push_back(make("", "v1", "events", "event", "Event", true, {"ev"}, {}, {}));
  v.push_back(make("", "v1", "limitranges", "limitrange", "LimitRange", true, {"limits"}, {}, {}));
  v.push_back(
      make("", "v1", "namespaces", "namespace", "Namespace", false, {"ns"}, {},
           {{"finalize", "", "v1", "Namespace", {"update"}}, status("", "v1", "Namespace")}));
  v.push_back(
      make("", "v1", "nodes", "node", "Node", false, {"no"}, {},
           {{"proxy", "", "v1", "NodeProxyOptions", kProxyVerbs}, status("", "v1", "Node")}));
  v.push_back(make("", "v1", "pods", "pod", "Pod", true, {"po"}, all,
                   {{"attach", "", "v1", "PodAttachOptions", {"create", "get"}},
                    {"binding", "", "v1", "Binding", {"create"}},
                    {"eviction", "policy", "v1", "Eviction", {"create"}},
                    {"exec", "", "v1", "PodExecOptions", {"create", "get"}},
                    {"log", "", "v1", "Pod", {"get"}},
                    {"portforward", "", "v1", "PodPortForwardOptions", {"create", "get"}},
                    {"proxy", "", "v1", "PodProxyOptions", kProxyVerbs},
                    status("", "v1", "Pod")}));
  v.push_back(make("", "v1", "replicationcontrollers", "replicationcontroller",
                   "ReplicationController", true, {"rc"}, all,
                   {scale(), status("", "v1", "ReplicationController")}, true));
  v.push_back(make("", "v1", "resourcequotas", "resourcequota", "ResourceQuota", true, {"quota"},
                   {}, {status("", "v1", "ResourceQuota")}));
  v.push_back(make("", "v1", "secrets", "secret", "Secret", true, {}, {}, {}));
  v.push_back(make("", "v1", "serviceaccounts", "serviceaccount", "ServiceAccount", true, {"sa"},
                   {}, {{"token", "authentication.k8s.io", "v1", "TokenRequest", {"create"}}}));
  v.push_back(
      make("", "v1", "services", "service", "Service", true, {"svc"}, all,
           {{"proxy", "", "v1", "ServiceProxyOptions", kProxyVerbs}, status("", "v1", "Service")}));
  // apps/v1
  v.push_back(make("apps", "v1", "controllerrevisions", "controllerrevision", "ControllerRevision",
                   true, {}, {}, {}));
  v.push_back(make("apps", "v1", "daemonsets", "daemonset", "DaemonSet", true, {"ds"}, all,
                   {status("apps", "v1", "DaemonSet")}, true));
  v.push_back(make("apps", "v1", "deployments", "deployment", "Deployment", true, {"deploy"}, all,
                   {scale(), status("apps", "v1", "Deployment")}, true));
  v.push_back(make("apps", "v1", "replicasets", "replicaset", "ReplicaSet", true, {"rs"}, all,
                   {scale(), status("apps", "v1", "ReplicaSet")}, true));
  v.push_back(make("apps", "v1", "statefulsets", "statefulset", "StatefulSet", true, {"sts"}, all,
                   {scale(), status("apps", "v1", "StatefulSet")}, true));
  // Old Deployment versions, served for old manifests (the seed example uses apps/v1beta1) and
  // stored as apps/v1. Kubernetes stopped serving them in 1.16; refusing them would make
  // `kubectl apply` fail with "no matches for kind" before the server could explain anything.
  for (const char* gv : {"apps/v1beta1", "extensions/v1beta1"}) {
    std::string g(gv);
    std::string group = g.substr(0, g.find('/'));
    std::string version = g.substr(g.find('/') + 1);
    // No short names or categories: `deploy` and `all` must resolve to apps/v1 only.
    auto d = make(group, version, "deployments", "deployment", "Deployment", true, {}, {},
                  {{"scale", "autoscaling", "v1", "Scale", kGetPatchUpdate},
                   status(group, version, "Deployment")},
                  true);
    d.storage_version = "v1";
    d.deprecation = g +
                    " Deployment is deprecated in v1.9+, unavailable in v1.16+; skiff stores it as "
                    "apps/v1 Deployment; use apps/v1 Deployment";
    v.push_back(std::move(d));
  }
  // batch/v1
  v.push_back(make("batch", "v1", "cronjobs", "cronjob", "CronJob", true, {"cj"}, all,
                   {status("batch", "v1", "CronJob")}, true));
  v.push_back(make("batch", "v1", "jobs", "job", "Job", true, {}, all,
                   {status("batch", "v1", "Job")}, true));
  // others
  v.push_back(
      make("certificates.k8s.io", "v1", "certificatesigningrequests", "certificatesigningrequest",
           "CertificateSigningRequest", false, {"csr"}, {},
           {{"approval", "certificates.k8s.io", "v1", "CertificateSigningRequest", kGetPatchUpdate},
            status("certificates.k8s.io", "v1", "CertificateSigningRequest")}));
  v.push_back(make("coordination.k8s.io", "v1", "leases", "lease", "Lease", true, {}, {}, {}));
  v.push_back(make("discovery.k8s.io", "v1", "endpointslices", "endpointslice", "EndpointSlice",
                   true, {}, {}, {}));
  v.push_back(make("events.k8s.io", "v1", "events", "event", "Event", true, {"ev"}, {}, {}));
  v.push_back(make("policy", "v1", "poddisruptionbudgets", "poddisruptionbudget",
                   "PodDisruptionBudget", true, {"pdb"}, {},
                   {status("policy", "v1", "PodDisruptionBudget")}, true));
  v.push_back(make("scheduling.k8s.io", "v1", "priorityclasses", "priorityclass", "PriorityClass",
                   false, {"pc"}, {}, {}));
  addAccessResources(v);
  addPolicyResources(v);
  addStorageResources(v);
  addExtensionResources(v);
  addApiExtensionsResources(v);
  return v;
}

}  // namespace

const SubresourceInfo* ResourceInfo::subresource(const std::string& name) const {
  for (const auto& s : subresources) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

const std::vector<std::string>& ResourceInfo::servedVerbs() const {
  return verbs.empty() ? standardVerbs() : verbs;
}

const std::vector<ResourceInfo>& allResources() {
  static const std::vector<ResourceInfo> v = build();
  return v;
}

const std::vector<GroupInfo>& allGroups() {
  static const std::vector<GroupInfo> g{
      {"", {"v1"}},
      {"apps", {"v1", "v1beta1"}},
      {"events.k8s.io", {"v1"}},
      {"batch", {"v1"}},
      {"certificates.k8s.io", {"v1"}},
      {"coordination.k8s.io", {"v1"}},
      {"discovery.k8s.io", {"v1"}},
      {"policy", {"v1"}},
      {"scheduling.k8s.io", {"v1"}},
      {"extensions", {"v1beta1"}},
      {"authentication.k8s.io", {"v1"}},
      {"authorization.k8s.io", {"v1"}},
      {"rbac.authorization.k8s.io", {"v1"}},
      {"autoscaling", {"v2", "v1"}},
      {"metrics.k8s.io", {"v1beta1"}},
      {"storage.k8s.io", {"v1"}},
      {"networking.k8s.io", {"v1"}},
      {"node.k8s.io", {"v1"}},
      {"admissionregistration.k8s.io", {"v1"}},
      {"apiregistration.k8s.io", {"v1"}},
      {"apiextensions.k8s.io", {"v1"}},
  };
  return g;
}

const ResourceInfo* findResource(const std::string& group, const std::string& version,
                                 const std::string& resource) {
  static const auto index = [] {
    std::map<std::string, const ResourceInfo*> m;
    for (const auto& r : allResources()) m[r.group + "/" + r.version + "/" + r.resource] = &r;
    return m;
  }();
  auto it = index.find(group + "/" + version + "/" + resource);
  return it == index.end() ? findCustomResource(group, version, resource) : it->second;
}

const ResourceInfo* findByKind(const std::string& group, const std::string& version,
                               const std::string& kind) {
  for (const auto& r : allResources()) {
    if (r.group == group && r.version == version && r.kind == kind) return &r;
  }
  return findCustomResourceByKind(group, version, kind);
}

}  // namespace skiff::master::api
