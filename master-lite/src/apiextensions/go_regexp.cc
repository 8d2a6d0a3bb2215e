// Go regexp semantics over RE2 (go_regexp.h).
#include "go_regexp.h"

#include <re2/re2.h>

#include <map>
#include <memory>

namespace skiff::master::apiextensions {
namespace {

RE2::Options goOptions() {
  RE2::Options o;  // UTF-8, leftmost-first, perl classes and \b: Go's defaults
  o.set_log_errors(false);
  return o;
}

// regexp/syntax's ErrorCode texts for RE2's codes.
const char* goErrorText(RE2::ErrorCode c) {
  switch (c) {
    case RE2::ErrorBadEscape:
      return "invalid escape sequence";
    case RE2::ErrorBadCharClass:
      return "invalid character class";
    case RE2::ErrorBadCharRange:
      return "invalid character class range";
    case RE2::ErrorMissingBracket:
      return "missing closing ]";
    case RE2::ErrorMissingParen:
      return "missing closing )";
    case RE2::ErrorUnexpectedParen:
      return "unexpected )";
    case RE2::ErrorTrailingBackslash:
      return "trailing backslash at end of expression";
    case RE2::ErrorRepeatArgument:
      return "missing argument to repetition operator";
    case RE2::ErrorRepeatSize:
      return "invalid repeat count";
    case RE2::ErrorRepeatOp:
      return "invalid nested repetition operator";
    case RE2::ErrorBadPerlOp:
      return "invalid or unsupported Perl syntax";
    case RE2::ErrorBadUTF8:
      return "invalid UTF-8";
    case RE2::ErrorBadNamedCapture:
      return "invalid named capture";
    case RE2::ErrorPatternTooLarge:
      return "expression too large";
    default:
      return "regexp/syntax: internal error";
  }
}

const RE2* compiled(const std::string& pattern) {
  thread_local std::map<std::string, std::unique_ptr<RE2>> cache;
  auto it = cache.find(pattern);
  if (it == cache.end()) {
    if (cache.size() > 4096) cache.clear();
    it = cache.emplace(pattern, std::make_unique<RE2>(pattern, goOptions())).first;
  }
  return it->second->ok() ? it->second.get() : nullptr;
}

}  // namespace

std::optional<std::string> goRegexpError(const std::string& pattern) {
  RE2 re(pattern, goOptions());
  if (re.ok()) return std::nullopt;
  return std::string("error parsing regexp: ") + goErrorText(re.error_code()) + ": `" +
         re.error_arg() + "`";
}

std::optional<bool> goRegexpSearch(const std::string& pattern, const std::string& text) {
  const RE2* re = compiled(pattern);
  if (!re) return std::nullopt;
  return RE2::PartialMatch(text, *re);
}

}  // namespace skiff::master::apiextensions
