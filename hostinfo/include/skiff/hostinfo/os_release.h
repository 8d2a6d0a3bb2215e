#pragma once

// os-release(5): /etc/os-release, falling back to /usr/lib/os-release.

#include <map>
#include <string>
#include <string_view>

#include "skiff/common/result.h"

namespace skiff::hostinfo {

using OsRelease = std::map<std::string, std::string>;

// Parses os-release text: KEY=VALUE lines, '#' comments and blank lines ignored; values unquoted,
// in "double quotes" (with the shell escapes \" \\ \$ \`) or in 'single quotes' (literal).
// Errors (naming `source` and the line) for binary data, a line without '=', an invalid key,
// an unterminated quote or text after a closing quote.
Result<OsRelease> parseOsRelease(std::string_view text, std::string_view source);

// Node.status.nodeInfo.osImage: PRETTY_NAME, or "Linux" when the file has none (what cadvisor
// reports for the same case).
std::string osImage(const OsRelease& release);

}  // namespace skiff::hostinfo
