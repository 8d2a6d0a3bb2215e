// A pod template in the form a Go client re-encodes it (encoding/json over the typed
// k8s.io/api structs). daemon.Match, which `kubectl rollout` and the e2e tests use to find a
// DaemonSet's current ControllerRevision, compares the revision's data byte for byte with that
// encoding of the DaemonSet; the stored template can hold zero values Go never writes (a
// protobuf create carries every non-pointer field: "stdin":false, "hostPort":0,
// "generation":0), so the data is written in Go's form.
#include <set>
#include <string>

#include "util.h"

namespace skiff::master::ctl {
namespace {

// Scalar fields in the pod template tree that are pointers in Go: their zero values are kept.
// Every other false / 0 is a non-pointer omitempty field, which Go leaves out.
const std::set<std::string>& pointerScalars() {
  static const std::set<std::string> keys = {
      // PodSpec
      "terminationGracePeriodSeconds", "activeDeadlineSeconds", "automountServiceAccountToken",
      "shareProcessNamespace", "priority", "enableServiceLinks", "setHostnameAsFQDN", "hostUsers",
      // (Pod)SecurityContext, WindowsSecurityContextOptions
      "privileged", "runAsUser", "runAsGroup", "runAsNonRoot", "readOnlyRootFilesystem",
      "allowPrivilegeEscalation", "fsGroup", "hostProcess",
      // volume sources, key selectors, projections
      "optional", "defaultMode", "mode", "expirationSeconds",
      // Toleration, TopologySpreadConstraint
      "tolerationSeconds", "minDomains"};
  return keys;
}

// map[string]string / ResourceList fields: Go's omitempty drops them when empty (structs
// and pointers to structs, written as {}, are kept).
const std::set<std::string>& mapFields() {
  static const std::set<std::string> keys = {"labels", "annotations", "nodeSelector",
                                             "limits", "requests",    "overhead"};
  return keys;
}

void normalize(json& v) {
  if (v.is_array()) {
    for (auto& x : v) normalize(x);
    return;
  }
  if (!v.is_object()) return;
  for (auto it = v.begin(); it != v.end();) {
    const std::string& k = it.key();
    json& x = it.value();
    normalize(x);
    bool zero_scalar =
        (x.is_boolean() && !x.get<bool>()) || (x.is_number_integer() && x.get<std::int64_t>() == 0);
    bool drop = x.is_null() || (zero_scalar && pointerScalars().count(k) == 0) ||
                (x.is_string() && x.get<std::string>().empty() && k != "type") ||
                (x.is_array() && x.empty() && k != "containers") ||
                (x.is_object() && x.empty() && mapFields().count(k) != 0);
    it = drop ? v.erase(it) : std::next(it);
  }
}

}  // namespace

json goTemplateForm(const json& pod_template) {
  json out = pod_template.is_object() ? pod_template : json::object();
  normalize(out);
  // ObjectMeta.CreationTimestamp is a struct: always written, null when unset.
  if (!out.contains("metadata") || !out["metadata"].is_object()) out["metadata"] = json::object();
  if (!out["metadata"].contains("creationTimestamp"))
    out["metadata"]["creationTimestamp"] = nullptr;
  return out;
}

}  // namespace skiff::master::ctl
