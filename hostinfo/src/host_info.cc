#include "skiff/hostinfo/host_info.h"

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include "skiff/hostinfo/cpu_list.h"
#include "text.h"

namespace skiff::hostinfo {
namespace {

bool isHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  });
}

// 8-4-4-4-12 hex digits.
bool isUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !isHex(s.substr(i, 1))) return false;
  }
  return true;
}

std::vector<int> intersect(const std::vector<int>& a, const std::vector<int>& b) {
  std::vector<int> out;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

Result<void> readOsRelease(const HostPaths& paths, HostInfo& info) {
  for (const char* candidate : {"/etc/os-release", "/usr/lib/os-release"}) {
    const std::string path = paths.path(candidate);
    SKIFF_ASSIGN_OR_RETURN(auto text, detail::readOptionalFile(path));
    if (!text) continue;
    SKIFF_ASSIGN_OR_RETURN(info.os_release, parseOsRelease(*text, path));
    info.os_release_path = path;
    break;
  }
  info.os_image = osImage(info.os_release);
  return {};
}

Result<void> readIds(const HostPaths& paths, HostInfo& info) {
  for (const char* candidate : {"/etc/machine-id", "/var/lib/dbus/machine-id"}) {
    const std::string path = paths.path(candidate);
    SKIFF_ASSIGN_OR_RETURN(auto text, detail::readOptionalFile(path));
    if (!text) continue;
    SKIFF_TRY(detail::checkText(*text, path));
    const std::string_view id = detail::trim(*text);
    // systemd writes "uninitialized" until the first boot completes.
    if (id.empty() || id == "uninitialized") break;
    if (id.size() != 32 || !isHex(id)) {
      return detail::parseError(
          path, "expected 32 hexadecimal digits, got '" + std::string(id.substr(0, 64)) + "'");
    }
    info.machine_id = id;
    break;
  }

  // product_uuid is mode 0400: unreadable for non-root agents, absent on many VMs and boards.
  const std::string uuid_path = paths.path("/sys/class/dmi/id/product_uuid");
  if (auto text = detail::readSmallFile(uuid_path)) {
    SKIFF_TRY(detail::checkText(*text, uuid_path));
    info.system_uuid = detail::trim(*text);
  }

  const std::string boot_path = paths.path("/proc/sys/kernel/random/boot_id");
  SKIFF_ASSIGN_OR_RETURN(std::string boot, detail::readSmallFile(boot_path));
  SKIFF_TRY(detail::checkText(boot, boot_path));
  const std::string_view boot_id = detail::trim(boot);
  if (!isUuid(boot_id)) {
    return detail::parseError(boot_path,
                              "expected a UUID, got '" + std::string(boot_id.substr(0, 64)) + "'");
  }
  info.boot_id = boot_id;
  return {};
}

Result<void> readCpus(const HostPaths& paths, sys::HostSys& sys, HostInfo& info) {
  const std::string cpuinfo_path = paths.path("/proc/cpuinfo");
  SKIFF_ASSIGN_OR_RETURN(std::string cpuinfo, detail::readSmallFile(cpuinfo_path));
  SKIFF_ASSIGN_OR_RETURN(info.cpuinfo, parseCpuInfo(cpuinfo, cpuinfo_path));

  const std::string online_path = paths.path("/sys/devices/system/cpu/online");
  SKIFF_ASSIGN_OR_RETURN(auto online, detail::readOptionalFile(online_path));
  if (online) {
    SKIFF_ASSIGN_OR_RETURN(info.online_cpus, parseCpuList(*online, online_path));
    if (info.online_cpus.empty()) return detail::parseError(online_path, "no online cpus");
  } else {
    info.online_cpus = info.cpuinfo.processors;
  }

  SKIFF_ASSIGN_OR_RETURN(auto affinity, sys.schedGetAffinity());
  info.affinity = std::move(affinity);
  SKIFF_ASSIGN_OR_RETURN(info.cgroup_cpuset, cgroupCpuset(paths, info.cgroups));

  info.usable_cpus = intersect(info.online_cpus, *info.affinity);
  if (info.cgroup_cpuset) info.usable_cpus = intersect(info.usable_cpus, *info.cgroup_cpuset);
  if (info.usable_cpus.empty()) {
    return Error(ErrorCode::Invalid,
                 "compute cpu capacity: no usable cpu (online '" + formatCpuList(info.online_cpus) +
                     "', affinity '" + formatCpuList(*info.affinity) + "', cpuset '" +
                     (info.cgroup_cpuset ? formatCpuList(*info.cgroup_cpuset) : "-") + "')");
  }
  return {};
}

Result<void> readMemory(const HostPaths& paths, HostInfo& info) {
  SKIFF_ASSIGN_OR_RETURN(info.meminfo, readMemInfo(paths));
  SKIFF_ASSIGN_OR_RETURN(info.cgroup_memory_limit, cgroupMemoryLimit(paths, info.cgroups));
  info.memory_capacity_bytes = info.meminfo.mem_total_bytes;
  if (info.cgroup_memory_limit && *info.cgroup_memory_limit < info.memory_capacity_bytes) {
    info.memory_capacity_bytes = *info.cgroup_memory_limit;
  }

  // Every supported page size, as cadvisor lists them for kubelet.
  const std::string dir = paths.path("/sys/kernel/mm/hugepages");
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (!ec) {
    for (; !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
      const auto& entry = *it;
      const std::string name = entry.path().filename().string();
      if (!name.starts_with("hugepages-") || !name.ends_with("kB")) continue;
      auto kb = detail::parseUint(std::string_view(name).substr(10, name.size() - 12));
      if (!kb || *kb == 0 || *kb > (std::uint64_t{1} << 40)) continue;
      const std::string nr_path = entry.path().string() + "/nr_hugepages";
      SKIFF_ASSIGN_OR_RETURN(std::string nr, detail::readSmallFile(nr_path));
      auto pages = detail::parseUint(detail::trim(nr));
      if (!pages) {
        return detail::parseError(nr_path, "expected a page count, got '" +
                                               std::string(detail::trim(nr).substr(0, 64)) + "'");
      }
      info.hugepages.push_back({*kb * 1024, *pages});
    }
  } else if (info.meminfo.hugepage_size_bytes) {
    info.hugepages.push_back({*info.meminfo.hugepage_size_bytes, info.meminfo.hugepages_total});
  }
  std::sort(
      info.hugepages.begin(), info.hugepages.end(),
      [](const HugePages& a, const HugePages& b) { return a.page_size_bytes < b.page_size_bytes; });
  return {};
}

Result<void> readStateFs(const HostPaths& paths, sys::HostSys& sys, HostInfo& info) {
  std::string dir = paths.path(paths.state_dir);
  for (;;) {
    auto st = sys.statfs(dir);
    if (st) {
      info.state_fs = *st;
      info.state_fs_path = dir;
      return {};
    }
    if (st.error().sysErrno() != ENOENT && !st.error().is(ErrorCode::NotFound)) {
      return std::move(st).error();
    }
    const std::size_t slash = dir.find_last_of('/');
    if (slash == std::string::npos || dir == "/") return std::move(st).error();
    dir = slash == 0 ? "/" : dir.substr(0, slash);
  }
}

}  // namespace

