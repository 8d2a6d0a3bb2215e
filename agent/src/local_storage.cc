// Claim-backed volumes and local-path reclaim (local_storage.h).
#include "skiff/agent/local_storage.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "skiff/common/log.h"

namespace skiff::agent {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string strAt(const json& obj, std::initializer_list<const char*> path) {
  const json* cur = &obj;
  for (const char* p : path) {
    if (!cur->is_object() || !cur->contains(p)) return "";
    cur = &(*cur)[p];
  }
  return cur->is_string() ? cur->get<std::string>() : "";
}

bool provisionedHere(const json& pv) {
  return strAt(pv, {"metadata", "annotations", "pv.kubernetes.io/provisioned-by"}) ==
         kLocalPathProvisioner;
}

// The node a local-path volume belongs to: its kubernetes.io/hostname In [node] affinity.
bool affinityNames(const json& pv, const std::string& node) {
  const json& terms = pv["spec"]
                          .value("nodeAffinity", json::object())
                          .value("required", json::object())
                          .value("nodeSelectorTerms", json::array());
  for (const auto& t : terms) {
    for (const auto& e : t.value("matchExpressions", json::array())) {
      if (e.value("key", "") != "kubernetes.io/hostname" || e.value("operator", "") != "In")
        continue;
      for (const auto& v : e.value("values", json::array())) {
        if (v == node) return true;
      }
    }
  }
  return false;
}

// metav1.IsControlledBy: the controller ownerReference has `uid`.
bool controlledBy(const json& obj, const std::string& uid) {
  const json meta = obj.value("metadata", json::object());
  for (const auto& r : meta.value("ownerReferences", json::array())) {
    if (r.value("controller", false)) return !uid.empty() && r.value("uid", "") == uid;
  }
  return false;
}

std::string volumePath(const json& pv) {
  std::string p = strAt(pv, {"spec", "hostPath", "path"});
  return p.empty() ? strAt(pv, {"spec", "local", "path"}) : p;
}

}  // namespace

namespace {

class RealVolumeDirs final : public VolumeDirs {
 public:
  Result<void> create(const std::string& path) override {
    std::error_code ec;
    fs::create_directories(fs::path(path).parent_path(), ec);
    if (ec)
      return Error(ErrorCode::Internal, "create volume directory " + path + ": " + ec.message());
    if (::mkdir(path.c_str(), 0777) != 0 && errno != EEXIST)
      return Error::fromErrno(errno, "create volume directory " + path);
    if (::chmod(path.c_str(), 0777) != 0) {
      int err = errno;
      ::rmdir(path.c_str());
      return Error::fromErrno(err, "create volume directory " + path);
    }
    return ok();
  }
};

}  // namespace

std::unique_ptr<VolumeDirs> makeRealVolumeDirs() { return std::make_unique<RealVolumeDirs>(); }

bool insideStorageRoot(const std::string& root, const std::string& path) {
  fs::path r = fs::path(root).lexically_normal();
  fs::path p = fs::path(path);
  if (!p.is_absolute() || r.empty()) return false;
  for (const auto& part : p) {
    if (part == "..") return false;
  }
  fs::path rel = p.lexically_normal().lexically_relative(r);
  if (rel.empty() || rel == "." || *rel.begin() == "..") return false;
  // No symlink below the root may redirect the volume elsewhere.
  fs::path cur = r;
  for (const auto& part : rel) {
    cur /= part;
    std::error_code ec;
    if (fs::is_symlink(fs::symlink_status(cur, ec))) return false;
  }
  return true;
}

