#pragma once

// Claim-backed volumes on this node: a persistentVolumeClaim volume resolves claim -> bound
// PersistentVolume -> its hostPath or local path, which the volume manager then sets up as a
// hostPath volume (bind-mounted into the containers). Volumes of the built-in local-path
// provisioner (rancher.io/local-path) live in <storage root>/pvc-<uid>_<ns>_<name>: the agent
// creates the directory when a pod first mounts it and removes it when the PersistentVolume is
// Released with reclaim policy Delete (then deletes the PV), since the master never touches a
// node's disk.

#include <nlohmann/json.hpp>

#include <string>

#include "skiff/agent/kube_client.h"
#include "skiff/agent/object_source.h"
#include "skiff/common/result.h"

namespace skiff::agent {

inline constexpr char kLocalPathProvisioner[] = "rancher.io/local-path";
inline constexpr char kStorageRootAnnotation[] = "skiff.io/storage-root";

// The volume `vol` (a persistentVolumeClaim volume of `pod`, or a generic ephemeral volume whose
// claim <pod>-<volume> the pod must control) as the hostPath volume that backs it. Errors: the
// claim is missing or not bound (kubelet's "PVC is not bound"), the volume is bound elsewhere, its
// type is not a local one, or a local-path volume's directory is outside `storage_root`. Creates a
// local-path volume's directory (0777, as local-path-provisioner). `supports_ownership` (optional)
// is set when fsGroup applies to the volume: a `local` PV or one of the built-in provisioner; not a
// hand-made hostPath PV (the kubelet leaves those alone).
Result<nlohmann::json> claimVolumeSource(ObjectSource& objects, const nlohmann::json& pod,
                                         const nlohmann::json& vol, const std::string& storage_root,
                                         bool* supports_ownership = nullptr);

// `path` lexically inside `root` (no "..", not root itself), and no existing component of it
// below root a symlink: true when a volume directory may be created or removed there.
bool insideStorageRoot(const std::string& root, const std::string& path);

// One reclaim pass: each Released PersistentVolume with reclaim policy Delete made by the
// built-in provisioner whose node affinity names `node` has its directory removed and is
// deleted. Returns how many were deleted; a failure on one volume is reported after the others.
Result<int> reclaimLocalPathVolumes(KubeClient& client, const std::string& node,
                                    const std::string& storage_root);

}  // namespace skiff::agent
