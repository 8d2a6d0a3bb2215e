#pragma once

// Dynamic admission control (issue 20): the MutatingWebhookConfigurations and
// ValidatingWebhookConfigurations of the store, called with AdmissionReview v1 over HTTPS, as
// kube-apiserver's MutatingAdmissionWebhook and ValidatingAdmissionWebhook plugins do.
// Mutating webhooks run in the registry's mutating phase (JSONPatch responses applied in
// order, reinvocationPolicy IfNeeded honoured), validating webhooks after the other
// validating plugins. matchConditions are CEL, which skiff does not evaluate: a webhook with
// them is treated as matching, and its configuration is accepted with a Warning.

#include <memory>

#include "skiff/master/api/admission.h"
#include "skiff/master/api/registry.h"

namespace skiff::master::admission {

std::shared_ptr<api::AdmissionPlugin> newWebhookAdmission(api::Registry& registry);

}  // namespace skiff::master::admission
