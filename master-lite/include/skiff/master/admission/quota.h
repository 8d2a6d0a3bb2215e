#pragma once

// The ResourceQuota and LimitRanger admission plugins (plugin/pkg/admission/resourcequota and
// plugin/pkg/admission/limitranger of Kubernetes 1.32), over the registry they read through.

#include <chrono>
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
//
// The namespace's quotas come from memory, as upstream reads them from an informer-fed lister:
// listed once, then kept current by a store watch that sees every write before the write
// returns, so a quota created or changed just before a create is honoured. A namespace with
// none in memory is looked up live in the store (upstream's live lookup on a lister miss, its
// result reused for `live_ttl`); a refusal is confirmed against the store before it is given,
// and a charge is written only if the quota is still at the revision it was checked at.
//
// A create's charge is committed in the same store transaction as the object
// (api::AdmissionWrites): both or neither are stored, and watchers see the quota's MODIFIED
// and the object's ADDED event. Updates (a Service turned NodePort, a claim grown) write the
// charge first, as upstream does for every request.
struct ResourceQuotaOptions {
  std::chrono::milliseconds live_ttl{std::chrono::seconds(30)};  // upstream's liveTTL
};
std::shared_ptr<api::AdmissionPlugin> newResourceQuotaAdmission(
    api::Registry& registry, const ResourceQuotaOptions& options = {});

}  // namespace skiff::master::admission
