#pragma once

// RFC 3339 timestamps as Kubernetes writes them: metav1.Time ("2026-01-02T03:04:05Z", seconds,
// UTC), metav1.MicroTime (".123456Z", Leases and Events) and the nanosecond stamps of CRI
// logs. One parser accepts them all, with a Z or ±hh:mm offset.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace skiff {

using SystemTime = std::chrono::system_clock::time_point;

std::string formatRfc3339(SystemTime t);       // seconds, truncated
std::string formatRfc3339Micro(SystemTime t);  // microseconds, truncated
std::string formatRfc3339Nano(SystemTime t);   // nanoseconds, always 9 digits

// "YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)"; fractions beyond nanoseconds are truncated.
// nullopt for anything else (a missing offset, an out-of-range field, trailing text).
std::optional<SystemTime> parseRfc3339(std::string_view text);

}  // namespace skiff
