#include "skiff/master/api/defaults.h"

#include <map>
#include <string>

#include "skiff/common/base64.h"

namespace skiff::master::api {
namespace {

using json = nlohmann::json;

// "busybox", "busybox:latest" -> Always; "busybox:1.36", "x@sha256:..." -> IfNotPresent.
std::string pullPolicyFor(const std::string& image) {
  if (image.find('@') != std::string::npos) return "IfNotPresent";
  auto slash = image.find_last_of('/');
  auto colon = image.find_last_of(':');
  if (colon == std::string::npos || (slash != std::string::npos && colon < slash)) return "Always";
  return image.substr(colon + 1) == "latest" ? "Always" : "IfNotPresent";
}

void defaultProbe(json& probe) {
  if (!probe.is_object()) return;
  setIfMissing(probe, "timeoutSeconds", 1);
  setIfMissing(probe, "periodSeconds", 10);
  setIfMissing(probe, "successThreshold", 1);
  setIfMissing(probe, "failureThreshold", 3);
  if (probe.contains("httpGet") && probe["httpGet"].is_object()) {
    setIfMissing(probe["httpGet"], "path", "/");
    setIfMissing(probe["httpGet"], "scheme", "HTTP");
  }
}

void defaultContainer(json& c) {
  if (!c.is_object()) return;
  if (c.contains("image") && c["image"].is_string()) {
    setIfMissing(c, "imagePullPolicy", pullPolicyFor(c["image"].get<std::string>()));
  }
  setIfMissing(c, "terminationMessagePath", "/dev/termination-log");
  setIfMissing(c, "terminationMessagePolicy", "File");
  setIfMissing(c, "resources", json::object());
  if (c["resources"].is_object()) {
    // Requests default to limits when a limit is given and the request is not.
    json& res = c["resources"];
    if (res.contains("limits") && res["limits"].is_object()) {
      if (!res.contains("requests") || !res["requests"].is_object())
        res["requests"] = json::object();
      for (auto& [k, v] : res["limits"].items()) {
        if (!res["requests"].contains(k)) res["requests"][k] = v;
      }
    }
  }
  if (c.contains("ports") && c["ports"].is_array()) {
    for (auto& p : c["ports"]) {
      if (p.is_object()) setIfMissing(p, "protocol", "TCP");
    }
  }
  if (c.contains("env") && c["env"].is_array()) {
    for (auto& e : c["env"]) {
      if (e.is_object() && e.contains("valueFrom") && e["valueFrom"].is_object() &&
          e["valueFrom"].contains("fieldRef") && e["valueFrom"]["fieldRef"].is_object()) {
        setIfMissing(e["valueFrom"]["fieldRef"], "apiVersion", "v1");
      }
    }
  }
  for (const char* probe : {"livenessProbe", "readinessProbe", "startupProbe"}) {
    if (c.contains(probe)) defaultProbe(c[probe]);
  }
}

void defaultPodSpec(json& spec) {
  if (!spec.is_object()) return;
  setIfMissing(spec, "restartPolicy", "Always");
  setIfMissing(spec, "dnsPolicy", "ClusterFirst");
  setIfMissing(spec, "terminationGracePeriodSeconds", 30);
  setIfMissing(spec, "schedulerName", "default-scheduler");
  setIfMissing(spec, "securityContext", json::object());
  for (const char* list : {"containers", "initContainers"}) {
    if (spec.contains(list) && spec[list].is_array()) {
      for (auto& c : spec[list]) defaultContainer(c);
    }
  }
  if (spec.contains("volumes") && spec["volumes"].is_array()) {
    for (auto& v : spec["volumes"]) {
      if (!v.is_object()) continue;
      for (const char* src : {"secret", "configMap", "projected", "downwardAPI"}) {
        if (v.contains(src) && v[src].is_object()) setIfMissing(v[src], "defaultMode", 420);
      }
      if (v.contains("hostPath") && v["hostPath"].is_object())
        setIfMissing(v["hostPath"], "type", "");
    }
  }
}

void defaultTemplate(json& obj, std::initializer_list<const char*> path) {
  json* cur = &obj;
  for (const char* p : path) {
    if (!cur->is_object() || !cur->contains(p)) return;
    cur = &(*cur)[p];
  }
  if (cur->is_object() && cur->contains("spec")) defaultPodSpec((*cur)["spec"]);
}

void defaultSelectorFromTemplate(json& spec) {
  // apps/v1beta1 and extensions/v1beta1 defaulted the selector from the template labels.
  if (spec.contains("selector") && !spec["selector"].is_null()) return;
  const json& labels = spec.value("/template/metadata/labels"_json_pointer, json());
  if (labels.is_object() && !labels.empty()) spec["selector"] = {{"matchLabels", labels}};
}

}  // namespace

void setIfMissing(json& obj, const char* key, const json& value) {
  if (!obj.contains(key) || obj[key].is_null()) obj[key] = value;
}

json& specForDefaults(json& obj) {
  json& spec = obj["spec"];
  if (!spec.is_object()) spec = json::object();
  return spec;
}

std::string podQosClass(const json& spec) {
  bool any = false, guaranteed = true;
  auto visit = [&](const json& containers) {
    if (!containers.is_array()) return;
    for (const auto& c : containers) {
      const json& res = c.value("resources", json::object());
      const json& req = res.value("requests", json::object());
      const json& lim = res.value("limits", json::object());
      if (!req.empty() || !lim.empty()) any = true;
      for (const char* k : {"cpu", "memory"}) {
        if (!lim.contains(k) || !req.contains(k) || req[k] != lim[k]) guaranteed = false;
      }
    }
  };
  visit(spec.value("containers", json::array()));
  visit(spec.value("initContainers", json::array()));
  if (!any) return "BestEffort";
  return guaranteed ? "Guaranteed" : "Burstable";
}

namespace {

using KindDefaults = void (*)(const ResourceInfo& r, json& obj);

// pkg/apis/core/v1/defaults.go SetDefaults_Pod(Spec).
void defaultPod(const ResourceInfo&, json& obj) {
  if (obj.contains("spec")) {
    defaultPodSpec(obj["spec"]);
    setIfMissing(obj["spec"], "enableServiceLinks", true);
  }
}

// Deployments, ReplicaSets, StatefulSets, DaemonSets, ReplicationControllers (apps/v1 defaults.go).
void defaultWorkload(const ResourceInfo& r, json& obj) {
  if (!obj.contains("spec") || !obj["spec"].is_object()) return;
  json& spec = obj["spec"];
  if (r.version != "v1" || r.kind == "ReplicationController") {
    if (r.kind == "ReplicationController") {
      if (!spec.contains("selector")) {
        const json& labels = spec.value("/template/metadata/labels"_json_pointer, json());
        if (labels.is_object()) spec["selector"] = labels;
      }
    } else {
      defaultSelectorFromTemplate(spec);
    }
  }
  if (r.kind != "DaemonSet") setIfMissing(spec, "replicas", 1);
  defaultTemplate(obj, {"spec", "template"});
  if (r.kind == "Deployment") {
    setIfMissing(spec, "strategy", json{{"type", "RollingUpdate"}});
    if (spec["strategy"].is_object()) {
      setIfMissing(spec["strategy"], "type", "RollingUpdate");
      if (spec["strategy"]["type"] == "RollingUpdate") {
        setIfMissing(spec["strategy"], "rollingUpdate", json::object());
        setIfMissing(spec["strategy"]["rollingUpdate"], "maxSurge", "25%");
        setIfMissing(spec["strategy"]["rollingUpdate"], "maxUnavailable", "25%");
      }
    }
    setIfMissing(spec, "revisionHistoryLimit", 10);
    setIfMissing(spec, "progressDeadlineSeconds", 600);
  } else if (r.kind == "StatefulSet") {
    setIfMissing(spec, "podManagementPolicy", "OrderedReady");
    setIfMissing(spec, "updateStrategy",
                 json{{"type", "RollingUpdate"}, {"rollingUpdate", {{"partition", 0}}}});
    setIfMissing(spec, "revisionHistoryLimit", 10);
    setIfMissing(spec, "persistentVolumeClaimRetentionPolicy",
                 json{{"whenDeleted", "Retain"}, {"whenScaled", "Retain"}});
    // SetDefaults_PersistentVolumeClaim{,Spec} on each volumeClaimTemplate.
    if (spec.contains("volumeClaimTemplates") && spec["volumeClaimTemplates"].is_array()) {
      for (auto& t : spec["volumeClaimTemplates"]) {
        if (!t.is_object()) continue;
        setIfMissing(t, "apiVersion", "v1");
        setIfMissing(t, "kind", "PersistentVolumeClaim");
        if (t.contains("spec") && t["spec"].is_object())
          setIfMissing(t["spec"], "volumeMode", "Filesystem");
        setIfMissing(t, "status", json{{"phase", "Pending"}});
      }
    }
  } else if (r.kind == "DaemonSet") {
    setIfMissing(spec, "updateStrategy",
                 json{{"type", "RollingUpdate"},
                      {"rollingUpdate", {{"maxUnavailable", 1}, {"maxSurge", 0}}}});
    setIfMissing(spec, "revisionHistoryLimit", 10);
  }
}

// pkg/apis/batch/v1/defaults.go SetDefaults_Job.
void defaultJob(const ResourceInfo&, json& obj) {
  if (!obj.contains("spec") || !obj["spec"].is_object()) return;
  json& spec = obj["spec"];
  if (!spec.contains("completions") && !spec.contains("parallelism")) {
    spec["completions"] = 1;
    spec["parallelism"] = 1;
  }
  setIfMissing(spec, "parallelism", 1);
  setIfMissing(spec, "backoffLimit", 6);
  setIfMissing(spec, "completionMode", "NonIndexed");
  setIfMissing(spec, "suspend", false);
  setIfMissing(spec, "podReplacementPolicy", "TerminatingOrFailed");
  setIfMissing(spec, "manualSelector", json());
  if (spec["manualSelector"].is_null()) spec.erase("manualSelector");
  defaultTemplate(obj, {"spec", "template"});
}

// SetDefaults_CronJob.
void defaultCronJob(const ResourceInfo&, json& obj) {
  if (!obj.contains("spec") || !obj["spec"].is_object()) return;
  json& spec = obj["spec"];
  setIfMissing(spec, "concurrencyPolicy", "Allow");
  setIfMissing(spec, "suspend", false);
  setIfMissing(spec, "successfulJobsHistoryLimit", 3);
  setIfMissing(spec, "failedJobsHistoryLimit", 1);
  defaultTemplate(obj, {"spec", "jobTemplate", "spec", "template"});
}

// SetDefaults_Service.
void defaultService(const ResourceInfo&, json& obj) {
  setIfMissing(obj, "spec", json::object());
  json& spec = obj["spec"];
  setIfMissing(spec, "type", "ClusterIP");
  setIfMissing(spec, "sessionAffinity", "None");
  std::string type = spec.value("type", "ClusterIP");
  if (type != "ExternalName") {
    setIfMissing(spec, "internalTrafficPolicy", "Cluster");
  }
  if (type == "NodePort" || type == "LoadBalancer") {
    setIfMissing(spec, "externalTrafficPolicy", "Cluster");
  }
  if (spec.contains("ports") && spec["ports"].is_array()) {
    for (auto& p : spec["ports"]) {
      if (!p.is_object()) continue;
      setIfMissing(p, "protocol", "TCP");
      // Unset, 0 or "" (what client-go's protobuf sends for a zero IntOrString) all mean the
      // port itself, as SetDefaults_Service.
      const json& tp = p.contains("targetPort") ? p["targetPort"] : json();
      bool unset = tp.is_null() || (tp.is_number_integer() && tp.get<long long>() == 0) ||
                   (tp.is_string() && tp.get<std::string>().empty());
      if (unset && p.contains("port")) p["targetPort"] = p["port"];
    }
  }
  setIfMissing(obj, "status", json{{"loadBalancer", json::object()}});
}

// SetDefaults_Namespace, plus the kubernetes.io/metadata.name label and the kubernetes finalizer.
void defaultNamespace(const ResourceInfo&, json& obj) {
  std::string name = obj["metadata"].value("name", "");
  if (!obj["metadata"].contains("labels") || !obj["metadata"]["labels"].is_object()) {
    obj["metadata"]["labels"] = json::object();
  }
  if (!name.empty()) obj["metadata"]["labels"]["kubernetes.io/metadata.name"] = name;
  setIfMissing(obj, "spec", json::object());
  setIfMissing(obj["spec"], "finalizers", json::array({"kubernetes"}));
  setIfMissing(obj, "status", json::object());
  setIfMissing(obj["status"], "phase", "Active");
}

// SetDefaults_Secret.
void defaultSecret(const ResourceInfo&, json& obj) {
  setIfMissing(obj, "type", "Opaque");
  // stringData is write-only: merged into data (base64) as the API server does.
  if (obj.contains("stringData") && obj["stringData"].is_object()) {
    if (!obj.contains("data") || !obj["data"].is_object()) obj["data"] = json::object();
    for (auto& [key, v] : obj["stringData"].items()) {
      if (v.is_string()) obj["data"][key] = base64Encode(v.get<std::string>());
    }
    obj.erase("stringData");
  }
}

// SetDefaults_Endpoints.
void defaultEndpoints(const ResourceInfo&, json& obj) {
  if (obj.contains("subsets") && obj["subsets"].is_array()) {
    for (auto& s : obj["subsets"]) {
      if (s.is_object() && s.contains("ports") && s["ports"].is_array()) {
        for (auto& p : s["ports"]) {
          if (p.is_object()) setIfMissing(p, "protocol", "TCP");
        }
      }
    }
  }
}

// SetDefaults_NodeSpec: podCIDRs from podCIDR.
void defaultNode(const ResourceInfo&, json& obj) {
  if (obj.contains("spec") && obj["spec"].is_object() && obj["spec"].contains("podCIDR") &&
      !obj["spec"].contains("podCIDRs")) {
    obj["spec"]["podCIDRs"] = json::array({obj["spec"]["podCIDR"]});
  }
}

// SetDefaults_PriorityClass.
void defaultPriorityClass(const ResourceInfo&, json& obj) {
  setIfMissing(obj, "preemptionPolicy", "PreemptLowerPriority");
}

// core/v1 PodTemplate: its template's pod spec is defaulted as a pod's.
void defaultPodTemplate(const ResourceInfo&, json& obj) { defaultTemplate(obj, {"template"}); }

const std::map<std::string, KindDefaults>& defaultsByKind() {
  static const std::map<std::string, KindDefaults> m = {
      {"Pod", defaultPod},
      {"Deployment", defaultWorkload},
      {"ReplicaSet", defaultWorkload},
      {"StatefulSet", defaultWorkload},
      {"DaemonSet", defaultWorkload},
      {"ReplicationController", defaultWorkload},
      {"Job", defaultJob},
      {"CronJob", defaultCronJob},
      {"Service", defaultService},
      {"Namespace", defaultNamespace},
      {"Secret", defaultSecret},
      {"Endpoints", defaultEndpoints},
      {"Node", defaultNode},
      {"PriorityClass", defaultPriorityClass},
      {"PodTemplate", defaultPodTemplate},
  };
  return m;
}

}  // namespace

void applyDefaults(const ResourceInfo& r, json& obj) {
  if (!obj.is_object()) return;
  if (!obj.contains("metadata") || !obj["metadata"].is_object()) obj["metadata"] = json::object();
  auto it = defaultsByKind().find(r.kind);
  if (it != defaultsByKind().end()) it->second(r, obj);
}

void admitNewPod(json& pod, const DefaultingOptions& options) {
  if (!pod.contains("spec") || !pod["spec"].is_object()) return;
  json& spec = pod["spec"];
  // ServiceAccount admission.
  if (!spec.contains("serviceAccountName") || spec["serviceAccountName"] == "") {
    spec["serviceAccountName"] = spec.value("serviceAccount", std::string("default"));
  }
  spec["serviceAccount"] = spec["serviceAccountName"];
  // spec.priority and preemptionPolicy: the Priority admission plugin
  // (admission/priority.cc) resolves them from the PriorityClass.
  // DefaultTolerationSeconds admission.
  if (!spec.contains("tolerations") || !spec["tolerations"].is_array()) {
    spec["tolerations"] = json::array();
  }
  const std::pair<const char*, std::int64_t> defaults[] = {
      {"node.kubernetes.io/not-ready", options.not_ready_toleration_seconds},
      {"node.kubernetes.io/unreachable", options.unreachable_toleration_seconds}};
  for (const auto& [key, seconds] : defaults) {
    bool has = false;
    for (const auto& t : spec["tolerations"]) {
      if (!t.is_object()) continue;
      std::string eff = t.value("effect", "");
      if ((t.value("key", "") == key ||
           (t.value("key", "").empty() && t.value("operator", "") == "Exists")) &&
          (eff.empty() || eff == "NoExecute")) {
        has = true;
      }
    }
    if (!has) {
      spec["tolerations"].push_back({{"key", key},
                                     {"operator", "Exists"},
                                     {"effect", "NoExecute"},
                                     {"tolerationSeconds", seconds}});
    }
  }
}

}  // namespace skiff::master::api
