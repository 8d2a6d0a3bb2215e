// PersistentVolume controller (pkg/controller/volume/persistentvolume, pvcprotection,
// pvprotection): binds claims to volumes (class, access modes, capacity, selector, volumeMode,
// volumeName; the smallest fit), keeps the phases (Pending/Available/Bound/Released/Failed) and
// the bind-completed / bound-by-controller annotations, provisions claims of the built-in
// local-path class on the node the scheduler chose (volume.kubernetes.io/selected-node), and
// removes the protection finalizers once a claim is used by no pod / a volume is not bound.
//
// Reclaim: Retain leaves a Released volume alone; Delete of a volume the built-in provisioner
// made is finished by the agent of the volume's node (it removes the directory, then the PV,
// since the master never touches a node's disk); Delete of any other volume fails with the
// upstream event, as kube-controller-manager has no deleter for it.
#include <algorithm>

#include "skiff/master/controllers/controllers.h"
#include "skiff/master/informer/event_recorder.h"
#include "skiff/master/informer/meta.h"
#include "skiff/master/volume/volume.h"
#include "util.h"

namespace skiff::master {
namespace {

using volume::kPersistentVolumeClaims;
using volume::kPersistentVolumes;
using volume::kStorageClasses;

using meta::hasFinalizer;

json withoutFinalizer(json obj, const std::string& f) {
  json& fins = obj["metadata"]["finalizers"];
  json keep = json::array();
  for (const auto& x : fins) {
    if (x != f) keep.push_back(x);
  }
  fins = keep;
  return obj;
}

bool podUsesClaim(const json& pod, const std::string& claim) {
  std::string phase = meta::str(pod, {"status", "phase"});
  if (phase == "Succeeded" || phase == "Failed") return false;
  for (const auto& v : meta::at(pod, {"spec", "volumes"}).is_array()
                           ? meta::at(pod, {"spec", "volumes"})
                           : json::array()) {
    if (volume::podVolumeClaimName(pod, v) == claim) return true;
  }
  return false;
}

class PersistentVolumeController : public RecordingController {
 public:
  PersistentVolumeController(ApiClient& client, std::shared_ptr<Clock> clock)
      : RecordingController("persistentvolume-binder", client, std::move(clock),
                            "persistentvolume-controller") {}

  void registerHandlers(SharedInformers& inf) override {
    pvs_ = &inf.get(kPersistentVolumes);
    pvcs_ = &inf.get(kPersistentVolumeClaims);
    classes_ = &inf.get(kStorageClasses);
    pods_ = &inf.get(gvr::kPods);
    auto claim = [this](const json& o) { queue().add("claim:" + meta::key(o)); };
    auto vol = [this](const json& o) {
      queue().add("volume:" + meta::name(o));
      const json& ref = meta::at(o, {"spec", "claimRef"});
      if (ref.is_object())
        queue().add("claim:" + meta::key(ref.value("namespace", ""), ref.value("name", "")));
    };
    // A deleted claim releases its volume.
    auto claim_gone = [this, claim](const json& o) {
      claim(o);
      std::string v = meta::str(o, {"spec", "volumeName"});
      if (!v.empty()) queue().add("volume:" + v);
    };
    pvcs_->addEventHandlers({.on_add = claim,
                             .on_update = [claim](const json&, const json& n) { claim(n); },
                             .on_delete = claim_gone});
    pvs_->addEventHandlers({.on_add = vol,
                            .on_update = [vol](const json&, const json& n) { vol(n); },
                            .on_delete = nullptr});
    // A pod going away may release a claim's protection; a new class may let claims bind.
    auto pod_claims = [this](const json& pod) {
      for (const auto& v : meta::at(pod, {"spec", "volumes"}).is_array()
                               ? meta::at(pod, {"spec", "volumes"})
                               : json::array()) {
        std::string c = volume::podVolumeClaimName(pod, v);
        if (!c.empty()) queue().add("claim:" + meta::key(meta::ns(pod), c));
      }
    };
    pods_->addEventHandlers(
        {.on_add = nullptr,
         .on_update = [pod_claims](const json&, const json& n) { pod_claims(n); },
         .on_delete = pod_claims});
    classes_->addEventHandlers({.on_add = [this](const json&) { requeueClaims(); },
                                .on_update = nullptr,
                                .on_delete = nullptr});
  }

