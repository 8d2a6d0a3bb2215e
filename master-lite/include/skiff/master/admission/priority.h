#pragma once

// The Priority admission plugin (upstream's plugin/pkg/admission/priority), in the registry's
// mutating phase: a new pod's spec.priorityClassName is resolved to spec.priority and
// spec.preemptionPolicy (no name: the globalDefault class if there is one, else priority 0);
// an unknown class, or a priority the pod sets itself that differs, rejects the pod with
// upstream's messages. PriorityClasses: only one may be globalDefault.

#include <memory>

#include "skiff/master/api/admission.h"
#include "skiff/master/api/registry.h"

namespace skiff::master::admission {

std::shared_ptr<api::AdmissionPlugin> newPriorityAdmission(api::Registry& registry);

// kube-apiserver's bootstrap classes (scheduling/bootstrap-system-priority-classes):
// system-node-critical (2000001000) and system-cluster-critical (2000000000). Created when
// missing; idempotent.
Result<void> ensureSystemPriorityClasses(api::Registry& registry);

}  // namespace skiff::master::admission
