#pragma once

// Private: everything `skiff-init` needs to turn a prepared rootfs into a running container
// (native backend). The runtime resolves images, users and cgroups, writes this as
// <container dir>/spec.json, and skiff-init only applies it: no policy in the init.

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "skiff/common/result.h"
#include "skiff/runtime/runtime.h"

namespace skiff::runtime {

struct LaunchSpec {
  std::string id;
  std::string rootfs;  // the mounted overlay
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd = "/";
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::vector<std::uint32_t> additional_gids;
  // Namespaces to join (paths of bind-mounted ns files); empty = keep the shim's (host network).
  std::string netns;
  std::string ipcns;
  std::string utsns;
  // Files to write "0" to (CgroupManager::joinFiles) before unsharing the cgroup namespace.
  std::vector<std::string> cgroup_procs;
  std::vector<Mount> mounts;
  std::vector<std::string> masked_paths;
  std::vector<std::string> readonly_paths;
  std::vector<std::string> capabilities;  // CAP_* names kept (bounding, permitted, effective)
  bool privileged = false;
  bool no_new_privs = true;
  bool seccomp = true;
  // The default profile compiled for `capabilities` by the runtime (shared by every container
  // with the same set); empty: skiff-init compiles it itself.
  std::string seccomp_program;
  bool readonly_rootfs = false;
  int oom_score_adj = 0;
  std::vector<Rlimit> rlimits;
  std::string start_fifo;  // blocks before exec until startContainer opens it
};

nlohmann::json toJson(const LaunchSpec& s);
Result<LaunchSpec> launchSpecFromJson(const std::string& text);

// runc's default masked/read-only paths (libcontainer/specconv, containerd's oci defaults).
const std::vector<std::string>& defaultMaskedPaths();
const std::vector<std::string>& defaultReadonlyPaths();
// The default capability set of containerd/Docker (14 capabilities).
const std::vector<std::string>& defaultCapabilities();
// All capability names this kernel knows (for privileged / "ALL").
std::vector<std::string> allCapabilities();
// Applies CRI add/drop ("NET_ADMIN" or "CAP_NET_ADMIN", "ALL") to the default set.
Result<std::vector<std::string>> effectiveCapabilities(const ContainerConfig& c);

}  // namespace skiff::runtime
