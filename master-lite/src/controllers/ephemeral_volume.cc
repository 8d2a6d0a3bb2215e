// Generic ephemeral volume controller (pkg/controller/volume/ephemeral): for each
// `volumes[].ephemeral.volumeClaimTemplate` of a pod that is not being deleted, the claim
// <pod>-<volume> is created with the template's labels, annotations and spec, and the pod as its
// controlling owner (blockOwnerDeletion), so the garbage collector deletes it with the pod. A
// claim of that name the pod does not control is left alone and reported on the pod
// (FailedBinding); the scheduler and the kubelet refuse to use it.
#include "skiff/master/controllers/controllers.h"
#include "skiff/master/informer/event_recorder.h"
#include "skiff/master/informer/meta.h"
#include "skiff/master/volume/volume.h"

namespace skiff::master {
namespace {

using volume::kPersistentVolumeClaims;

bool hasEphemeralVolumes(const json& pod) {
  const json& vols = meta::at(pod, {"spec", "volumes"});
  if (!vols.is_array()) return false;
  for (const auto& v : vols) {
    if (v.contains("ephemeral")) return true;
  }
  return false;
}

class EphemeralVolumeController : public RecordingController {
 public:
  EphemeralVolumeController(ApiClient& client, std::shared_ptr<Clock> clock)
      : RecordingController("ephemeral-volume", client, std::move(clock), "ephemeral_volume") {}

  void registerHandlers(SharedInformers& inf) override {
    pods_ = &inf.get(gvr::kPods);
    pvcs_ = &inf.get(kPersistentVolumeClaims);
    auto pod = [this](const json& p) {
      if (!meta::isDeleting(p) && hasEphemeralVolumes(p)) queue().add(meta::key(p));
    };
    pods_->addEventHandlers({.on_add = pod,
                             .on_update = [pod](const json&, const json& n) { pod(n); },
                             .on_delete = nullptr});
    // A deleted claim is made again for the pods that still use it (onPVCDelete).
    pvcs_->addEventHandlers({.on_add = nullptr,
                             .on_update = nullptr,
                             .on_delete = [this](const json& pvc) { claimGone(pvc); }});
  }

  Result<void> sync(const std::string& key) override {
    std::string ns, name;
    meta::splitKey(key, &ns, &name);
    auto pod = pods_->get(ns, name);
    if (!pod || meta::isDeleting(*pod)) return {};
    const json& vols = meta::at(*pod, {"spec", "volumes"});
    for (const auto& v : vols.is_array() ? vols : json::array()) {
      std::string err = handleVolume(*pod, v);
      if (err.empty()) continue;
      std::string vol = v.value("name", "");
      recorder_.event(*pod, "Warning", "FailedBinding", "ephemeral volume " + vol + ": " + err);
      return Error(ErrorCode::Internal, "pod " + key + ", ephemeral volume " + vol + ": " + err);
    }
    return {};
  }

 private:
  // "" when the claim exists for the pod or was created; otherwise what went wrong.
  std::string handleVolume(const json& pod, const json& vol) {
    std::string claim = volume::ephemeralClaimName(pod, vol);
    if (claim.empty()) return "";
    if (auto pvc = pvcs_->get(meta::ns(pod), claim)) {
      return volume::ephemeralClaimNotForPod(pod, *pvc);
    }
    const json& tmpl = meta::at(vol, {"ephemeral", "volumeClaimTemplate"});
    json obj = {{"apiVersion", "v1"},
                {"kind", "PersistentVolumeClaim"},
                {"metadata",
                 {{"name", claim},
                  {"namespace", meta::ns(pod)},
                  {"ownerReferences", json::array({meta::makeControllerRef(pod, "v1", "Pod")})}}},
                {"spec", meta::at(tmpl, {"spec"}).is_object() ? tmpl["spec"] : json::object()}};
    for (const char* f : {"labels", "annotations"}) {
      const json& m = meta::at(tmpl, {"metadata", f});
      if (m.is_object() && !m.empty()) obj["metadata"][f] = m;
    }
    auto r = client_.create(kPersistentVolumeClaims, meta::ns(pod), obj);
    // Already there (an informer behind the store): the next sync checks its owner.
    if (!r && r.error().is(ErrorCode::AlreadyExists)) queue().add(meta::key(pod));
    if (!r && !r.error().is(ErrorCode::AlreadyExists))
      return "create PVC " + claim + ": " + r.error().message();
    return "";
  }

  void claimGone(const json& pvc) {
    for (const auto& pod : pods_->listNamespace(meta::ns(pvc))) {
      if (meta::isDeleting(pod)) continue;
      const json& vols = meta::at(pod, {"spec", "volumes"});
      for (const auto& v : vols.is_array() ? vols : json::array()) {
        if (volume::ephemeralClaimName(pod, v) == meta::name(pvc)) queue().add(meta::key(pod));
      }
    }
  }

  Informer* pods_ = nullptr;
  Informer* pvcs_ = nullptr;
};

}  // namespace

const ControllerFactory newEphemeralVolumeController = makeController<EphemeralVolumeController>;

}  // namespace skiff::master