  Duration resyncPeriod() const override { return std::chrono::seconds(15); }
  void resync() override {
    requeueClaims();
    for (const auto& pv : pvs_->list()) queue().add("volume:" + meta::name(pv));
  }

  Result<void> sync(const std::string& key) override {
    if (key.rfind("claim:", 0) == 0) {
      std::string ns, name;
      meta::splitKey(key.substr(6), &ns, &name);
      auto pvc = pvcs_->get(ns, name);
      if (!pvc) return {};
      return syncClaim(*pvc);
    }
    auto pv = pvs_->get("", key.substr(7));
    if (!pv) return {};
    return syncVolume(*pv);
  }

 private:
  void requeueClaims() {
    for (const auto& c : pvcs_->list()) {
      if (meta::str(c, {"status", "phase"}) != "Bound") queue().add("claim:" + meta::key(c));
    }
  }

  Result<void> syncClaim(const json& pvc) {
    if (meta::isDeleting(pvc)) return releaseClaimProtection(pvc);
    std::string volume_name = meta::str(pvc, {"spec", "volumeName"});
    if (meta::str(pvc, {"status", "phase"}) == "Bound" && !volume_name.empty()) {
      auto pv = pvs_->get("", volume_name);
      if (!pv && !client_.get(kPersistentVolumes, "", volume_name)) {
        recorder_.event(pvc, "Warning", "ClaimLost",
                        "Bound claim has lost its PersistentVolume. Data on the volume is lost!");
        return setClaimPhase(pvc, "Lost", nullptr);
      }
      return {};
    }
    std::vector<json> pvs = pvs_->list();
    std::string cls = volume::claimClass(pvc);
    std::optional<json> sc = cls.empty() ? std::nullopt : classes_->get("", cls);
    bool wait_for_consumer = sc && sc->value("volumeBindingMode", "") == "WaitForFirstConsumer";
    std::string node_name = meta::str(pvc, {"metadata", "annotations", volume::kAnnSelectedNode});
    json node;
    if (!node_name.empty()) {
      auto got = client_.get(gvr::kNodes, "", node_name);
      if (got) node = *got;
    }
    if (wait_for_consumer && node_name.empty() && volume_name.empty()) {
      // Pre-bound volumes are claimed right away; the rest waits for the scheduler.
      int i = volume::findMatchingVolume(pvs, pvc);
      if (i >= 0 && volume::boundTo(pvs[i], pvc)) return bind(pvs[i], pvc);
      recorder_.event(pvc, "Normal", "WaitForFirstConsumer",
                      "waiting for first consumer to be created before binding");
      return {};
    }
    int i = volume::findMatchingVolume(pvs, pvc, node.is_null() ? nullptr : &node);
    if (i >= 0) return bind(pvs[i], pvc);
    if (!volume_name.empty()) {
      recorder_.event(pvc, "Warning", "FailedBinding",
                      "volume \"" + volume_name + "\" not found or not available for this claim");
      return {};
    }
    std::string root = meta::str(node, {"metadata", "annotations", "skiff.io/storage-root"});
    return provision(pvc, cls, sc, node_name, root.empty() ? volume::kDefaultStorageRoot : root);
  }

  Result<void> provision(const json& pvc, const std::string& cls, const std::optional<json>& sc,
                         const std::string& node, const std::string& root) {
    if (cls.empty()) {
      recorder_.event(pvc, "Normal", "FailedBinding",
                      "no persistent volumes available for this claim and no storage class is set");
      return {};
    }
    if (!sc) {
      recorder_.event(pvc, "Warning", "ProvisioningFailed",
                      "storageclass.storage.k8s.io \"" + cls + "\" not found");
      return {};
    }
    std::string provisioner = sc->value("provisioner", "");
    if (provisioner == "kubernetes.io/no-provisioner") {
      recorder_.event(pvc, "Normal", "WaitForPodScheduled", "waiting for pod to be scheduled");
      return {};
    }
    if (provisioner != volume::kLocalPathProvisioner) {
      SKIFF_TRY(annotateProvisioner(pvc, provisioner));
      recorder_.event(pvc, "Normal", "ExternalProvisioning",
                      "Waiting for a volume to be created either by the external provisioner '" +
                          provisioner +
                          "' or manually by the system administrator. If volume creation is "
                          "delayed, please verify that the provisioner is running and correctly "
                          "registered.");
      return {};
    }
    if (node.empty()) {
      recorder_.event(pvc, "Warning", "ProvisioningFailed",
                      "failed to provision volume with StorageClass \"" + cls +
                          "\": configuration error, no node was specified");
      return {};
    }
    SKIFF_TRY(annotateProvisioner(pvc, provisioner));
    std::string key = meta::key(pvc);
    recorder_.event(pvc, "Normal", "Provisioning",
                    "External provisioner is provisioning volume for claim \"" + key + "\"");
    json pv = volume::provisionLocalPathVolume(pvc, *sc, node, root);
    auto made = client_.create(kPersistentVolumes, "", pv);
    if (!made && !made.error().is(ErrorCode::AlreadyExists)) {
      recorder_.event(pvc, "Warning", "ProvisioningFailed",
                      "failed to provision volume with StorageClass \"" + cls +
                          "\": " + made.error().message());
      return std::move(made).error();
    }
    recorder_.event(pvc, "Normal", "ProvisioningSucceeded",
                    "Successfully provisioned volume " + meta::str(pv, {"metadata", "name"}));
    return {};
  }

