// PersistentVolumes, PersistentVolumeClaims and StorageClasses (pkg/registry/core/
// persistentvolume{,claim}/strategy.go, pkg/registry/storage/storageclass/strategy.go): type
// defaults (SetDefaults_PersistentVolume{,Claim}, SetDefaults_StorageClass), validation with
// upstream's field paths and messages (storage_validation.cc), and the admission plugins that
// touch these kinds: DefaultStorageClass (a claim without storageClassName gets the default
// class), StorageObjectInUseProtection (the pvc-protection and pv-protection finalizers the PV
// controller removes) and PersistentVolumeClaimResize.
#include "skiff/master/api/object_util.h"
#include "skiff/master/api/registry.h"
#include "skiff/master/api/storage.h"
#include "skiff/master/api/strategy.h"
#include "skiff/master/volume/volume.h"
#include "strategies.h"

namespace skiff::master::api {
namespace {

void addFinalizer(json& obj, const std::string& f) {
  json& fins = obj["metadata"]["finalizers"];
  if (!fins.is_array()) fins = json::array();
  for (const auto& x : fins) {
    if (x == f) return;
  }
  fins.push_back(f);
}

class PersistentVolumeStrategy : public Strategy {
 public:
  void prepareForCreate(const ResourceInfo&, json& obj) const override {
    obj["status"] = {{"phase", "Pending"}, {"lastPhaseTransitionTime", formatTime(Clock::now())}};
  }
  void defaults(const ResourceInfo& r, json& obj) const override {
    Strategy::defaults(r, obj);
    json& spec = specForDefaults(obj);
    setIfMissing(spec, "persistentVolumeReclaimPolicy", "Retain");
    setIfMissing(spec, "volumeMode", "Filesystem");
    if (spec.contains("hostPath") && spec["hostPath"].is_object())
      setIfMissing(spec["hostPath"], "type", "");
  }
  FieldErrors validate(const ResourceInfo& r, const json& obj, const json* old) const override {
    FieldErrors errs = Strategy::validate(r, obj, old);
    for (auto& e : validatePersistentVolume(obj, old)) errs.push_back(std::move(e));
    return errs;
  }
  Result<void> admitCreate(const ResourceInfo&, json& obj, const WriteOptions&) override {
    addFinalizer(obj, volume::kPvProtection);
    return ok();
  }
};

class PersistentVolumeClaimStrategy : public Strategy {
 public:
  explicit PersistentVolumeClaimStrategy(Registry& registry) : registry_(registry) {}

  void prepareForCreate(const ResourceInfo&, json& obj) const override {
    obj["status"] = {{"phase", "Pending"}};
  }
  void defaults(const ResourceInfo& r, json& obj) const override {
    Strategy::defaults(r, obj);
    json& spec = specForDefaults(obj);
    setIfMissing(spec, "volumeMode", "Filesystem");
  }
  FieldErrors validate(const ResourceInfo& r, const json& obj, const json* old) const override {
    FieldErrors errs = Strategy::validate(r, obj, old);
    for (auto& e : validatePersistentVolumeClaim(obj, old)) errs.push_back(std::move(e));
    return errs;
  }
  // DefaultStorageClass, then StorageObjectInUseProtection.
  Result<void> admitCreate(const ResourceInfo&, json& obj, const WriteOptions&) override {
    json& spec = obj["spec"];
    if (!spec.contains("storageClassName") || spec["storageClassName"].is_null()) {
      auto classes =
          registry_.list(*findResource("storage.k8s.io", "v1", "storageclasses"), "", {});
      if (!classes) return std::move(classes).error();
      std::string name = volume::defaultStorageClass((*classes)["items"]);
      if (!name.empty()) spec["storageClassName"] = name;
    }
    addFinalizer(obj, volume::kPvcProtection);
    return ok();
  }
  // PersistentVolumeClaimResize: a larger request only for a bound claim whose class allows
  // expansion.
  Result<void> admitUpdate(const ResourceInfo&, json& obj, const json& old) override {
    auto want = volume::claimRequest(obj);
    auto had = volume::claimRequest(old);
    if (!want || !had || *want <= *had) return ok();
    if (str(old, {"status", "phase"}) != "Bound" || str(old, {"spec", "volumeName"}).empty()) {
      return Error(ErrorCode::Forbidden, "Only bound persistent volume claims can be expanded");
    }
    std::string cls = str(old, {"spec", "storageClassName"});
    bool allowed = false;
    if (!cls.empty()) {
      auto sc = registry_.get(*findResource("storage.k8s.io", "v1", "storageclasses"), "", cls);
      allowed = sc && sc->value("allowVolumeExpansion", false);
    }
    if (!allowed) {
      return Error(ErrorCode::Forbidden,
                   "only dynamically provisioned pvc can be resized and the storageclass that "
                   "provisions the pvc must support resize");
    }
    return ok();
  }

