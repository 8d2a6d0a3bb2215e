// The scheduler's volume binding (volume_binding.h).
#include "volume_binding.h"

#include "skiff/master/informer/meta.h"
#include "skiff/master/volume/volume.h"

namespace skiff::master::sched {

VolumeBinding::VolumeBinding(ApiClient& client, const std::function<void()>& changed)
    : client_(client),
      claims_(client, volume::kPersistentVolumeClaims),
      volumes_(client, volume::kPersistentVolumes),
      classes_(client, volume::kStorageClasses) {
  EventHandlers h{.on_add = [changed](const json&) { changed(); },
                  .on_update = [changed](const json&, const json&) { changed(); },
                  .on_delete = nullptr};
  claims_.addEventHandlers(h);
  volumes_.addEventHandlers(h);
  classes_.addEventHandlers(h);
}

Result<void> VolumeBinding::start(bool background) {
  SKIFF_TRY(classes_.start(background));
  SKIFF_TRY(volumes_.start(background));
  return claims_.start(background);
}

void VolumeBinding::stop() {
  claims_.stop();
  volumes_.stop();
  classes_.stop();
}

PodVolumes VolumeBinding::prepare(const json& pod) const {
  PodVolumes out;
  const json& vols = meta::at(pod, {"spec", "volumes"});
  for (const auto& v : vols.is_array() ? vols : json::array()) {
    std::string name = volume::podVolumeClaimName(pod, v);
    if (name.empty()) continue;
    bool ephemeral = !v.contains("persistentVolumeClaim");
    auto pvc = claims_.get(meta::ns(pod), name);
    if (!pvc) {
      // Normal right after a pod with a generic ephemeral volume is created (podHasPVCs).
      out.error = ephemeral ? "waiting for ephemeral volume controller to create the "
                              "persistentvolumeclaim \"" +
                                  name + "\""
                            : "persistentvolumeclaim \"" + name + "\" not found";
      return out;
    }
    if (meta::isDeleting(*pvc)) {
      out.error = "persistentvolumeclaim \"" + name + "\" is being deleted";
      return out;
    }
    if (ephemeral) {
      out.error = volume::ephemeralClaimNotForPod(pod, *pvc);
      if (!out.error.empty()) return out;
    }
    std::string pv_name = meta::str(*pvc, {"spec", "volumeName"});
    if (!pv_name.empty() && meta::str(*pvc, {"status", "phase"}) == "Bound") {
      if (auto pv = volumes_.get("", pv_name)) out.bound_volumes.push_back(*pv);
      continue;
    }
    std::string cls = volume::claimClass(*pvc);
    auto sc = cls.empty() ? std::nullopt : classes_.get("", cls);
    if (sc && sc->value("volumeBindingMode", "") == "WaitForFirstConsumer") {
      out.delayed_claims.push_back(*pvc);
      continue;
    }
    out.error = "pod has unbound immediate PersistentVolumeClaims";
    return out;
  }
  return out;
}

std::string VolumeBinding::filter(const PodVolumes& vols, const json& node) const {
  for (const auto& pv : vols.bound_volumes) {
    if (!volume::nodeAffinityAdmits(pv, node)) {
      return "node(s) didn't match PersistentVolume's node affinity";
    }
  }
  if (vols.delayed_claims.empty()) return "";
  std::vector<json> pvs = volumes_.list();
  std::int64_t to_provision = 0;  // bytes the built-in provisioner would take on this node
  for (const auto& pvc : vols.delayed_claims) {
    if (volume::findMatchingVolume(pvs, pvc, &node) >= 0) continue;
    auto sc = classes_.get("", volume::claimClass(pvc));
    std::string provisioner = sc ? sc->value("provisioner", "") : "";
    if (provisioner.empty() || provisioner == "kubernetes.io/no-provisioner") {
      return "node(s) didn't find available persistent volumes to bind";
    }
    if (provisioner == volume::kLocalPathProvisioner)
      to_provision += volume::claimRequest(pvc).value_or(0);
  }
  if (to_provision > 0) {
    auto free = volume::localPathSpaceLeft(pvs, node);
    if (free && to_provision > *free) return "node(s) did not have enough free storage";
  }
  return "";
}

Result<void> VolumeBinding::preBind(const PodVolumes& vols, const std::string& node) {
  for (const auto& pvc : vols.delayed_claims) {
    if (meta::str(pvc, {"metadata", "annotations", volume::kAnnSelectedNode}) == node) continue;
    json patch = {{"metadata", {{"annotations", {{volume::kAnnSelectedNode, node}}}}}};
    SKIFF_TRY(client_.patch(volume::kPersistentVolumeClaims, meta::ns(pvc), meta::name(pvc),
                            PatchType::Merge, patch));
  }
  return {};
}

}  // namespace skiff::master::sched
