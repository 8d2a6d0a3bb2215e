#include "skiff/common/rfc3339.h"

#include <cstdio>
#include <ctime>

namespace skiff {
namespace {

using std::chrono::duration_cast;
using std::chrono::nanoseconds;

// Seconds since the epoch (floor) and the sub-second nanoseconds of `t`.
std::pair<std::time_t, long long> split(SystemTime t) {
  long long ns = duration_cast<nanoseconds>(t.time_since_epoch()).count();
  long long secs = ns / 1000000000;
  long long frac = ns % 1000000000;
  if (frac < 0) {
    frac += 1000000000;
    --secs;
  }
  return {static_cast<std::time_t>(secs), frac};
}

std::string format(SystemTime t, int digits) {
  auto [secs, frac] = split(t);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[64];
  std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  if (digits > 0) {
    long long scaled = frac;
    for (int i = digits; i < 9; ++i) scaled /= 10;
    n +=
        static_cast<std::size_t>(std::snprintf(buf + n, sizeof buf - n, ".%0*lld", digits, scaled));
  }
  std::snprintf(buf + n, sizeof buf - n, "Z");
  return buf;
}

// Reads exactly `width` digits at text[pos].
bool digitsAt(std::string_view text, std::size_t pos, int width, int* out) {
  if (pos + static_cast<std::size_t>(width) > text.size()) return false;
  int v = 0;
  for (int i = 0; i < width; ++i) {
    char c = text[pos + static_cast<std::size_t>(i)];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

}  // namespace

std::string formatRfc3339(SystemTime t) { return format(t, 0); }
std::string formatRfc3339Micro(SystemTime t) { return format(t, 6); }
std::string formatRfc3339Nano(SystemTime t) { return format(t, 9); }

std::optional<SystemTime> parseRfc3339(std::string_view text) {
  int y, mo, d, h, mi, s;
  if (text.size() < 20 || !digitsAt(text, 0, 4, &y) || text[4] != '-' ||
      !digitsAt(text, 5, 2, &mo) || text[7] != '-' || !digitsAt(text, 8, 2, &d) ||
      (text[10] != 'T' && text[10] != 't') || !digitsAt(text, 11, 2, &h) || text[13] != ':' ||
      !digitsAt(text, 14, 2, &mi) || text[16] != ':' || !digitsAt(text, 17, 2, &s)) {
    return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return std::nullopt;
  std::size_t pos = 19;
  long long frac_ns = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (digits < 9) {
        frac_ns = frac_ns * 10 + (text[pos] - '0');
        ++digits;
      }
      ++pos;
    }
    if (digits == 0) return std::nullopt;
    for (; digits < 9; ++digits) frac_ns *= 10;
  }
  long offset = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int oh, om;
    if (!digitsAt(text, pos + 1, 2, &oh) || pos + 3 >= text.size() || text[pos + 3] != ':' ||
        !digitsAt(text, pos + 4, 2, &om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset = (oh * 3600L + om * 60L) * (text[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != text.size()) return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  std::time_t secs = ::timegm(&tm) - offset;
  return SystemTime(
      duration_cast<SystemTime::duration>(std::chrono::seconds(secs) + nanoseconds(frac_ns)));
}

}  // namespace skiff
