#pragma once

// The kernel's cpu list format ("0-3,8-11,15"), used by /sys/devices/system/cpu/online,
// cpuset.cpus and cpuset.effective_cpus.

#include <string_view>
#include <vector>

#include "skiff/common/result.h"

namespace skiff::hostinfo {

// Largest CPU id accepted (the kernel's NR_CPUS limit is 8192; keep headroom).
inline constexpr int kMaxCpuId = 65535;

// Parses a cpu list; surrounding whitespace (the trailing newline) is ignored and an empty list
// is valid (an empty cpuset). Returns ascending, de-duplicated ids. Errors name `source`.
Result<std::vector<int>> parseCpuList(std::string_view text, std::string_view source);

// Formats ids back into the kernel's list form ("0-3,8").
std::string formatCpuList(const std::vector<int>& cpus);

}  // namespace skiff::hostinfo
