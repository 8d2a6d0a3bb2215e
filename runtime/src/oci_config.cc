#include "oci_config.h"

#include <sched.h>

#include "seccomp_profile.h"

namespace skiff::runtime {

using json = nlohmann::json;

namespace {

// process: user, args, env, capabilities (all sets for root, only bounding otherwise), rlimits.
json ociProcess(const LaunchSpec& s) {
  json caps = s.capabilities;
  json process = {{"terminal", false},
                  {"user", {{"uid", s.uid}, {"gid", s.gid}, {"additionalGids", s.additional_gids}}},
                  {"args", s.args},
                  {"env", s.env},
                  {"cwd", s.cwd},
                  {"noNewPrivileges", s.no_new_privs && !s.privileged},
                  {"oomScoreAdj", s.oom_score_adj},
                  {"capabilities",
                   {{"bounding", caps},
                    {"effective", s.uid == 0 ? caps : json::array()},
                    {"permitted", s.uid == 0 ? caps : json::array()},
                    {"inheritable", s.uid == 0 ? caps : json::array()}}}};
  json rl = json::array();
  for (const auto& r : s.rlimits)
    rl.push_back({{"type", r.type}, {"hard", r.hard}, {"soft", r.soft}});
  process["rlimits"] = rl;
  return process;
}

// The standard /proc, /dev, /sys mounts, then the spec's bind mounts.
json ociMounts(const LaunchSpec& s) {
  json mounts = json::array({
      {{"destination", "/proc"},
       {"type", "proc"},
       {"source", "proc"},
       {"options", {"nosuid", "noexec", "nodev"}}},
      {{"destination", "/dev"},
       {"type", "tmpfs"},
       {"source", "tmpfs"},
       {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}},
      {{"destination", "/dev/pts"},
       {"type", "devpts"},
       {"source", "devpts"},
       {"options", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}}},
      {{"destination", "/dev/shm"},
       {"type", "tmpfs"},
       {"source", "shm"},
       {"options", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}}},
      {{"destination", "/dev/mqueue"},
       {"type", "mqueue"},
       {"source", "mqueue"},
       {"options", {"nosuid", "noexec", "nodev"}}},
      {{"destination", "/sys"},
       {"type", "sysfs"},
       {"source", "sysfs"},
       {"options", s.privileged ? json{"nosuid", "noexec", "nodev"}
                                : json{"nosuid", "noexec", "nodev", "ro"}}},
  });
  for (const auto& m : s.mounts) {
    json opts = {"rbind", "rprivate"};
    if (m.readonly) opts.push_back("ro");
    mounts.push_back({{"destination", m.container_path},
                      {"type", "bind"},
                      {"source", m.host_path},
                      {"options", opts}});
  }
  return mounts;
}

// pid, mount and cgroup namespaces of its own; network, ipc and uts joined when given.
json ociNamespaces(const LaunchSpec& s) {
  json ns = json::array({{{"type", "pid"}}, {{"type", "mount"}}, {{"type", "cgroup"}}});
  auto nsEntry = [&](const char* type, const std::string& path) {
    if (path.empty()) return;
    ns.push_back({{"type", type}, {"path", path}});
  };
  nsEntry("network", s.netns);
  nsEntry("ipc", s.ipcns);
  nsEntry("uts", s.utsns);
  return ns;
}

// linux.resources: device access, memory, cpu and pids limits.
json ociResources(const LaunchSpec& s, const Resources& res) {
  json resources = {{"devices", json::array({{{"allow", s.privileged}, {"access", "rwm"}}})}};
  if (res.memory_limit_bytes > 0) resources["memory"] = {{"limit", res.memory_limit_bytes}};
  json cpu = json::object();
  if (res.cpu_shares > 0) cpu["shares"] = res.cpu_shares;
  if (res.cpu_quota_us > 0) {
    cpu["quota"] = res.cpu_quota_us;
    cpu["period"] = res.cpu_period_us;
  }
  if (!cpu.empty()) resources["cpu"] = cpu;
  if (res.pids_limit > 0) resources["pids"] = {{"limit", res.pids_limit}};
  return resources;
}

// The default seccomp profile's rules; without CAP_SYS_ADMIN, no clone() into new namespaces.
json ociSeccompSyscalls(const LaunchSpec& s) {
  json syscalls = json::array();
  for (const auto& r : defaultSeccompRules(s.capabilities))
    syscalls.push_back(
        {{"names", {r.syscall}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", r.errno_value}});
  if (std::find(s.capabilities.begin(), s.capabilities.end(), "CAP_SYS_ADMIN") ==
      s.capabilities.end()) {
    for (unsigned long bit : {CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID,
                              CLONE_NEWNET, CLONE_NEWCGROUP})
      syscalls.push_back(
          {{"names", {"clone"}},
           {"action", "SCMP_ACT_ERRNO"},
           {"errnoRet", 1},
           {"args",
            {{{"index", 0}, {"value", bit}, {"valueTwo", bit}, {"op", "SCMP_CMP_MASKED_EQ"}}}}});
  }
  return syscalls;
}

}  // namespace

json ociConfig(const LaunchSpec& s, const std::string& cgroups_path, const Resources& res) {
  json process = ociProcess(s);
  json mounts = ociMounts(s);
  json ns = ociNamespaces(s);
  json resources = ociResources(s, res);

  json linux_ = {{"namespaces", ns}, {"cgroupsPath", cgroups_path}, {"resources", resources}};
  if (!s.privileged) {
    linux_["maskedPaths"] = s.masked_paths;
    linux_["readonlyPaths"] = s.readonly_paths;
  }
  if (s.seccomp && !s.privileged) {
    json syscalls = ociSeccompSyscalls(s);
    linux_["seccomp"] = {{"defaultAction", "SCMP_ACT_ALLOW"}, {"syscalls", syscalls}};
  }
  return json{{"ociVersion", "1.0.2"},
              {"process", process},
              {"root", {{"path", s.rootfs}, {"readonly", s.readonly_rootfs}}},
              {"mounts", mounts},
              {"linux", linux_}};
}

}  // namespace skiff::runtime
