#include "skiff/hostinfo/os_release.h"

#include "text.h"

namespace skiff::hostinfo {
namespace {

bool validKey(std::string_view key) {
  if (key.empty()) return false;
  for (std::size_t i = 0; i < key.size(); ++i) {
    const char c = key[i];
    const bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    if (!alpha && !(digit && i > 0)) return false;
  }
  return true;
}

// Everything after a value must be blank or a comment.
bool onlyTrailingSpaceOrComment(std::string_view rest) {
  rest = detail::trim(rest);
  return rest.empty() || rest.front() == '#';
}

}  // namespace

Result<OsRelease> parseOsRelease(std::string_view text, std::string_view source) {
  SKIFF_TRY(detail::checkText(text, source));
  OsRelease out;
  for (const auto& [untrimmed, line_no] : detail::nonBlankLines(text)) {
    const std::string_view line = detail::trim(untrimmed);
    if (line.front() == '#') continue;
    const std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      return detail::lineError(source, line_no,
                               "expected KEY=VALUE, got '" + std::string(line) + "'");
    }
    const std::string_view key = detail::trim(line.substr(0, eq));
    if (!validKey(key)) {
      return detail::lineError(source, line_no, "invalid key '" + std::string(key) + "'");
    }
    const std::string_view raw = detail::trim(line.substr(eq + 1));
    std::string value;
    if (!raw.empty() && (raw.front() == '"' || raw.front() == '\'')) {
      const char quote = raw.front();
      std::size_t i = 1;
      bool closed = false;
      for (; i < raw.size(); ++i) {
        const char c = raw[i];
        if (c == quote) {
          closed = true;
          break;
        }
        if (quote == '"' && c == '\\' && i + 1 < raw.size()) {
          const char next = raw[i + 1];
          if (next == '"' || next == '\\' || next == '$' || next == '`') {
            value += next;
            ++i;
            continue;
          }
        }
        value += c;
      }
      if (!closed) {
        return detail::lineError(source, line_no,
                                 "unterminated quote in value of '" + std::string(key) + "'");
      }
      if (!onlyTrailingSpaceOrComment(raw.substr(i + 1))) {
        return detail::lineError(source, line_no,
                                 "text after closing quote in value of '" + std::string(key) + "'");
      }
    } else {
      // Unquoted: a backslash escapes the next character; whitespace ends the value.
      std::size_t i = 0;
      for (; i < raw.size(); ++i) {
        const char c = raw[i];
        if (c == ' ' || c == '\t') break;
        if (c == '\\' && i + 1 < raw.size()) {
          value += raw[++i];
          continue;
        }
        value += c;
      }
      if (!onlyTrailingSpaceOrComment(raw.substr(i))) {
        return detail::lineError(
            source, line_no, "unquoted value of '" + std::string(key) + "' contains whitespace");
      }
    }
    out[std::string(key)] = std::move(value);
  }
  return out;
}

std::string osImage(const OsRelease& release) {
  auto it = release.find("PRETTY_NAME");
  if (it == release.end() || it->second.empty()) return "Linux";
  return it->second;
}

}  // namespace skiff::hostinfo
