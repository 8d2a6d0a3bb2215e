// Go regexp semantics over RE2 (go_regexp.h).
#include "go_regexp.h"

#include <re2/re2.h>

#include <map>
#include <memory>

#include "skiff/common/enum_names.h"

namespace skiff::master::apiextensions {
namespace {

RE2::Options goOptions() {
  RE2::Options o;  // UTF-8, leftmost-first, perl classes and \b: Go's defaults
  o.set_log_errors(false);
  return o;
}

// regexp/syntax's ErrorCode texts for RE2's codes.
constexpr EnumName<RE2::ErrorCode> kGoErrorTexts[] = {
    {RE2::ErrorBadEscape, "invalid escape sequence"},
    {RE2::ErrorBadCharClass, "invalid character class"},
    {RE2::ErrorBadCharRange, "invalid character class range"},
    {RE2::ErrorMissingBracket, "missing closing ]"},
    {RE2::ErrorMissingParen, "missing closing )"},
    {RE2::ErrorUnexpectedParen, "unexpected )"},
    {RE2::ErrorTrailingBackslash, "trailing backslash at end of expression"},
    {RE2::ErrorRepeatArgument, "missing argument to repetition operator"},
    {RE2::ErrorRepeatSize, "invalid repeat count"},
    {RE2::ErrorRepeatOp, "invalid nested repetition operator"},
    {RE2::ErrorBadPerlOp, "invalid or unsupported Perl syntax"},
    {RE2::ErrorBadUTF8, "invalid UTF-8"},
    {RE2::ErrorBadNamedCapture, "invalid named capture"},
    {RE2::ErrorPatternTooLarge, "expression too large"},
};

const char* goErrorText(RE2::ErrorCode c) {
  return nameOf(kGoErrorTexts, c, "regexp/syntax: internal error");
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
