#include "skiff/hostinfo/cgroups.h"

#include <algorithm>

#include "skiff/common/enum_names.h"
#include "skiff/common/split_list.h"
#include "skiff/hostinfo/cpu_list.h"
#include "text.h"

namespace skiff::hostinfo {
namespace {

using detail::lineError;

// proc(5): spaces, tabs, newlines and backslashes in mountinfo paths are octal-escaped.
std::string unescapeOctal(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' &&
        s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::vector<std::string> splitComma(std::string_view s) {
  std::vector<std::string> out;
  for (const std::string_view item : splitAt(s, ',')) {
    if (!item.empty()) out.emplace_back(item);
  }
  return out;
}

// The directory of `cgroup_path` inside a hierarchy mounted at `mount_point` whose mount shows
// `mount_root` (proc(5) field 4). Inside a cgroup namespace both are usually "/".
std::string cgroupDir(const std::string& mount_point, const std::string& mount_root,
                      const std::string& cgroup_path) {
  std::string rel = cgroup_path;
  if (mount_root != "/" && !mount_root.empty()) {
    if (rel == mount_root) {
      rel = "/";
    } else if (rel.starts_with(mount_root + "/")) {
      rel = rel.substr(mount_root.size());
    } else {
      rel = "/";  // the process is outside the mounted subtree: use the mount itself
    }
  }
  if (rel == "/" || rel.empty()) return mount_point;
  return joinRoot(mount_point, rel);
}

// Directories from `dir` up to and including `top`.
std::vector<std::string> dirsUpTo(const std::string& dir, const std::string& top) {
  std::vector<std::string> out;
  std::string cur = dir;
  for (;;) {
    out.push_back(cur);
    if (cur == top || cur.size() <= top.size()) break;
    const std::size_t slash = cur.rfind('/');
    if (slash == std::string::npos || slash == 0) break;
    cur = cur.substr(0, slash);
  }
  return out;
}

}  // namespace

constexpr EnumName<CgroupMode> kCgroupModes[] = {{CgroupMode::None, "none"},
                                                 {CgroupMode::V1, "v1"},
                                                 {CgroupMode::V2, "v2"},
                                                 {CgroupMode::Hybrid, "hybrid"}};

std::string_view cgroupModeName(CgroupMode mode) { return nameOf(kCgroupModes, mode, "unknown"); }

Result<std::vector<MountInfoEntry>> parseMountInfo(std::string_view text, std::string_view source) {
  SKIFF_TRY(detail::checkText(text, source));
  std::vector<MountInfoEntry> out;
  for (const auto& [line, line_no] : detail::nonBlankLines(text)) {
    const auto f = detail::splitFields(line);
    // id parent major:minor root mount-point options [optional...] - fstype source super-options
    auto sep = std::find(f.begin(), f.end(), std::string_view("-"));
    if (f.size() < 10 || sep == f.end() || sep - f.begin() < 6 || f.end() - sep < 4) {
      return lineError(source, line_no,
                       "expected 'id parent dev root mountpoint options ... - "
                       "fstype source superoptions'");
    }
    MountInfoEntry e;
    auto id = detail::parseInt(f[0]);
    auto parent = detail::parseInt(f[1]);
    if (!id || !parent || f[2].find(':') == std::string_view::npos) {
      return lineError(source, line_no, "bad mount id, parent id or device");
    }
    e.mount_id = *id;
    e.parent_id = *parent;
    e.root = unescapeOctal(f[3]);
    e.mount_point = unescapeOctal(f[4]);
    e.mount_options = std::string(f[5]);
    e.fs_type = std::string(sep[1]);
    e.source = unescapeOctal(sep[2]);
    e.super_options = std::string(sep[3]);
    out.push_back(std::move(e));
  }
  if (out.empty()) return detail::parseError(source, "no mounts (empty or truncated file)");
  return out;
}

Result<std::vector<CgroupSubsystem>> parseProcCgroups(std::string_view text,
                                                      std::string_view source) {
  SKIFF_TRY(detail::checkText(text, source));
  std::vector<CgroupSubsystem> out;
  for (const auto& [raw, line_no] : detail::nonBlankLines(text)) {
    const std::string_view line = detail::trim(raw);
    if (line.front() == '#') continue;
    const auto f = detail::splitFields(line);
    if (f.size() != 4) {
      return lineError(source, line_no, "expected 'subsys_name hierarchy num_cgroups enabled'");
    }
    auto hierarchy = detail::parseInt(f[1]);
    auto num = detail::parseInt(f[2]);
    if (!hierarchy || !num || (f[3] != "0" && f[3] != "1")) {
      return lineError(source, line_no, "bad numbers for '" + std::string(f[0]) + "'");
    }
    out.push_back({std::string(f[0]), *hierarchy, *num, f[3] == "1"});
  }
  return out;
}

Result<std::vector<ProcCgroupEntry>> parseProcSelfCgroup(std::string_view text,
                                                         std::string_view source) {
  SKIFF_TRY(detail::checkText(text, source));
  std::vector<ProcCgroupEntry> out;
  for (const auto& [line, line_no] : detail::nonBlankLines(text)) {
    const std::size_t c1 = line.find(':');
    const std::size_t c2 = c1 == std::string_view::npos ? c1 : line.find(':', c1 + 1);
    if (c2 == std::string_view::npos) {
      return lineError(source, line_no, "expected 'hierarchy-ID:controller-list:cgroup-path'");
    }
    auto hierarchy = detail::parseInt(line.substr(0, c1));
    const std::string_view path = line.substr(c2 + 1);
    if (!hierarchy || path.empty() || path.front() != '/') {
      return lineError(source, line_no, "bad hierarchy id or cgroup path");
    }
    out.push_back({*hierarchy, splitComma(line.substr(c1 + 1, c2 - c1 - 1)), std::string(path)});
  }
  if (out.empty()) return detail::parseError(source, "no cgroups (empty or truncated file)");
  return out;
}

Result<CgroupInfo> detectCgroups(const HostPaths& paths) {
  const std::string mountinfo_path = paths.path("/proc/self/mountinfo");
  const std::string cgroups_path = paths.path("/proc/cgroups");
  const std::string self_path = paths.path("/proc/self/cgroup");
  SKIFF_ASSIGN_OR_RETURN(std::string mountinfo_text, detail::readSmallFile(mountinfo_path));
  SKIFF_ASSIGN_OR_RETURN(auto mounts, parseMountInfo(mountinfo_text, mountinfo_path));
  // /proc/cgroups only matters for v1 and for controllers disabled on the command line; kernels
  // may drop it, in which case every mounted or listed controller counts as enabled.
  SKIFF_ASSIGN_OR_RETURN(auto cgroups_text, detail::readOptionalFile(cgroups_path));
  std::vector<CgroupSubsystem> subsystems;
  if (cgroups_text) {
    SKIFF_ASSIGN_OR_RETURN(subsystems, parseProcCgroups(*cgroups_text, cgroups_path));
  }
  SKIFF_ASSIGN_OR_RETURN(std::string self_text, detail::readSmallFile(self_path));
  SKIFF_ASSIGN_OR_RETURN(auto self, parseProcSelfCgroup(self_text, self_path));

  CgroupInfo info;
  for (const auto& s : subsystems) {
    if (!s.enabled) info.disabled.push_back(s.name);
  }
  auto enabled = [&](const std::string& name) {
    for (const auto& s : subsystems) {
      if (s.name == name) return s.enabled;
    }
    return true;  // not listed (e.g. misc, rdma on some kernels): trust the mount
  };
  auto selfPathFor = [&](const std::string& controller) -> std::optional<std::string> {
    for (const auto& e : self) {
      if (std::find(e.controllers.begin(), e.controllers.end(), controller) !=
          e.controllers.end()) {
        return e.path;
      }
    }
    return std::nullopt;
  };
  for (const auto& e : self) {
    if (e.hierarchy == 0 && e.controllers.empty()) info.self_path_v2 = e.path;
  }

  bool have_v1 = false;
  const MountInfoEntry* unified = nullptr;
  for (const auto& m : mounts) {
    if (m.fs_type == "cgroup2") {
      // Prefer the canonical location when the hierarchy is mounted more than once.
      const bool canonical = m.mount_point.starts_with("/sys/fs/cgroup");
      if (unified == nullptr ||
          (canonical && !unified->mount_point.starts_with("/sys/fs/cgroup"))) {
        unified = &m;
      }
      continue;
    }
    if (m.fs_type != "cgroup") continue;
    // Any v1 hierarchy, even systemd's named one without controllers, makes the layout v1 or
    // hybrid (systemd's definition).
    have_v1 = true;
    for (const auto& opt : splitComma(m.super_options)) {
      if (opt == "rw" || opt == "ro" || opt.starts_with("name=") ||
          opt.starts_with("release_agent") || opt == "clone_children" || opt == "noprefix" ||
          opt == "xattr" || opt == "cpuset_v2_mode") {
        continue;
      }
      if (!enabled(opt)) continue;
      if (info.controllers.count(opt) != 0) continue;  // first mount wins
      auto path = selfPathFor(opt);
      info.controllers[opt] =
          CgroupController{1, m.mount_point, cgroupDir(m.mount_point, m.root, path.value_or("/"))};
    }
  }

  if (unified != nullptr) {
    info.unified_mount = unified->mount_point;
    // Controllers available to v2: those the root of the mounted v2 tree lists.
    const std::string controllers_file = paths.path(unified->mount_point + "/cgroup.controllers");
    SKIFF_ASSIGN_OR_RETURN(auto text, detail::readOptionalFile(controllers_file));
    if (text) {
      SKIFF_TRY(detail::checkText(*text, controllers_file));
      const std::string self_dir = cgroupDir(unified->mount_point, unified->root,
                                             info.self_path_v2.empty() ? "/" : info.self_path_v2);
      for (auto name : detail::splitFields(detail::trim(*text))) {
        std::string n(name);
        if (info.controllers.count(n) != 0 || !enabled(n)) continue;
        info.controllers[n] = CgroupController{2, unified->mount_point, self_dir};
      }
    }
  }

  if (have_v1 && unified != nullptr) {
    info.mode = CgroupMode::Hybrid;
  } else if (have_v1) {
    info.mode = CgroupMode::V1;
  } else if (unified != nullptr) {
    info.mode = CgroupMode::V2;
  }
  return info;
}

Result<std::optional<std::uint64_t>> cgroupMemoryLimit(const HostPaths& paths,
                                                       const CgroupInfo& cgroups) {
  auto it = cgroups.controllers.find("memory");
  if (it == cgroups.controllers.end()) return std::optional<std::uint64_t>();
  const CgroupController& c = it->second;
  const char* file = c.version == 1 ? "memory.limit_in_bytes" : "memory.max";
  std::optional<std::uint64_t> lowest;
  for (const auto& dir : dirsUpTo(c.self_dir, c.mount_point)) {
    const std::string path = paths.path(dir + "/" + file);
    SKIFF_ASSIGN_OR_RETURN(auto text, detail::readOptionalFile(path));
    if (!text) continue;  // the root cgroup has no memory.max; a vanished cgroup is skipped
    const std::string_view value = detail::trim(*text);
    if (value == "max") continue;
    auto bytes = detail::parseUint(value);
    if (!bytes) {
      return detail::parseError(
          path, "expected a byte count or 'max', got '" + std::string(value.substr(0, 64)) + "'");
    }
    // v1 reports "unlimited" as PAGE_COUNTER_MAX pages (9223372036854771712 with 4 KiB pages).
    if (*bytes >= (std::uint64_t{1} << 62)) continue;
    if (!lowest || *bytes < *lowest) lowest = *bytes;
  }
  return lowest;
}

Result<std::optional<std::vector<int>>> cgroupCpuset(const HostPaths& paths,
                                                     const CgroupInfo& cgroups) {
  auto it = cgroups.controllers.find("cpuset");
  if (it == cgroups.controllers.end()) return std::optional<std::vector<int>>();
  const CgroupController& c = it->second;
  const std::vector<const char*> files =
      c.version == 1 ? std::vector<const char*>{"cpuset.effective_cpus", "cpuset.cpus"}
                     : std::vector<const char*>{"cpuset.cpus.effective"};
  for (const auto& dir : dirsUpTo(c.self_dir, c.mount_point)) {
    for (const char* file : files) {
      const std::string path = paths.path(dir + "/" + file);
      SKIFF_ASSIGN_OR_RETURN(auto text, detail::readOptionalFile(path));
      if (!text) continue;
      SKIFF_ASSIGN_OR_RETURN(auto cpus, parseCpuList(*text, path));
      if (cpus.empty()) continue;  // v2: empty until the controller is enabled here
      return std::optional<std::vector<int>>(std::move(cpus));
    }
  }
  return std::optional<std::vector<int>>();
}

}  // namespace skiff::hostinfo
