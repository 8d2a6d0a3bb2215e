#pragma once
// Persistent volume facts shared by the API (DefaultStorageClass admission, claim validation),
// the PV controller (binding, provisioning, reclaim) and the scheduler (volume binding): the
// annotations upstream uses, claim/volume matching as pkg/controller/volume/persistentvolume
// (findMatchingVolume: class, access modes, capacity, selector, volumeMode, smallest fit), and
// the local-path volume skiff's built-in provisioner makes.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "skiff/master/client/api_client.h"

namespace skiff::master::volume {

using json = nlohmann::json;

inline const GroupVersionResource kPersistentVolumes{"", "v1", "persistentvolumes"};
inline const GroupVersionResource kPersistentVolumeClaims{"", "v1", "persistentvolumeclaims"};
inline const GroupVersionResource kStorageClasses{"storage.k8s.io", "v1", "storageclasses"};

inline constexpr char kAnnBindCompleted[] = "pv.kubernetes.io/bind-completed";
inline constexpr char kAnnBoundByController[] = "pv.kubernetes.io/bound-by-controller";
inline constexpr char kAnnProvisionedBy[] = "pv.kubernetes.io/provisioned-by";
inline constexpr char kAnnSelectedNode[] = "volume.kubernetes.io/selected-node";
inline constexpr char kAnnStorageProvisioner[] = "volume.kubernetes.io/storage-provisioner";
inline constexpr char kAnnBetaStorageProvisioner[] =
    "volume.beta.kubernetes.io/storage-provisioner";
inline constexpr char kAnnDefaultClass[] = "storageclass.kubernetes.io/is-default-class";
inline constexpr char kAnnBetaDefaultClass[] = "storageclass.beta.kubernetes.io/is-default-class";
inline constexpr char kPvcProtection[] = "kubernetes.io/pvc-protection";
inline constexpr char kPvProtection[] = "kubernetes.io/pv-protection";
// The built-in provisioner. Its class is named `local-path` as k3s's, so manifests written for
// k3s (storageClassName: local-path) work unchanged; the provisioner has skiff's own name, so
// a user who also deploys rancher's local-path-provisioner (rancher.io/local-path) never has two
// provisioners answering the same claim.
inline constexpr char kLocalPathProvisioner[] = "skiff.io/local-path";
inline constexpr char kLocalPathClass[] = "local-path";
inline constexpr char kDefaultStorageRoot[] = "/var/lib/skiff/storage";

// spec.resources.requests.storage of a claim / spec.capacity.storage of a volume, in bytes;
// nullopt when absent or not a quantity.
std::optional<std::int64_t> claimRequest(const json& pvc);
std::optional<std::int64_t> volumeCapacity(const json& pv);
// The class of a claim or volume (spec.storageClassName, else the beta annotation).
std::string claimClass(const json& pvc);
std::string volumeClass(const json& pv);
bool isDefaultClass(const json& sc);
// DefaultStorageClass admission: of the classes marked default, the newest (then by name), as
// upstream's GetDefaultClass; "" when none.
std::string defaultStorageClass(const json& classes);
// "RWO,ROX,RWX,RWOP" as kubectl prints access modes (helper.GetAccessModesAsString).
std::string accessModesString(const json& modes);
// Whether `pv` can satisfy `pvc` ignoring node affinity and who it is bound to: class, every
// requested access mode, capacity >= request, the claim's selector, volumeMode.
bool volumeSatisfies(const json& pv, const json& pvc);
// findMatchingVolume: a volume pre-bound to this claim (claimRef uid/name) first, else the
// smallest Available volume that satisfies it and is not pre-bound elsewhere; -1 when none.
// With `node` set, volumes whose nodeAffinity excludes the node are skipped.
int findMatchingVolume(const std::vector<json>& pvs, const json& pvc, const json* node = nullptr);
// Whether a volume's spec.nodeAffinity.required admits `node` (no affinity: every node).
bool nodeAffinityAdmits(const json& pv, const json& node);
// True when `pv` is bound to `pvc` (claimRef namespace/name and uid).
bool boundTo(const json& pv, const json& pvc);

// The directory of a provisioned claim under the node's storage root, as local-path-provisioner
// names it: <root>/pvc-<uid>_<namespace>_<name>.
std::string localPathDir(const std::string& root, const json& pvc);
// The PersistentVolume the built-in provisioner creates for `pvc` of class `sc` on `node`:
// name pvc-<uid>, hostPath DirectoryOrCreate under `root`, nodeAffinity to the node's hostname,
// claimRef pre-bound to the claim, reclaim policy from the class.
json provisionLocalPathVolume(const json& pvc, const json& sc, const std::string& node,
                              const std::string& root);

// Generic ephemeral volumes (pkg/volume/util/ephemeral): the claim of volume `vol` of `pod` is
// named <pod>-<volume>; "" when `vol` is not an ephemeral volume.
std::string ephemeralClaimName(const json& pod, const json& vol);
// The claim a pod volume uses: its persistentVolumeClaim.claimName, or the ephemeral claim.
std::string podVolumeClaimName(const json& pod, const json& vol);
// VolumeIsForPod: "" when the pod controls `pvc` (ownerReference controller=true, same uid),
// else upstream's "PVC <ns>/<name> was not created for pod <ns>/<pod> (pod is not owner)".
std::string ephemeralClaimNotForPod(const json& pod, const json& pvc);

// Room the built-in provisioner has left on `node`: its allocatable ephemeral-storage (the
// filesystem the agent reports, which holds the storage root) less the capacity of the local-path
// volumes already made there (those not yet reclaimed). nullopt when the node reports none.
std::optional<std::int64_t> localPathSpaceLeft(const std::vector<json>& pvs, const json& node);

}  // namespace skiff::master::volume
