// ServiceAccount admission (plugin/pkg/admission/serviceaccount/admission.go): which account a
// pod runs as, that it exists, and the projected token volume the kubelet fills.
#include "serviceaccount_admission.h"

#include <chrono>
#include <thread>

#include "skiff/master/api/object_util.h"

namespace skiff::master::api {
namespace {

using json = nlohmann::json;

constexpr char kVolumePrefix[] = "kube-api-access-";
constexpr int kDefaultAccountAttempts = 10;

// The `default` account may not exist yet in a namespace created a moment ago: upstream tries
// 10 times, 100-200 ms apart, before refusing the pod.
Result<json> getAccount(const ServiceAccountLookup& lookup, const std::string& ns,
                        const std::string& name) {
  int attempts = name == "default" ? kDefaultAccountAttempts : 1;
  for (int i = 0;; ++i) {
    auto sa = lookup(ns, name);
    if (sa || !sa.error().is(ErrorCode::NotFound) || i + 1 >= attempts) return sa;
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
  }
}

bool shouldAutomount(const json& spec, const json& account) {
  if (spec.contains("automountServiceAccountToken") &&
      spec["automountServiceAccountToken"].is_boolean())
    return spec["automountServiceAccountToken"].get<bool>();
  if (account.contains("automountServiceAccountToken") &&
      account["automountServiceAccountToken"].is_boolean())
    return account["automountServiceAccountToken"].get<bool>();
  return true;
}

// Appends the mount to every container of `list` with nothing at the token path; true when
// one got it.
bool mountInto(json& list, const json& mount) {
  if (!list.is_array()) return false;
  bool added = false;
  for (auto& c : list) {
    if (!c.is_object()) continue;
    json& mounts = c["volumeMounts"];
    if (!mounts.is_array()) mounts = json::array();
    bool taken = false;
    for (const auto& m : mounts) taken |= m.value("mountPath", "") == kServiceAccountTokenMountPath;
    if (taken) continue;
    mounts.push_back(mount);
    added = true;
  }
  return added;
}

void mountToken(json& spec) {
  std::string volume_name;
  json& volumes = spec["volumes"];
  if (!volumes.is_array()) volumes = json::array();
  for (const auto& v : volumes) {
    std::string n = v.value("name", "");
    if (n.rfind(kVolumePrefix, 0) == 0) {
      volume_name = n;
      break;
    }
  }
  bool has_volume = !volume_name.empty();
  if (!has_volume) volume_name = kVolumePrefix + randomSuffix();
  json mount = {
      {"name", volume_name}, {"readOnly", true}, {"mountPath", kServiceAccountTokenMountPath}};
  bool needed = mountInto(spec["initContainers"], mount);
  needed |= mountInto(spec["containers"], mount);
  if (spec["initContainers"].empty()) spec.erase("initContainers");
  if (!has_volume && needed)
    volumes.push_back({{"name", volume_name}, {"projected", serviceAccountTokenVolumeSource()}});
  if (volumes.empty()) spec.erase("volumes");
}

}  // namespace

json serviceAccountTokenVolumeSource() {
  return {
      {"defaultMode", 0644},
      {"sources",
       {{{"serviceAccountToken", {{"expirationSeconds", 3607}, {"path", "token"}}}},
        {{"configMap",
          {{"name", "kube-root-ca.crt"}, {"items", {{{"key", "ca.crt"}, {"path", "ca.crt"}}}}}}},
        {{"downwardAPI",
          {{"items",
            {{{"path", "namespace"},
              {"fieldRef", {{"apiVersion", "v1"}, {"fieldPath", "metadata.namespace"}}}}}}}}}}}};
}

Result<void> admitPodServiceAccount(json& pod, const ServiceAccountLookup& lookup) {
  if (!pod.contains("spec") || !pod["spec"].is_object()) return ok();
  if (!at(pod, {"metadata", "annotations", "kubernetes.io/config.mirror"}).is_null()) return ok();
  json spec = pod["spec"];
  std::string name = spec.value("serviceAccountName", "");
  if (name.empty()) name = spec.value("serviceAccount", "");
  if (name.empty()) name = "default";
  std::string ns = str(pod, {"metadata", "namespace"});
  auto account = getAccount(lookup, ns, name);
  if (!account) {
    std::string pod_name = str(pod, {"metadata", "name"});
    std::string cause = account.error().is(ErrorCode::NotFound)
                            ? "serviceaccount \"" + name + "\" not found"
                            : account.error().message();
    return Error(ErrorCode::Forbidden, "pods \"" + pod_name +
                                           "\" is forbidden: error looking up service account " +
                                           ns + "/" + name + ": " + cause);
  }
  spec["serviceAccountName"] = name;
  spec["serviceAccount"] = name;
  if (shouldAutomount(spec, *account)) mountToken(spec);
  pod["spec"] = std::move(spec);
  return ok();
}

}  // namespace skiff::master::api
