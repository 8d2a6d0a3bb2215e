#pragma once

// The ResourceQuota and LimitRanger admission plugins (plugin/pkg/admission/resourcequota and
// plugin/pkg/admission/limitranger of Kubernetes 1.32), over the registry they read through.

#include <memory>

#include "skiff/master/api/admission.h"
#include "skiff/master/api/registry.h"

namespace skiff::master::admission {

// LimitRanger: containers get the Container items' default/defaultRequest (mutating), then pods
// and PersistentVolumeClaims are checked against min/max/maxLimitRequestRatio.
std::shared_ptr<api::AdmissionPlugin> newLimitRanger(api::Registry& registry);

// ResourceQuota: a create is refused when it would take a quota's status.used over its
// status.hard; an admitted create is charged to status.used at once, with the quota's
// resourceVersion as the lock (a concurrent charge conflicts and is retried), so concurrent
// creates never over-admit. The resource quota controller recomputes status.used later.
std::shared_ptr<api::AdmissionPlugin> newResourceQuotaAdmission(api::Registry& registry);

}  // namespace skiff::master::admission
