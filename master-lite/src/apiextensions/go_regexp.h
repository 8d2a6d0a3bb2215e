#pragma once

// Regular expressions as kube-apiserver reads them: CRD schema `pattern`s are compiled with Go's
// regexp package, whose syntax is RE2's (inline flags such as `(?i)`, no lookaround or
// backreferences) and whose matching is linear in the input. RE2 (Debian's libre2) is that
// syntax and that guarantee; std::regex is neither (it refuses `(?i)`, which published CRDs such
// as prometheus-operator's use, and backtracks exponentially on hostile input).

#include <optional>
#include <string>

namespace skiff::master::apiextensions {

// Why Go's regexp.Compile would refuse `pattern`, in its words
// ("error parsing regexp: missing closing ): `(a`"); nullopt when it compiles.
std::optional<std::string> goRegexpError(const std::string& pattern);

// Go's regexp.MatchString: whether `text` contains a match of `pattern` (unanchored).
// nullopt when the pattern does not compile. Compiled patterns are cached per thread.
std::optional<bool> goRegexpSearch(const std::string& pattern, const std::string& text);

}  // namespace skiff::master::apiextensions
