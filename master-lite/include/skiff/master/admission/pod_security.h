#pragma once

// The PodSecurity admission plugin (kube-apiserver's built-in, k8s.io/pod-security-admission
// admission/admission.go): pods are checked against the enforce level of their namespace
// (403 on a violation), the audit level (the pod-security.kubernetes.io/audit-violations audit
// annotation) and the warn level (a Warning header); workload objects with a pod template get
// audit and warn, never enforce; namespaces get their pod-security labels validated, and a
// stricter enforce level is evaluated against the pods already there (warnings).

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "skiff/common/result.h"
#include "skiff/master/admission/pod_security_policy.h"
#include "skiff/master/api/admission.h"

namespace skiff::master::api {
class Registry;
}

namespace skiff::master::admission {

// PodSecurityConfiguration (pod-security.admission.config.k8s.io/v1): defaults for namespaces
// without labels (everything privileged:latest when absent) and exemptions.
struct PodSecurityConfig {
  Policy defaults;
  std::vector<std::string> exempt_usernames, exempt_namespaces, exempt_runtime_classes;
  int namespace_max_pods_to_check = 3000;  // upstream's defaults
  int namespace_pod_check_timeout_ms = 1000;
};

// Parses a PodSecurityConfiguration object (defaults, exemptions), validated as upstream
// (levels, versions, namespace and runtime class names, duplicates).
Result<PodSecurityConfig> parsePodSecurityConfiguration(const nlohmann::json& obj);

// Reads an AdmissionConfiguration file (apiserver.config.k8s.io/v1, YAML or JSON) and returns
// the PodSecurity plugin's configuration (inline `configuration` or a `path` relative to the
// file); the defaults when the file names no PodSecurity plugin.
Result<PodSecurityConfig> loadAdmissionConfiguration(const std::string& path);

// The plugin over `registry` (namespaces and pods are read through it).
std::shared_ptr<api::AdmissionPlugin> newPodSecurityAdmission(api::Registry& registry,
                                                              PodSecurityConfig config);

// The pod metadata and spec of an object of `resource` ("pods", "deployments", ...): the pod's
// own for pods, the pod template's for workloads; false for kinds without a pod spec or with no
// template set.
bool extractPodSpec(const std::string& group, const std::string& resource,
                    const nlohmann::json& obj, nlohmann::json& metadata, nlohmann::json& spec);

// True when a pod update changes what the checks look at (upstream's isSignificantPodUpdate:
// container counts, images, ephemeral containers added).
bool significantPodUpdate(const nlohmann::json& pod, const nlohmann::json& old_pod);

}  // namespace skiff::master::admission
