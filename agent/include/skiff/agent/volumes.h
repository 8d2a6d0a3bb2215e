#pragma once

// Pod volumes under <root-dir>/pods/<uid>/volumes/kubernetes.io~<plugin>/<name> (kubelet's
// layout): emptyDir (disk, or tmpfs for medium Memory with sizeLimit), hostPath with its type
// checks, persistentVolumeClaim (the bound volume's path, local_storage.h), configMap / secret /
// downwardAPI / projected (ServiceAccount token, CA, namespace) written with kubelet's AtomicWriter
// scheme: files live in a timestamped directory, `..data` is a symlink to it swapped by rename, and
// each key is a symlink through `..data`, so a container never sees a half-updated set. Secrets sit
// on tmpfs when the agent may mount.

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "skiff/agent/backoff.h"
#include "skiff/agent/container_env.h"
#include "skiff/agent/local_storage.h"
#include "skiff/agent/object_source.h"
#include "skiff/agent/volume_ownership.h"
#include "skiff/common/result.h"

namespace skiff::agent {

// Mounting seam (tmpfs for memory emptyDirs and secrets); the real one calls mount(2).
class Mounter {
 public:
  virtual ~Mounter() = default;
  virtual Result<void> mountTmpfs(const std::string& target, int64_t size_bytes) = 0;
  virtual Result<void> unmount(const std::string& target) = 0;
  virtual bool isMountPoint(const std::string& path) = 0;
};
std::unique_ptr<Mounter> makeRealMounter();

struct FileEntry {
  std::string data;
  unsigned mode = 0644;
};

// Writes `files` (relative paths) into `dir` atomically; returns true when anything changed.
// Paths with ".." or absolute paths are refused.
Result<bool> writeAtomicDir(const std::string& dir, const std::map<std::string, FileEntry>& files);

// The pod's fsGroup and fsGroupChangePolicy (spec.securityContext).
OwnershipRequest podOwnership(const nlohmann::json& pod);

// fsGroup ownership (volume_ownership.h) is applied to emptyDirs when they are created, to
// configMap/secret/downwardAPI/projected volumes when their files are (re)written, and to
// claim-backed local and local-path volumes that are not read-only on a pod's first mount
// (honouring fsGroupChangePolicy); hostPath volumes are never changed.
class VolumeManager {
 public:
  VolumeManager(std::string root_dir, ObjectSource& objects, Mounter& mounter);
  // Creates / refreshes every volume of the pod; returns volume name -> host path. Errors carry
  // kubelet's messages ("configmap \"x\" not found", "hostPath type check failed: ...").
  Result<std::map<std::string, std::string>> setupPod(const nlohmann::json& pod,
                                                      const EnvContext& ctx);
  // Unmounts and removes <root>/pods/<uid>; unknown uids are fine.
  Result<void> teardownPod(const std::string& uid);
  std::string podDir(const std::string& uid) const { return root_ + "/pods/" + uid; }
  // Where local-path PersistentVolumes of this node live (local_storage.h).
  void setStorageRoot(std::string root) { storage_root_ = std::move(root); }
  // Test seam for the ownership walk (defaults to the real filesystem).
  void setOwnershipFs(OwnershipFs& fs) { ownership_ = &fs; }
  // Test seam for creating local-path volume directories (defaults to the real filesystem).
  void setVolumeDirs(VolumeDirs& dirs) { dirs_ = &dirs; }
  // Where a failed local-path directory creation is reported (a Warning ProvisioningFailed event
  // on the claim); the creation is retried with backoff (1 s doubling to 122 s, as the kubelet's
  // volume operations), the pod waiting meanwhile.
  using ClaimEventFn = std::function<void(const nlohmann::json& pvc, const std::string& reason,
                                          const std::string& message)>;
  void setClaimEvents(ClaimEventFn fn) { claim_event_ = std::move(fn); }
  void setClock(WallClock clock);

 private:
  Result<std::string> setupVolume(const nlohmann::json& pod, const nlohmann::json& vol,
                                  const EnvContext& ctx, const OwnershipRequest& owner);
  Result<void> claimOwnership(const std::string& uid, const std::string& name,
                              const std::string& path, const OwnershipRequest& owner);
  Result<void> addProjection(const nlohmann::json& pod, const nlohmann::json& src,
                             std::map<std::string, FileEntry>& files, unsigned default_mode,
                             const EnvContext& ctx);
  std::string root_;
  std::string storage_root_ = "/var/lib/skiff/storage";
  ObjectSource& objects_;
  Mounter& mounter_;
  Result<nlohmann::json> claimSource(const nlohmann::json& pod, const nlohmann::json& vol,
                                     bool* supports_ownership);
  std::unique_ptr<OwnershipFs> real_ownership_;
  OwnershipFs* ownership_;
  std::unique_ptr<VolumeDirs> real_dirs_;
  VolumeDirs* dirs_;
  ClaimEventFn claim_event_;
  WallClock clock_;
  std::unique_ptr<Backoff> create_backoff_;
  std::map<std::string, std::pair<std::chrono::system_clock::time_point, std::string>>
      create_failed_;  // "<ns>/<claim>" -> when its directory last failed, and why
  std::mutex mu_;
  std::set<std::string> owned_;  // "<uid>/<volume>" claims whose ownership was set
};

}  // namespace skiff::agent
