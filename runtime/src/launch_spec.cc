#include "launch_spec.h"

#include <sys/prctl.h>

#include <algorithm>

namespace skiff::runtime {

using json = nlohmann::json;

const std::vector<std::string>& defaultMaskedPaths() {
  static const std::vector<std::string> v = {"/proc/asound",
                                             "/proc/acpi",
                                             "/proc/kcore",
                                             "/proc/keys",
                                             "/proc/latency_stats",
                                             "/proc/timer_list",
                                             "/proc/timer_stats",
                                             "/proc/sched_debug",
                                             "/proc/scsi",
                                             "/sys/firmware",
                                             "/sys/devices/virtual/powercap"};
  return v;
}

const std::vector<std::string>& defaultReadonlyPaths() {
  static const std::vector<std::string> v = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                             "/proc/sysrq-trigger"};
  return v;
}

const std::vector<std::string>& defaultCapabilities() {
  static const std::vector<std::string> v = {
      "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
      "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
      "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
      "CAP_KILL",    "CAP_AUDIT_WRITE"};
  return v;
}

std::vector<std::string> allCapabilities() {
  return {"CAP_CHOWN",
          "CAP_DAC_OVERRIDE",
          "CAP_DAC_READ_SEARCH",
          "CAP_FOWNER",
          "CAP_FSETID",
          "CAP_KILL",
          "CAP_SETGID",
          "CAP_SETUID",
          "CAP_SETPCAP",
          "CAP_LINUX_IMMUTABLE",
          "CAP_NET_BIND_SERVICE",
          "CAP_NET_BROADCAST",
          "CAP_NET_ADMIN",
          "CAP_NET_RAW",
          "CAP_IPC_LOCK",
          "CAP_IPC_OWNER",
          "CAP_SYS_MODULE",
          "CAP_SYS_RAWIO",
          "CAP_SYS_CHROOT",
          "CAP_SYS_PTRACE",
          "CAP_SYS_PACCT",
          "CAP_SYS_ADMIN",
          "CAP_SYS_BOOT",
          "CAP_SYS_NICE",
          "CAP_SYS_RESOURCE",
          "CAP_SYS_TIME",
          "CAP_SYS_TTY_CONFIG",
          "CAP_MKNOD",
          "CAP_LEASE",
          "CAP_AUDIT_WRITE",
          "CAP_AUDIT_CONTROL",
          "CAP_SETFCAP",
          "CAP_MAC_OVERRIDE",
          "CAP_MAC_ADMIN",
          "CAP_SYSLOG",
          "CAP_WAKE_ALARM",
          "CAP_BLOCK_SUSPEND",
          "CAP_AUDIT_READ",
          "CAP_PERFMON",
          "CAP_BPF",
          "CAP_CHECKPOINT_RESTORE"};
}

Result<std::vector<std::string>> effectiveCapabilities(const ContainerConfig& c) {
  const auto all = allCapabilities();
  if (c.privileged) {
    // "All" means all this process may hand out: its bounding set (what Docker/runc do too);
    // allCapabilities() is in kernel numbering order.
    std::vector<std::string> bound;
    for (std::size_t i = 0; i < all.size(); ++i)
      if (::prctl(PR_CAPBSET_READ, static_cast<unsigned long>(i), 0, 0, 0) == 1)
        bound.push_back(all[i]);
    return bound;
  }
  auto canon = [&](std::string n) -> Result<std::string> {
    std::transform(n.begin(), n.end(), n.begin(),
                   [](unsigned char ch) { return std::toupper(ch); });
    if (n == "ALL") return n;
    if (n.rfind("CAP_", 0) != 0) n = "CAP_" + n;
    if (std::find(all.begin(), all.end(), n) == all.end())
      return Error(ErrorCode::Invalid, "unknown capability '" + n + "'");
    return n;
  };
  std::vector<std::string> caps = defaultCapabilities();
  for (const auto& d : c.cap_drop) {
    SKIFF_ASSIGN_OR_RETURN(std::string n, canon(d));
    if (n == "ALL")
      caps.clear();
    else
      caps.erase(std::remove(caps.begin(), caps.end(), n), caps.end());
  }
  for (const auto& a : c.cap_add) {
    SKIFF_ASSIGN_OR_RETURN(std::string n, canon(a));
    if (n == "ALL")
      caps = all;
    else if (std::find(caps.begin(), caps.end(), n) == caps.end())
      caps.push_back(n);
  }
  return caps;
}

