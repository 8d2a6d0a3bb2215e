#pragma once

// ServiceAccount admission for pods (plugin/pkg/admission/serviceaccount/admission.go).

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "skiff/common/result.h"

namespace skiff::master::api {

inline constexpr char kServiceAccountTokenMountPath[] =
    "/var/run/secrets/kubernetes.io/serviceaccount";

// The ServiceAccount `name` of namespace `ns`; NotFound when there is none.
using ServiceAccountLookup =
    std::function<Result<nlohmann::json>(const std::string& ns, const std::string& name)>;

// On pod create: spec.serviceAccountName defaults to "default"; the account must exist (403
// `error looking up service account <ns>/<name>: serviceaccount "<name>" not found`, the
// `default` one looked up a few times since its controller may still be creating it); unless
// automountServiceAccountToken is false on the pod (or, when the pod does not say, on the
// account), the projected volume kube-api-access-<5 chars> (token for 3607 s, ca.crt from the
// kube-root-ca.crt ConfigMap, namespace from the downward API) is added and mounted read-only
// at kServiceAccountTokenMountPath in every init container and container that has nothing
// mounted there. Mirror pods are left alone. `pod` is changed only on success.
Result<void> admitPodServiceAccount(nlohmann::json& pod, const ServiceAccountLookup& lookup);

// The kube-api-access volume's projected source (TokenVolumeSource upstream).
nlohmann::json serviceAccountTokenVolumeSource();

}  // namespace skiff::master::api