Result<json> claimVolumeSource(ObjectSource& objects, const json& pod, const json& vol,
                               const std::string& storage_root, ClaimSetup* setup) {
  ClaimSetup local;
  if (setup == nullptr) setup = &local;
  setup->supports_ownership = false;
  setup->create_failed = false;
  std::string ns = strAt(pod, {"metadata", "namespace"});
  std::string claim = strAt(vol, {"persistentVolumeClaim", "claimName"});
  // A generic ephemeral volume's claim is <pod>-<volume>, and must be the pod's own.
  bool ephemeral = !vol.contains("persistentVolumeClaim") && vol.contains("ephemeral");
  if (ephemeral) claim = strAt(pod, {"metadata", "name"}) + "-" + vol.value("name", "");
  std::string ref = ns + "/" + claim;
  auto pvc = objects.persistentVolumeClaim(ns, claim);
  if (!pvc) {
    if (pvc.error().is(ErrorCode::NotFound))
      return Error(ErrorCode::NotFound, "error processing PVC " + ref +
                                            ": persistentvolumeclaim \"" + claim + "\" not found");
    return std::move(pvc).error().wrap("error processing PVC " + ref);
  }
  if (ephemeral && !controlledBy(*pvc, strAt(pod, {"metadata", "uid"}))) {
    return Error(ErrorCode::Invalid, "PVC " + ref + " was not created for pod " + ns + "/" +
                                         strAt(pod, {"metadata", "name"}) + " (pod is not owner)");
  }
  setup->claim = *pvc;
  std::string pv_name = strAt(*pvc, {"spec", "volumeName"});
  if (pv_name.empty() || strAt(*pvc, {"status", "phase"}) != "Bound")
    return Error(ErrorCode::Unavailable, "error processing PVC " + ref + ": PVC is not bound");
  auto pv = objects.persistentVolume(pv_name);
  if (!pv) return std::move(pv).error().wrap("error processing PVC " + ref);
  std::string uid = strAt(*pv, {"spec", "claimRef", "uid"});
  if (!uid.empty() && uid != strAt(*pvc, {"metadata", "uid"})) {
    return Error(ErrorCode::Invalid, "error processing PVC " + ref + ": the PVC is bound to PV \"" +
                                         pv_name + "\" that is bound to a different claim");
  }
  std::string name = vol.value("name", "");
  const json& spec = (*pv)["spec"];
  if (spec.contains("local")) {
    setup->supports_ownership = true;
    return json{{"name", name}, {"hostPath", {{"path", volumePath(*pv)}, {"type", "Directory"}}}};
  }
  if (!spec.contains("hostPath")) {
    return Error(ErrorCode::Invalid, "PersistentVolume \"" + pv_name +
                                         "\": only hostPath and local volumes are supported");
  }
  std::string path = volumePath(*pv);
  if (provisionedHere(*pv)) {
    setup->supports_ownership = true;
    if (!insideStorageRoot(storage_root, path)) {
      return Error(ErrorCode::Invalid, "PersistentVolume \"" + pv_name + "\": path " + path +
                                           " is outside the storage root " + storage_root);
    }
    std::error_code ec;
    if (!fs::exists(path, ec)) {
      std::unique_ptr<VolumeDirs> real;
      if (setup->dirs == nullptr) real = makeRealVolumeDirs();
      auto made = (setup->dirs != nullptr ? *setup->dirs : *real).create(path);
      if (!made) {
        setup->create_failed = true;
        return std::move(made).error();
      }
    }
  }
  json hp = spec["hostPath"];
  hp["path"] = path;
  return json{{"name", name}, {"hostPath", hp}};
}

Result<int> reclaimLocalPathVolumes(KubeClient& client, const std::string& node,
                                    const std::string& storage_root) {
  SKIFF_ASSIGN_OR_RETURN(json list, client.list(apiPath("", "v1", "persistentvolumes")));
  int deleted = 0;
  std::optional<Error> first;
  for (const auto& pv : list.value("items", json::array())) {
    if (strAt(pv, {"status", "phase"}) != "Released" ||
        strAt(pv, {"spec", "persistentVolumeReclaimPolicy"}) != "Delete" || !provisionedHere(pv) ||
        !affinityNames(pv, node))
      continue;
    std::string name = strAt(pv, {"metadata", "name"});
    std::string path = volumePath(pv);
    if (!insideStorageRoot(storage_root, path)) {
      if (!first)
        first = Error(ErrorCode::Invalid, "PersistentVolume \"" + name + "\": path " + path +
                                              " is outside the storage root " + storage_root);
      continue;
    }
    std::error_code ec;
    fs::remove_all(path, ec);
    if (ec) {
      if (!first) first = Error(ErrorCode::Internal, "remove '" + path + "': " + ec.message());
      continue;
    }
    auto r = client.remove(apiPath("", "v1", "persistentvolumes", "", name), std::nullopt,
                           strAt(pv, {"metadata", "uid"}));
    if (!r && !r.error().is(ErrorCode::NotFound)) {
      if (!first) first = std::move(r).error();
      continue;
    }
    ++deleted;
  }
  if (first) return std::move(*first);
  return deleted;
}

}  // namespace skiff::agent
