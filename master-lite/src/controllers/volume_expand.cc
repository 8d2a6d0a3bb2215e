// Volume expansion (pkg/controller/volume/expand and the external resizer's part for the
// built-in provisioner). A bound claim whose storage request grew past status.capacity (the API
// only lets that through when its class has allowVolumeExpansion) is resized: a local-path
// volume is a directory with no size of its own, so the resize completes at once. The volume's
// spec.capacity becomes the request, then the claim's status gets capacity and
// allocatedResources of the new size, loses the Resizing / FileSystemResizePending conditions
// and its allocatedResourceStatuses entry, as the resizer leaves a finished expansion; events
// Resizing and VolumeResizeSuccessful. Volumes of other provisioners get upstream's
// ExternalExpanding event: no plugin here can expand them.
#include "skiff/common/quantity.h"
#include "skiff/master/controllers/controllers.h"
#include "skiff/master/informer/event_recorder.h"
#include "skiff/master/informer/meta.h"
#include "skiff/master/volume/volume.h"
#include "util.h"

namespace skiff::master {
namespace {

using volume::kPersistentVolumeClaims;
using volume::kPersistentVolumes;

std::optional<std::int64_t> bytes(const json& v) {
  if (!v.is_string()) return std::nullopt;
  auto q = Quantity::parse(v.get<std::string>());
  if (!q) return std::nullopt;
  return q->value();
}

class VolumeExpandController : public RecordingController {
 public:
  VolumeExpandController(ApiClient& client, std::shared_ptr<Clock> clock)
      : RecordingController("volume-expand", client, std::move(clock), "volume_expand") {}

  void registerHandlers(SharedInformers& inf) override {
    pvcs_ = &inf.get(kPersistentVolumeClaims);
    pvs_ = &inf.get(kPersistentVolumes);
    classes_ = &inf.get(volume::kStorageClasses);
    auto claim = [this](const json& c) {
      if (needsResize(c)) queue().add(meta::key(c));
    };
    pvcs_->addEventHandlers({.on_add = claim,
                             .on_update = [claim](const json&, const json& n) { claim(n); },
                             .on_delete = nullptr});
  }

  Result<void> sync(const std::string& key) override {
    std::string ns, name;
    meta::splitKey(key, &ns, &name);
    auto pvc = pvcs_->get(ns, name);
    if (!pvc || !needsResize(*pvc)) return {};
    std::string cls = volume::claimClass(*pvc);
    auto sc = cls.empty() ? std::nullopt : classes_->get("", cls);
    if (!sc || !sc->value("allowVolumeExpansion", false)) return {};
    std::string pv_name = meta::str(*pvc, {"spec", "volumeName"});
    auto pv = pvs_->get("", pv_name);
    if (!pv) return Error(ErrorCode::NotFound, "persistentvolume \"" + pv_name + "\" not found");
    if (meta::str(*pv, {"metadata", "annotations", volume::kAnnProvisionedBy}) !=
        volume::kLocalPathProvisioner) {
      recorder_.event(*pvc, "Normal", "ExternalExpanding",
                      "waiting for an external controller to expand this PVC");
      return {};
    }
    const json want = meta::at(*pvc, {"spec", "resources", "requests", "storage"});
    recorder_.event(*pvc, "Normal", "Resizing", "External resizer is resizing volume " + pv_name);
    auto have = volume::volumeCapacity(*pv);
    if (!have || *have < *bytes(want)) {
      json next = *pv;
      next["spec"]["capacity"]["storage"] = want;
      auto r = client_.update(kPersistentVolumes, "", next);
      if (!r) {
        recorder_.event(*pvc, "Warning", "VolumeResizeFailed", r.error().message());
        return std::move(r).error().wrap("resize persistentvolume " + pv_name);
      }
    }
    SKIFF_TRY(finish(*pvc, want));
    recorder_.event(*pvc, "Normal", "VolumeResizeSuccessful", "Resize volume succeeded");
    return {};
  }

 private:
  // Bound, and asking for more than it has.
  static bool needsResize(const json& pvc) {
    if (meta::isDeleting(pvc) || meta::str(pvc, {"status", "phase"}) != "Bound") return false;
    auto want = volume::claimRequest(pvc);
    auto have = bytes(meta::at(pvc, {"status", "capacity", "storage"}));
    return want && have && *want > *have;
  }

  Result<void> finish(const json& pvc, const json& size) {
    json st = ctl::statusOf(pvc);
    st["capacity"]["storage"] = size;
    st["allocatedResources"]["storage"] = size;
    if (st.contains("allocatedResourceStatuses")) {
      st["allocatedResourceStatuses"].erase("storage");
      if (st["allocatedResourceStatuses"].empty()) st.erase("allocatedResourceStatuses");
    }
    if (st.contains("conditions") && st["conditions"].is_array()) {
      json keep = json::array();
      for (const auto& c : st["conditions"]) {
        std::string t = c.value("type", "");
        if (t != "Resizing" && t != "FileSystemResizePending") keep.push_back(c);
      }
      if (keep.empty()) {
        st.erase("conditions");
      } else {
        st["conditions"] = keep;
      }
    }
    return ctl::updateStatus(client_, kPersistentVolumeClaims, pvc, std::move(st));
  }

  Informer* pvcs_ = nullptr;
  Informer* pvs_ = nullptr;
  Informer* classes_ = nullptr;
};

}  // namespace

const ControllerFactory newVolumeExpandController = makeController<VolumeExpandController>;

}  // namespace skiff::master