 private:
  Registry& registry_;
};

class StorageClassStrategy : public Strategy {
 public:
  void defaults(const ResourceInfo& r, json& obj) const override {
    Strategy::defaults(r, obj);
    setIfMissing(obj, "reclaimPolicy", "Delete");
    setIfMissing(obj, "volumeBindingMode", "Immediate");
  }
  FieldErrors validate(const ResourceInfo& r, const json& obj, const json* old) const override {
    FieldErrors errs = Strategy::validate(r, obj, old);
    for (auto& e : validateStorageClass(obj, old)) errs.push_back(std::move(e));
    return errs;
  }
};

// SetDefaults_CSIDriver.
class CsiDriverStrategy : public Strategy {
 public:
  void defaults(const ResourceInfo& r, json& obj) const override {
    Strategy::defaults(r, obj);
    json& spec = specForDefaults(obj);
    setIfMissing(spec, "attachRequired", true);
    setIfMissing(spec, "podInfoOnMount", false);
    setIfMissing(spec, "storageCapacity", false);
    setIfMissing(spec, "fsGroupPolicy", "ReadWriteOnceWithFSType");
    setIfMissing(spec, "requiresRepublish", false);
    setIfMissing(spec, "seLinuxMount", false);
    setIfMissing(spec, "volumeLifecycleModes", json::array({"Persistent"}));
  }
};

// VolumeAttachments: volumeAttachmentStatusStrategy resets all metadata on /status.
class VolumeAttachmentStrategy : public Strategy {
 public:
  json prepareForStatusUpdate(const ResourceInfo&, const json& obj,
                              const json& old) const override {
    return statusOnly(obj, old);
  }
};

}  // namespace

void registerStorageStrategies(StrategyRegistry& table, Registry& registry) {
  table.add("", "persistentvolumes", std::make_shared<PersistentVolumeStrategy>());
  table.add("", "persistentvolumeclaims",
            std::make_shared<PersistentVolumeClaimStrategy>(registry));
  table.add("storage.k8s.io", "storageclasses", std::make_shared<StorageClassStrategy>());
  table.add("storage.k8s.io", "csidrivers", std::make_shared<CsiDriverStrategy>());
  table.add("storage.k8s.io", "volumeattachments", std::make_shared<VolumeAttachmentStrategy>());
}

}  // namespace skiff::master::api

namespace skiff::master::api {

Result<void> ensureLocalPathStorageClass(Registry& registry) {
  const ResourceInfo& r = *findResource("storage.k8s.io", "v1", "storageclasses");
  if (registry.get(r, "", volume::kLocalPathClass)) return ok();
  WriteOptions sys;
  sys.field_manager = "skiff-master";
  sys.user = {"system:apiserver", {"system:masters"}};
  json sc = {
      {"apiVersion", "storage.k8s.io/v1"},
      {"kind", "StorageClass"},
      {"metadata",
       {{"name", volume::kLocalPathClass}, {"annotations", {{volume::kAnnDefaultClass, "true"}}}}},
      {"provisioner", volume::kLocalPathProvisioner},
      {"reclaimPolicy", "Delete"},
      {"volumeBindingMode", "WaitForFirstConsumer"}};
  auto made = registry.create(r, "", sc, sys);
  if (!made && !made.error().is(ErrorCode::AlreadyExists))
    return std::move(made).error().wrap("create StorageClass local-path");
  return ok();
}

}  // namespace skiff::master::api
