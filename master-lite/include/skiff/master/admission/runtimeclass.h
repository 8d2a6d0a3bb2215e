#pragma once

// The RuntimeClass admission plugin (upstream's plugin/pkg/admission/runtimeclass), in the
// registry's mutating phase: pods naming a RuntimeClass get its overhead.podFixed as
// spec.overhead and its scheduling (nodeSelector, tolerations); an unknown RuntimeClass
// rejects the pod.

#include <memory>

#include "skiff/master/api/admission.h"
#include "skiff/master/api/registry.h"

namespace skiff::master::admission {

std::shared_ptr<api::AdmissionPlugin> newRuntimeClassAdmission(api::Registry& registry);

}  // namespace skiff::master::admission
