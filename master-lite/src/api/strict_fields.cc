#include "strict_fields.h"

#include "skiff/master/apiextensions/apiextensions.h"

#include <set>

namespace skiff::master::api {
namespace {

using json = nlohmann::json;
using Keys = std::set<std::string>;

const Keys kMeta{"name",
                 "generateName",
                 "namespace",
                 "selfLink",
                 "uid",
                 "resourceVersion",
                 "generation",
                 "creationTimestamp",
                 "deletionTimestamp",
                 "deletionGracePeriodSeconds",
                 "labels",
                 "annotations",
                 "ownerReferences",
                 "finalizers",
                 "managedFields"};
const Keys kPodSpec{"volumes",
                    "initContainers",
                    "containers",
                    "ephemeralContainers",
                    "restartPolicy",
                    "terminationGracePeriodSeconds",
                    "activeDeadlineSeconds",
                    "dnsPolicy",
                    "nodeSelector",
                    "serviceAccountName",
                    "serviceAccount",
                    "automountServiceAccountToken",
                    "nodeName",
                    "hostNetwork",
                    "hostPID",
                    "hostIPC",
                    "shareProcessNamespace",
                    "securityContext",
                    "imagePullSecrets",
                    "hostname",
                    "subdomain",
                    "affinity",
                    "schedulerName",
                    "tolerations",
                    "hostAliases",
                    "priorityClassName",
                    "priority",
                    "dnsConfig",
                    "readinessGates",
                    "runtimeClassName",
                    "enableServiceLinks",
                    "preemptionPolicy",
                    "overhead",
                    "topologySpreadConstraints",
                    "setHostnameAsFQDN",
                    "os",
                    "hostUsers",
                    "schedulingGates",
                    "resourceClaims",
                    "resources"};
const Keys kContainer{"name",
                      "image",
                      "command",
                      "args",
                      "workingDir",
                      "ports",
                      "envFrom",
                      "env",
                      "resources",
                      "resizePolicy",
                      "restartPolicy",
                      "volumeMounts",
                      "volumeDevices",
                      "livenessProbe",
                      "readinessProbe",
                      "startupProbe",
                      "lifecycle",
                      "terminationMessagePath",
                      "terminationMessagePolicy",
                      "imagePullPolicy",
                      "securityContext",
                      "stdin",
                      "stdinOnce",
                      "tty"};
const Keys kDeploymentSpec{"replicas",        "selector",
                           "template",        "strategy",
                           "minReadySeconds", "revisionHistoryLimit",
                           "paused",          "progressDeadlineSeconds",
                           "rollbackTo",      "templateGeneration"};
const Keys kServiceSpec{"ports",
                        "selector",
                        "clusterIP",
                        "clusterIPs",
                        "type",
                        "externalIPs",
                        "sessionAffinity",
                        "loadBalancerIP",
                        "loadBalancerSourceRanges",
                        "externalName",
                        "externalTrafficPolicy",
                        "healthCheckNodePort",
                        "publishNotReadyAddresses",
                        "sessionAffinityConfig",
                        "ipFamilies",
                        "ipFamilyPolicy",
                        "allocateLoadBalancerNodePorts",
                        "loadBalancerClass",
                        "internalTrafficPolicy",
                        "trafficDistribution"};
const Keys kTemplate{"metadata", "spec"};

Keys topLevel(const ResourceInfo& r) {
  Keys k{"apiVersion", "kind", "metadata"};
  const std::string& kind = r.kind;
  if (kind == "ConfigMap")
    return Keys{"apiVersion", "kind", "metadata", "data", "binaryData", "immutable"};
  if (kind == "Secret")
    return Keys{"apiVersion", "kind", "metadata", "data", "stringData", "type", "immutable"};
  if (kind == "Endpoints") return Keys{"apiVersion", "kind", "metadata", "subsets"};
  if (kind == "ServiceAccount")
    return Keys{"apiVersion",       "kind",
                "metadata",         "secrets",
                "imagePullSecrets", "automountServiceAccountToken"};
  if (kind == "EndpointSlice")
    return Keys{"apiVersion", "kind", "metadata", "addressType", "endpoints", "ports"};
  if (kind == "ControllerRevision")
    return Keys{"apiVersion", "kind", "metadata", "data", "revision"};
  if (kind == "PriorityClass")
    return Keys{"apiVersion",    "kind",        "metadata",        "value",
                "globalDefault", "description", "preemptionPolicy"};
  if (kind == "Event") return Keys{};  // two schemas (core, events.k8s.io): not checked
  if (kind == "Role") return Keys{"apiVersion", "kind", "metadata", "rules"};
  if (kind == "ClusterRole")
    return Keys{"apiVersion", "kind", "metadata", "rules", "aggregationRule"};
  if (kind == "RoleBinding" || kind == "ClusterRoleBinding")
    return Keys{"apiVersion", "kind", "metadata", "subjects", "roleRef"};
  // Issue 20's kinds without a spec.
  if (kind == "ValidatingWebhookConfiguration" || kind == "MutatingWebhookConfiguration")
    return Keys{"apiVersion", "kind", "metadata", "webhooks"};
  if (kind == "RuntimeClass")
    return Keys{"apiVersion", "kind", "metadata", "handler", "overhead", "scheduling"};
  if (kind == "PodTemplate") return Keys{"apiVersion", "kind", "metadata", "template"};
  return Keys{"apiVersion", "kind", "metadata", "spec", "status"};
}

void check(const json& obj, const Keys& keys, const std::string& path,
           std::vector<std::string>& out) {
  if (!obj.is_object() || keys.empty()) return;
  for (auto& [k, v] : obj.items()) {
    if (!keys.count(k)) out.push_back(path.empty() ? k : path + "." + k);
  }
}

void checkPodSpec(const json& spec, const std::string& path, std::vector<std::string>& out) {
  if (!spec.is_object()) return;
  check(spec, kPodSpec, path, out);
  for (const char* list : {"containers", "initContainers"}) {
    const json& cs = spec.value(list, json::array());
    if (!cs.is_array()) continue;
    for (std::size_t i = 0; i < cs.size(); ++i) {
      check(cs[i], kContainer, path + "." + list + "[" + std::to_string(i) + "]", out);
    }
  }
}

void checkTemplate(const json& t, const std::string& path, std::vector<std::string>& out) {
  if (!t.is_object()) return;
  check(t, kTemplate, path, out);
  if (t.contains("metadata")) check(t["metadata"], kMeta, path + ".metadata", out);
  if (t.contains("spec")) checkPodSpec(t["spec"], path + ".spec", out);
}

}  // namespace

std::vector<std::string> unknownFields(const ResourceInfo& r, const json& obj) {
  std::vector<std::string> out;
  if (!obj.is_object()) return out;
  if (r.custom) {
    // Custom resources: what pruning by the CRD's schema would drop, plus unknown metadata.
    json copy = obj;
    if (r.custom->schema.is_object()) apiextensions::pruneBySchema(r.custom->schema, copy, &out);
    if (obj.contains("metadata")) check(obj["metadata"], kMeta, "metadata", out);
    return out;
  }
  check(obj, topLevel(r), "", out);
  if (obj.contains("metadata")) check(obj["metadata"], kMeta, "metadata", out);
  if (r.kind == "PodTemplate" && obj.contains("template"))
    checkTemplate(obj["template"], "template", out);
  const json& spec = obj.value("spec", json());
  if (!spec.is_object()) return out;
  if (r.kind == "Pod") checkPodSpec(spec, "spec", out);
  if (r.kind == "Deployment") {
    check(spec, kDeploymentSpec, "spec", out);
    if (spec.contains("template")) checkTemplate(spec["template"], "spec.template", out);
  }
  if (r.kind == "ReplicaSet" || r.kind == "StatefulSet" || r.kind == "DaemonSet" ||
      r.kind == "Job") {
    if (spec.contains("template")) checkTemplate(spec["template"], "spec.template", out);
  }
  if (r.kind == "Service") check(spec, kServiceSpec, "spec", out);
  return out;
}

}  // namespace skiff::master::api
