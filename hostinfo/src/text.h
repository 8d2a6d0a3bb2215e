#pragma once

// Small text and file helpers shared by the /proc, /sys and /etc readers (private to hostinfo).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "skiff/common/result.h"

namespace skiff::hostinfo::detail {

// Lines without their '\n'; a final line without newline is kept (truncated files).
std::vector<std::string_view> splitLines(std::string_view text);
// The lines of `text` that are not blank, with their numbers from 1 (for lineError).
struct NumberedLine {
  std::string_view text;
  std::size_t number;
};
std::vector<NumberedLine> nonBlankLines(std::string_view text);
// Splits on any run of spaces/tabs.
std::vector<std::string_view> splitFields(std::string_view line);
std::string_view trim(std::string_view s);
// Unsigned decimal without sign or spaces; nullopt on garbage or overflow.
std::optional<std::uint64_t> parseUint(std::string_view s);
std::optional<int> parseInt(std::string_view s);

// Rejects input that cannot be a text file from /proc, /sys or /etc: NUL or other control bytes
// (except tab, newline, carriage return). Error: "parse '<source>': binary data at offset N".
Result<void> checkText(std::string_view text, std::string_view source);

// "parse '<source>': <what>" / "parse '<source>' line N: <what>".
Error parseError(std::string_view source, std::string_view what);
Error lineError(std::string_view source, std::size_t line_no, std::string_view what);

// Reads a small /proc, /sys or /etc file (capped at 4 MiB); errors name the path.
Result<std::string> readSmallFile(const std::string& path);
// Same, but a missing file (or missing directory on the way) is nullopt rather than an error.
Result<std::optional<std::string>> readOptionalFile(const std::string& path);

}  // namespace skiff::hostinfo::detail