  Result<void> annotateProvisioner(const json& pvc, const std::string& provisioner) {
    if (meta::str(pvc, {"metadata", "annotations", volume::kAnnStorageProvisioner}) == provisioner)
      return {};
    json next = pvc;
    next["metadata"]["annotations"][volume::kAnnStorageProvisioner] = provisioner;
    next["metadata"]["annotations"][volume::kAnnBetaStorageProvisioner] = provisioner;
    auto r = client_.update(kPersistentVolumeClaims, meta::ns(pvc), next);
    if (!r && !r.error().is(ErrorCode::Conflict) && !r.error().is(ErrorCode::NotFound))
      return std::move(r).error();
    return {};
  }

  // bindVolumeToClaim, then bindClaimToVolume, then the two statuses.
  Result<void> bind(const json& pv_in, const json& pvc_in) {
    json pv = pv_in;
    if (!volume::boundTo(pv, pvc_in) || meta::str(pv, {"spec", "claimRef", "uid"}).empty()) {
      pv["spec"]["claimRef"] = {
          {"kind", "PersistentVolumeClaim"},
          {"namespace", meta::ns(pvc_in)},
          {"name", meta::name(pvc_in)},
          {"uid", meta::str(pvc_in, {"metadata", "uid"})},
          {"apiVersion", "v1"},
          {"resourceVersion", meta::str(pvc_in, {"metadata", "resourceVersion"})}};
      if (!meta::at(pv_in, {"spec", "claimRef"}).is_object())
        pv["metadata"]["annotations"][volume::kAnnBoundByController] = "yes";
      SKIFF_ASSIGN_OR_RETURN(pv, client_.update(kPersistentVolumes, "", pv));
    }
    if (meta::str(pv, {"status", "phase"}) != "Bound") {
      json st = pv;
      st["status"]["phase"] = "Bound";
      st["status"]["lastPhaseTransitionTime"] = formatTime(clock().now());
      SKIFF_ASSIGN_OR_RETURN(pv, client_.update(kPersistentVolumes, "", st, "status"));
    }
    json pvc = pvc_in;
    std::string pv_name = meta::name(pv);
    if (meta::str(pvc, {"spec", "volumeName"}) != pv_name ||
        meta::str(pvc, {"metadata", "annotations", volume::kAnnBindCompleted}) != "yes") {
      if (meta::str(pvc, {"spec", "volumeName"}).empty())
        pvc["metadata"]["annotations"][volume::kAnnBoundByController] = "yes";
      pvc["spec"]["volumeName"] = pv_name;
      pvc["metadata"]["annotations"][volume::kAnnBindCompleted] = "yes";
      SKIFF_ASSIGN_OR_RETURN(pvc, client_.update(kPersistentVolumeClaims, meta::ns(pvc), pvc));
    }
    return setClaimPhase(pvc, "Bound", &pv);
  }

  Result<void> setClaimPhase(const json& pvc, const std::string& phase, const json* pv) {
    json status = ctl::statusOf(pvc);
    status["phase"] = phase;
    if (pv) {
      status["accessModes"] = meta::at(*pv, {"spec", "accessModes"});
      // Capacity only as the claim becomes Bound: afterwards the resizer owns it.
      if (meta::str(pvc, {"status", "phase"}) != phase)
        status["capacity"] = meta::at(*pv, {"spec", "capacity"});
    }
    if (status == meta::at(pvc, {"status"})) return {};
    return ctl::updateStatus(client_, kPersistentVolumeClaims, pvc, std::move(status));
  }

