#pragma once

// Claim-backed volumes on this node: a persistentVolumeClaim volume resolves claim -> bound
// PersistentVolume -> its hostPath or local path, which the volume manager then sets up as a
// hostPath volume (bind-mounted into the containers). Volumes of the built-in local-path
// provisioner (skiff.io/local-path) live in <storage root>/pvc-<uid>_<ns>_<name>: the agent
// creates the directory when a pod first mounts it and removes it when the PersistentVolume is
// Released with reclaim policy Delete (then deletes the PV), since the master never touches a
// node's disk.

#include <nlohmann/json.hpp>

#include <memory>
#include <string>

#include "skiff/agent/kube_client.h"
#include "skiff/agent/object_source.h"
#include "skiff/common/result.h"

namespace skiff::agent {

inline constexpr char kLocalPathProvisioner[] = "skiff.io/local-path";
inline constexpr char kStorageRootAnnotation[] = "skiff.io/storage-root";

// Creates one volume directory (mode 0777, as local-path-provisioner); the seam through which
// tests simulate a full disk. The real one creates the storage root if needed, then the
// directory, and removes it again when it cannot be finished: nothing half-made stays behind.
class VolumeDirs {
 public:
  virtual ~VolumeDirs() = default;
  virtual Result<void> create(const std::string& path) = 0;
};
std::unique_ptr<VolumeDirs> makeRealVolumeDirs();

struct ClaimSetup {
  VolumeDirs* dirs = nullptr;  // in: nullptr = the real filesystem
  // out: fsGroup applies to the volume: a `local` PV or one of the built-in provisioner; not a
  // hand-made hostPath PV (the kubelet leaves those alone).
  bool supports_ownership = false;
  // out: the claim (once found), and whether creating its directory failed.
  nlohmann::json claim;
  bool create_failed = false;
};

// The volume `vol` (a persistentVolumeClaim volume of `pod`, or a generic ephemeral volume whose
// claim <pod>-<volume> the pod must control) as the hostPath volume that backs it. Errors: the
// claim is missing or not bound (kubelet's "PVC is not bound"), the volume is bound elsewhere, its
// type is not a local one, or a local-path volume's directory is outside `storage_root`. Creates a
// local-path volume's directory through `setup->dirs` (0777, as local-path-provisioner).
Result<nlohmann::json> claimVolumeSource(ObjectSource& objects, const nlohmann::json& pod,
                                         const nlohmann::json& vol, const std::string& storage_root,
                                         ClaimSetup* setup = nullptr);

// `path` lexically inside `root` (no "..", not root itself), and no existing component of it
// below root a symlink: true when a volume directory may be created or removed there.
bool insideStorageRoot(const std::string& root, const std::string& path);

// One reclaim pass: each Released PersistentVolume with reclaim policy Delete made by the
// built-in provisioner whose node affinity names `node` has its directory removed and is
// deleted. Returns how many were deleted; a failure on one volume is reported after the others.
Result<int> reclaimLocalPathVolumes(KubeClient& client, const std::string& node,
                                    const std::string& storage_root);

}  // namespace skiff::agent