json toJson(const LaunchSpec& s) {
  json mounts = json::array();
  for (const auto& m : s.mounts)
    mounts.push_back(
        {{"destination", m.container_path}, {"source", m.host_path}, {"readonly", m.readonly}});
  json rl = json::array();
  for (const auto& r : s.rlimits)
    rl.push_back({{"type", r.type}, {"soft", r.soft}, {"hard", r.hard}});
  return json{{"id", s.id},
              {"rootfs", s.rootfs},
              {"args", s.args},
              {"env", s.env},
              {"cwd", s.cwd},
              {"uid", s.uid},
              {"gid", s.gid},
              {"additionalGids", s.additional_gids},
              {"netns", s.netns},
              {"ipcns", s.ipcns},
              {"utsns", s.utsns},
              {"cgroupProcs", s.cgroup_procs},
              {"mounts", mounts},
              {"maskedPaths", s.masked_paths},
              {"readonlyPaths", s.readonly_paths},
              {"capabilities", s.capabilities},
              {"privileged", s.privileged},
              {"noNewPrivileges", s.no_new_privs},
              {"seccomp", s.seccomp},
              {"seccompProgram", s.seccomp_program},
              {"readonlyRootfs", s.readonly_rootfs},
              {"oomScoreAdj", s.oom_score_adj},
              {"rlimits", rl},
              {"startFifo", s.start_fifo}};
}

Result<LaunchSpec> launchSpecFromJson(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Error(ErrorCode::Invalid, "parse launch spec: not a JSON object");
  try {
    LaunchSpec s;
    s.id = j.at("id").get<std::string>();
    s.rootfs = j.at("rootfs").get<std::string>();
    s.args = j.at("args").get<std::vector<std::string>>();
    s.env = j.at("env").get<std::vector<std::string>>();
    s.cwd = j.at("cwd").get<std::string>();
    s.uid = j.at("uid").get<std::uint32_t>();
    s.gid = j.at("gid").get<std::uint32_t>();
    s.additional_gids = j.at("additionalGids").get<std::vector<std::uint32_t>>();
    s.netns = j.at("netns").get<std::string>();
    s.ipcns = j.at("ipcns").get<std::string>();
    s.utsns = j.at("utsns").get<std::string>();
    s.cgroup_procs = j.at("cgroupProcs").get<std::vector<std::string>>();
    for (const auto& m : j.at("mounts"))
      s.mounts.push_back({m.at("destination").get<std::string>(), m.at("source").get<std::string>(),
                          m.at("readonly").get<bool>()});
    s.masked_paths = j.at("maskedPaths").get<std::vector<std::string>>();
    s.readonly_paths = j.at("readonlyPaths").get<std::vector<std::string>>();
    s.capabilities = j.at("capabilities").get<std::vector<std::string>>();
    s.privileged = j.at("privileged").get<bool>();
    s.no_new_privs = j.at("noNewPrivileges").get<bool>();
    s.seccomp = j.at("seccomp").get<bool>();
    s.seccomp_program = j.value("seccompProgram", std::string());  // absent in older specs
    s.readonly_rootfs = j.at("readonlyRootfs").get<bool>();
    // Absent in specs written before the field existed (re-adopted containers).
    s.oom_score_adj = j.value("oomScoreAdj", 0);
    if (s.oom_score_adj < -1000 || s.oom_score_adj > 1000)
      return Error(ErrorCode::Invalid, "parse launch spec: oomScoreAdj out of [-1000, 1000]");
    for (const auto& r : j.at("rlimits"))
      s.rlimits.push_back({r.at("type").get<std::string>(), r.at("soft").get<std::uint64_t>(),
                           r.at("hard").get<std::uint64_t>()});
    s.start_fifo = j.at("startFifo").get<std::string>();
    if (s.args.empty()) return Error(ErrorCode::Invalid, "parse launch spec: no command");
    return s;
  } catch (const std::exception& e) {
    return Error(ErrorCode::Invalid, std::string("parse launch spec: ") + e.what());
  }
}

}  // namespace skiff::runtime
