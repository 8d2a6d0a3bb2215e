#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace skiff {

// "a, b,,c" -> {"a", "b", "c"}: a flag's comma-separated list (--etcd-servers, --server), each
// entry trimmed of spaces, empty entries dropped.
inline std::vector<std::string> splitList(std::string_view text, char sep = ',') {
  std::vector<std::string> out;
  while (true) {
    std::size_t end = text.find(sep);
    std::string_view one = text.substr(0, end);
    while (!one.empty() && one.front() == ' ') one.remove_prefix(1);
    while (!one.empty() && one.back() == ' ') one.remove_suffix(1);
    if (!one.empty()) out.emplace_back(one);
    if (end == std::string_view::npos) return out;
    text.remove_prefix(end + 1);
  }
}

// "a,,b" -> {"a", "", "b"} and "" -> {""}: every field between separators, as it is (empty ones
// kept, nothing trimmed); the views point into `text`. Callers skip or reject empty fields.
inline std::vector<std::string_view> splitAt(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  while (true) {
    std::size_t end = text.find(sep);
    out.push_back(text.substr(0, end));
    if (end == std::string_view::npos) return out;
    text.remove_prefix(end + 1);
  }
}

}  // namespace skiff
