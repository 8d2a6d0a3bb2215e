#pragma once

// /proc/meminfo: total memory and the default-size huge pages.

#include <cstdint>
#include <optional>
#include <string_view>

#include "skiff/common/result.h"

namespace skiff::hostinfo {

struct MemInfo {
  std::uint64_t mem_total_bytes = 0;                   // MemTotal (kB * 1024)
  std::optional<std::uint64_t> mem_available_bytes;    // MemAvailable (kernels >= 3.14)
  std::optional<std::uint64_t> hugepage_size_bytes;    // Hugepagesize (absent without hugetlbfs)
  std::uint64_t hugepages_total = 0;                   // HugePages_Total (pages)
  std::uint64_t hugepages_free = 0;                    // HugePages_Free (pages)
};

// Parses the text of /proc/meminfo. MemTotal is required and must be non-zero; every line must be
// "Key: <number>[ kB]". Errors name `source` and the line.
Result<MemInfo> parseMemInfo(std::string_view text, std::string_view source);

}  // namespace skiff::hostinfo
