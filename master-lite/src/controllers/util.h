#pragma once

// Helpers shared by the controllers (upstream: pkg/controller/controller_utils.go,
// pkg/api/v1/pod/util.go, deployment/util).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "skiff/master/client/api_client.h"
#include "skiff/master/informer/clock.h"
#include "skiff/master/informer/informer.h"
#include "skiff/master/selectors.h"

namespace skiff::master::ctl {

// The object at `key` (namespace/name, or the name of a cluster-scoped object) of `r` read
// through the API; nullopt when it is gone (NotFound), any other error as is.
Result<std::optional<json>> getIfExists(ApiClient& client, const GroupVersionResource& r,
                                        const std::string& key);

// `r` without its value, NotFound counted as success: the outcome of a write or delete of an
// object that may have been deleted meanwhile (there is nothing left to write).
template <typename T>
Result<void> ignoreNotFound(Result<T> r) {
  if (!r && !r.error().is(ErrorCode::NotFound)) return std::move(r).error();
  return {};
}

// The status of `obj`; an empty object when it has none.
json statusOf(const json& obj);
// Writes `status` through the status subresource of `obj` (of `r`, as read, resourceVersion and
// all); NotFound, the object deleted meanwhile, is not an error.
Result<void> updateStatus(ApiClient& client, const GroupVersionResource& r, const json& obj,
                          json status);

// The ControllerRevision of the current pod template of `owner` (a DaemonSet or StatefulSet),
// as far as it exists, among the ControllerRevisions the owner controls.
struct TemplateRevision {
  std::string hash;               // of spec.template (computeHash)
  std::string name;               // <owner's name>-<hash>
  std::optional<json> existing;   // the owner's ControllerRevision of that name
  std::int64_t max_revision = 0;  // the highest revision of the owner's
};
Result<TemplateRevision> templateRevision(ApiClient& client, const json& owner);
// Creates `rev` as the ControllerRevision `rev.name`, controlled by `owner` (apps/v1
// `owner_kind`), with `labels`, data.spec.template `tmpl` and the revision after the highest;
// one already there (a sync that ran meanwhile) is kept.
Result<void> createRevision(ApiClient& client, const json& owner, const std::string& owner_kind,
                            const TemplateRevision& rev, json labels, json tmpl);

// Registers handlers on `inf` that call `affected` with every object added, updated or deleted,
// and after an update that changed its labels with the old object too: what selected the old
// labels (a Service, a PodDisruptionBudget) may no longer select it.
void onChangeWithOldLabels(Informer& inf, const std::function<void(const json&)>& affected);

// The object a workload controller's sync(key) works on: `key` (namespace/name) of `r` read
// through the API with its kind set; nullopt when it is gone or being deleted (nothing to do).
Result<std::optional<json>> liveObject(ApiClient& client, const GroupVersionResource& r,
                                       const std::string& key, const std::string& kind);

bool isTerminal(const json& pod);
// Active: not terminal and not being deleted (controller.IsPodActive).
bool isActive(const json& pod);
bool isReady(const json& pod);
// Ready for at least min_ready_seconds at `now` (podutil.IsPodAvailable).
bool isAvailable(const json& pod, std::int64_t min_ready_seconds, TimePoint now);
// When the pod turned Ready (its Ready condition's lastTransitionTime), if it is Ready.
std::optional<TimePoint> readySince(const json& pod);

// intstr.GetScaledValueFromIntOrPercent: ints as is, "25%" of total rounded up or down.
Result<std::int64_t> scaledValue(const json& int_or_percent, std::int64_t total, bool round_up);

// FNV-32a over the template's canonical JSON and the collision count, encoded with
// rand.SafeEncodeString, as controller.ComputeHash does (names like "7d4b9c8f5d").
std::string computeHash(const json& pod_template, std::optional<std::int64_t> collision_count);
std::string safeEncodeString(const std::string& s);

// The pod template as a Go client re-encodes it (go_template_form.cc): zero values of
// non-pointer omitempty fields dropped, metadata.creationTimestamp null when unset.
json goTemplateForm(const json& pod_template);

// A Pod for the controller from its template (controller.GetPodFromTemplate).
json podFromTemplate(const json& pod_template, const json& owner_ref,
                     const std::string& generate_name);

// Group/version/resource for an ownerReference's apiVersion+kind; nullopt for kinds we do not
// manage.
std::optional<GroupVersionResource> gvrForKind(const std::string& api_version,
                                               const std::string& kind);

// The parsed spec.selector of a workload; matches nothing when absent/invalid.
LabelSelector workloadSelector(const json& obj);

// Claims pods for a controller (PodControllerRefManager.ClaimPods): returns the pods it owns
// and that match; adopts matching orphans and releases owned pods that no longer match.
Result<std::vector<json>> claimObjects(ApiClient& client, const GroupVersionResource& r,
                                       const json& owner, const json& owner_ref,
                                       const LabelSelector& selector,
                                       const std::vector<json>& candidates);
// The same over informer-cache objects, without copying them (Informer::byIndexShared).
Result<std::vector<Informer::ObjectPtr>> claimObjects(
    ApiClient& client, const GroupVersionResource& r, const json& owner, const json& owner_ref,
    const LabelSelector& selector, const std::vector<Informer::ObjectPtr>& candidates);

json condition(const std::string& type, const std::string& status, const std::string& reason,
               const std::string& message, TimePoint now);
// Replaces (or adds) a condition of the same type, keeping lastTransitionTime when the status
// did not change. Returns true if anything changed apart from lastUpdateTime/heartbeat.
bool setCondition(json& conditions, json cond);
const json* findCondition(const json& conditions, const std::string& type);

}  // namespace skiff::master::ctl
