#include "text.h"

#include <cerrno>
#include <limits>

#include "skiff/common/file.h"

namespace skiff::hostinfo::detail {

std::vector<std::string_view> splitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) {
      lines.push_back(text.substr(start));
      break;
    }
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

std::vector<NumberedLine> nonBlankLines(std::string_view text) {
  std::vector<NumberedLine> out;
  const auto lines = splitLines(text);
  for (std::size_t n = 0; n < lines.size(); ++n) {
    if (!trim(lines[n]).empty()) out.push_back({lines[n], n + 1});
  }
  return out;
}

std::vector<std::string_view> splitFields(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

std::string_view trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n\v\f";
  std::size_t b = s.find_first_not_of(kSpace);
  if (b == std::string_view::npos) return {};
  std::size_t e = s.find_last_not_of(kSpace);
  return s.substr(b, e - b + 1);
}

std::optional<std::uint64_t> parseUint(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (std::numeric_limits<std::uint64_t>::max() - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

std::optional<int> parseInt(std::string_view s) {
  auto v = parseUint(s);
  if (!v || *v > static_cast<std::uint64_t>(std::numeric_limits<int>::max())) return std::nullopt;
  return static_cast<int>(*v);
}

Result<void> checkText(std::string_view text, std::string_view source) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) {
      return parseError(source, "binary data at offset " + std::to_string(i));
    }
  }
  return {};
}

Error parseError(std::string_view source, std::string_view what) {
  return Error(ErrorCode::Invalid, "parse '" + std::string(source) + "': " + std::string(what));
}

Error lineError(std::string_view source, std::size_t line_no, std::string_view what) {
  return Error(ErrorCode::Invalid, "parse '" + std::string(source) + "' line " +
                                       std::to_string(line_no) + ": " + std::string(what));
}

Result<std::string> readSmallFile(const std::string& path) {
  return readFile(path, std::size_t{4} << 20);
}

Result<std::optional<std::string>> readOptionalFile(const std::string& path) {
  auto r = readSmallFile(path);
  if (r) return std::optional<std::string>(std::move(r).value());
  if (r.error().sysErrno() == ENOENT || r.error().sysErrno() == ENOTDIR) {
    return std::optional<std::string>();
  }
  return std::move(r).error();
}

}  // namespace skiff::hostinfo::detail
