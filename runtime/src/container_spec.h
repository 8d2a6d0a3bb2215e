#pragma once

// Private: turns a CRI ContainerConfig, its image and its sandbox into the LaunchSpec both
// backends start from (skiff-init reads it as spec.json; runc gets it as an OCI config.json).
// Pure policy: the only I/O is reading the image's /etc/passwd and /etc/group inside `rootfs`.

#include <cstdint>
#include <string>
#include <vector>

#include "launch_spec.h"
#include "skiff/common/result.h"
#include "skiff/runtime/image_store.h"
#include "skiff/runtime/runtime.h"

namespace skiff::runtime {

struct ResolvedUser {
  std::uint32_t uid = 0, gid = 0;
  std::vector<std::uint32_t> groups;
  std::string home = "/";
};

// "uid", "uid:gid", "name", "name:group" against the image's /etc/passwd and /etc/group, with
// the supplementary groups listing the user (what runc's user.GetExecUser does).
Result<ResolvedUser> resolveUser(const std::string& rootfs, const std::string& spec);

// PATH and HOSTNAME defaults, then the image's Env, then the container's, later entries
// replacing earlier ones by key; HOME from the user's passwd entry unless set.
std::vector<std::string> mergeEnv(const std::vector<std::string>& image_env,
                                  const std::vector<std::string>& extra,
                                  const std::string& hostname, const std::string& home);

// Everything of the spec but id, cgroup, seccomp program and start fifo (the backend's part).
// Invalid errors for: no command, a relative workingDir or mount path, oom_score_adj outside
// [-1000, 1000], an unknown user or group.
Result<LaunchSpec> buildLaunchSpec(const ContainerConfig& config, const Image& image,
                                   const PodSandboxConfig& sandbox, const std::string& rootfs,
                                   std::vector<std::string> capabilities);

}  // namespace skiff::runtime