std::string goArch(std::string_view machine) {
  if (machine == "x86_64" || machine == "amd64") return "amd64";
  if (machine == "aarch64" || machine == "arm64" || machine == "aarch64_be") return "arm64";
  if (machine == "ppc64le") return "ppc64le";
  if (machine == "ppc64") return "ppc64";
  if (machine == "s390x") return "s390x";
  if (machine == "riscv64") return "riscv64";
  if (machine == "i386" || machine == "i486" || machine == "i586" || machine == "i686") {
    return "386";
  }
  if (machine.starts_with("armv") || machine == "arm") return "arm";
  if (machine == "mips64") return "mips64";
  if (machine == "loongarch64") return "loong64";
  return std::string(machine);
}

Result<MemInfo> readMemInfo(const HostPaths& paths) {
  const std::string path = paths.path("/proc/meminfo");
  SKIFF_ASSIGN_OR_RETURN(std::string text, detail::readSmallFile(path));
  return parseMemInfo(text, path);
}

Result<HostInfo> collectHostInfo(const HostPaths& paths, sys::HostSys& sys) {
  HostInfo info;
  SKIFF_ASSIGN_OR_RETURN(sys::Uname u, sys.uname());
  if (u.release.empty() || u.machine.empty()) {
    return Error(ErrorCode::Invalid, "uname: empty kernel release or machine");
  }
  info.hostname = u.nodename;
  info.kernel_release = u.release;
  info.machine = u.machine;
  info.architecture = goArch(u.machine);

  SKIFF_TRY(readOsRelease(paths, info));
  SKIFF_TRY(readIds(paths, info));
  SKIFF_ASSIGN_OR_RETURN(info.cgroups, detectCgroups(paths));
  SKIFF_TRY(readCpus(paths, sys, info));
  SKIFF_TRY(readMemory(paths, info));
  SKIFF_TRY(readStateFs(paths, sys, info));
  return info;
}

Result<HostInfo> collectHostInfo(const HostPaths& paths) {
  auto sys = sys::makeRealHostSys();
  return collectHostInfo(paths, *sys);
}

}  // namespace skiff::hostinfo
