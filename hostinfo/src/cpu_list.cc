#include "skiff/hostinfo/cpu_list.h"

#include <algorithm>
#include <string>

#include "skiff/common/split_list.h"
#include "text.h"

namespace skiff::hostinfo {

Result<std::vector<int>> parseCpuList(std::string_view text, std::string_view source) {
  SKIFF_TRY(detail::checkText(text, source));
  const std::string_view list = detail::trim(text);
  std::vector<int> cpus;
  if (list.empty()) return cpus;
  for (const std::string_view item : splitAt(list, ',')) {
    const std::size_t dash = item.find('-');
    auto first = detail::parseInt(dash == std::string_view::npos ? item : item.substr(0, dash));
    auto last = dash == std::string_view::npos ? first : detail::parseInt(item.substr(dash + 1));
    if (!first || !last || *first > *last || *last > kMaxCpuId) {
      return detail::parseError(
          source, "bad cpu list item '" + std::string(item) + "' in '" + std::string(list) + "'");
    }
    for (int c = *first; c <= *last; ++c) cpus.push_back(c);
  }
  std::sort(cpus.begin(), cpus.end());
  cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
  return cpus;
}

std::string formatCpuList(const std::vector<int>& cpus) {
  std::string out;
  for (std::size_t i = 0; i < cpus.size();) {
    std::size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(cpus[i]);
    if (j > i) out += "-" + std::to_string(cpus[j]);
    i = j + 1;
  }
  return out;
}

}  // namespace skiff::hostinfo