  Result<void> releaseClaimProtection(const json& pvc) {
    if (!hasFinalizer(pvc, volume::kPvcProtection)) return {};
    for (const auto& pod : pods_->list()) {
      if (meta::ns(pod) == meta::ns(pvc) && podUsesClaim(pod, meta::name(pvc))) return {};
    }
    // The informer may lag behind a pod just created: ask the API server (as upstream does).
    ListOptions opts;
    auto live = client_.list(gvr::kPods, meta::ns(pvc), opts);
    if (!live) return std::move(live).error();
    for (const auto& pod : live->items) {
      if (podUsesClaim(pod, meta::name(pvc))) return {};
    }
    return ctl::ignoreNotFound(client_.update(kPersistentVolumeClaims, meta::ns(pvc),
                                              withoutFinalizer(pvc, volume::kPvcProtection)));
  }

  Result<void> syncVolume(const json& pv) {
    std::string phase = meta::str(pv, {"status", "phase"});
    if (meta::isDeleting(pv)) {
      if (phase != "Bound" && hasFinalizer(pv, volume::kPvProtection)) {
        SKIFF_TRY(ctl::ignoreNotFound(
            client_.update(kPersistentVolumes, "", withoutFinalizer(pv, volume::kPvProtection))));
      }
      return {};
    }
    const json& ref = meta::at(pv, {"spec", "claimRef"});
    if (!ref.is_object()) return setVolumePhase(pv, "Available", "", "");
    std::string ns = ref.value("namespace", ""), name = ref.value("name", "");
    std::string uid = ref.value("uid", "");
    auto pvc = pvcs_->get(ns, name);
    if (!pvc) {
      auto live = client_.get(kPersistentVolumeClaims, ns, name);
      if (live) pvc = *live;
    }
    if (pvc && (uid.empty() || meta::str(*pvc, {"metadata", "uid"}) == uid)) {
      if (meta::str(*pvc, {"spec", "volumeName"}) == meta::name(pv))
        return setVolumePhase(pv, "Bound", "", "");
      // Pre-bound, or bound by us and the claim not yet updated: the claim's sync binds it.
      if (phase != "Available" && phase != "Pending") return {};
      return setVolumePhase(pv, "Available", "", "");
    }
    if (uid.empty()) return setVolumePhase(pv, "Available", "", "");
    return reclaim(pv);
  }

  Result<void> reclaim(const json& pv) {
    std::string phase = meta::str(pv, {"status", "phase"});
    if (phase == "Failed") return {};
    std::string policy = meta::str(pv, {"spec", "persistentVolumeReclaimPolicy"});
    if (policy == "Delete" &&
        meta::str(pv, {"metadata", "annotations", volume::kAnnProvisionedBy}) !=
            volume::kLocalPathProvisioner) {
      std::string msg = "error getting deleter volume plugin for volume \"" + meta::name(pv) +
                        "\": no deletable volume plugin matched";
      recorder_.event(pv, "Warning", "VolumeFailedDelete", msg);
      return setVolumePhase(pv, "Failed", "", msg);
    }
    if (policy == "Recycle") {
      recorder_.event(pv, "Warning", "VolumeFailedRecycle",
                      "No recycler plugin found for the volume!");
    }
    // Retain: the administrator reclaims it; Delete (local-path): the node's agent does.
    return setVolumePhase(pv, "Released", "", "");
  }

  Result<void> setVolumePhase(const json& pv, const std::string& phase, const std::string& reason,
                              const std::string& message) {
    if (meta::str(pv, {"status", "phase"}) == phase &&
        meta::str(pv, {"status", "message"}) == message)
      return {};
    json status = ctl::statusOf(pv);
    status["phase"] = phase;
    status["lastPhaseTransitionTime"] = formatTime(clock().now());
    if (!reason.empty()) status["reason"] = reason;
    if (!message.empty()) status["message"] = message;
    return ctl::updateStatus(client_, kPersistentVolumes, pv, std::move(status));
  }

  Informer* pvs_ = nullptr;
  Informer* pvcs_ = nullptr;
  Informer* classes_ = nullptr;
  Informer* pods_ = nullptr;
};

}  // namespace

const ControllerFactory newPersistentVolumeController = makeController<PersistentVolumeController>;

}  // namespace skiff::master
