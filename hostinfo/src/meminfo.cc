#include "skiff/hostinfo/meminfo.h"

#include <limits>

#include "text.h"

namespace skiff::hostinfo {

Result<MemInfo> parseMemInfo(std::string_view text, std::string_view source) {
  SKIFF_TRY(detail::checkText(text, source));
  MemInfo info;
  bool have_total = false;
  for (const auto& [raw, line_no] : detail::nonBlankLines(text)) {
    const std::string_view line = detail::trim(raw);
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      return detail::lineError(source, line_no,
                               "expected 'Key: value', got '" + std::string(line) + "'");
    }
    const std::string_view key = line.substr(0, colon);
    const auto fields = detail::splitFields(line.substr(colon + 1));
    if (fields.empty() || fields.size() > 2 || (fields.size() == 2 && fields[1] != "kB")) {
      return detail::lineError(source, line_no, "bad value for '" + std::string(key) + "'");
    }
    auto number = detail::parseUint(fields[0]);
    if (!number) {
      return detail::lineError(source, line_no, "bad number '" + std::string(fields[0]) + "'");
    }
    std::uint64_t value = *number;
    if (fields.size() == 2) {
      if (value > std::numeric_limits<std::uint64_t>::max() / 1024) {
        return detail::lineError(source, line_no, "value of '" + std::string(key) + "' overflows");
      }
      value *= 1024;
    }
    if (key == "MemTotal") {
      info.mem_total_bytes = value;
      have_total = true;
    } else if (key == "MemAvailable") {
      info.mem_available_bytes = value;
    } else if (key == "Hugepagesize") {
      info.hugepage_size_bytes = value;
    } else if (key == "HugePages_Total") {
      info.hugepages_total = value;
    } else if (key == "HugePages_Free") {
      info.hugepages_free = value;
    }
  }
  if (!have_total) return detail::parseError(source, "no MemTotal (empty or truncated file)");
  if (info.mem_total_bytes == 0) return detail::parseError(source, "MemTotal is 0");
  return info;
}

}  // namespace skiff::hostinfo
