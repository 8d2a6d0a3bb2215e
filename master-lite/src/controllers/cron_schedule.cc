#include "skiff/master/controllers/cron_schedule.h"

#include <cctype>
#include <ctime>
#include <sstream>
#include <vector>

namespace skiff::master {

namespace {

Error bad(const std::string& spec, const std::string& why) {
  return Error(ErrorCode::Invalid, "unparseable schedule '" + spec + "': " + why);
}

std::optional<int> value(std::string v, const char* const* names, int name_base) {
  for (auto& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (names != nullptr) {
    for (int i = 0; names[i] != nullptr; ++i) {
      if (v == names[i]) return i + name_base;
    }
  }
  if (v.empty() || v.size() > 3) return std::nullopt;
  for (char c : v) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
  }
  return std::stoi(v);
}

// One field into bits [lo, hi]; returns whether it was "*" (or "?").
template <std::size_t N>
Result<bool> field(const std::string& spec, const std::string& text, int lo, int hi,
                   const char* const* names, int name_base, std::bitset<N>* bits) {
  bool star = false;
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, ',')) {
    int step = 1;
    if (auto slash = part.find('/'); slash != std::string::npos) {
      auto s = value(part.substr(slash + 1), nullptr, 0);
      if (!s || *s <= 0) return bad(spec, "bad step in '" + part + "'");
      step = *s;
      part = part.substr(0, slash);
    }
    int from, to;
    if (part == "*" || part == "?") {
      from = lo;
      to = hi;
      if (step == 1) star = true;
    } else if (auto dash = part.find('-'); dash != std::string::npos) {
      auto a = value(part.substr(0, dash), names, name_base);
      auto b = value(part.substr(dash + 1), names, name_base);
      if (!a || !b) return bad(spec, "bad range '" + part + "'");
      from = *a;
      to = *b;
    } else {
      auto a = value(part, names, name_base);
      if (!a) return bad(spec, "bad value '" + part + "'");
      from = *a;
      to = text.find('/') != std::string::npos ? hi : *a;
    }
    if (N == 7 && to == 7) {  // 7 is Sunday too
      if (from == 7)
        from = 0, to = 0;
      else if ((7 - from) % step == 0)
        bits->set(0), to = 6;
      else
        to = 6;
    }
    if (from < lo || to > hi || from > to) {
      return bad(spec,
                 "'" + part + "' is out of range " + std::to_string(lo) + "-" + std::to_string(hi));
    }
    for (int i = from; i <= to; i += step) bits->set(static_cast<std::size_t>(i));
  }
  return star;
}

const char* const kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun",  "jul",
                               "aug", "sep", "oct", "nov", "dec", nullptr};
const char* const kDays[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", nullptr};

}  // namespace

Result<CronSchedule> CronSchedule::parse(const std::string& raw) {
  std::string spec = raw;
  if (spec.rfind("TZ=", 0) == 0 || spec.rfind("CRON_TZ=", 0) == 0) {
    auto sp = spec.find(' ');
    if (sp == std::string::npos) return bad(raw, "missing fields");
    std::string tz = spec.substr(spec.find('=') + 1, sp - spec.find('=') - 1);
    if (tz != "UTC" && tz != "Etc/UTC") return bad(raw, "only UTC time zones are supported");
    spec = spec.substr(sp + 1);
  }
  static const std::pair<const char*, const char*> kMacros[] = {
      {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
      {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
      {"@hourly", "0 * * * *"}};
  for (const auto& [m, expansion] : kMacros) {
    if (spec == m) spec = expansion;
  }
  std::vector<std::string> f;
  std::stringstream ss(spec);
  std::string tok;
  while (ss >> tok) f.push_back(tok);
  if (f.size() != 5)
    return bad(raw, "expected exactly 5 fields, found " + std::to_string(f.size()));
  CronSchedule s;
  SKIFF_TRY(field(raw, f[0], 0, 59, nullptr, 0, &s.minute_));
  SKIFF_TRY(field(raw, f[1], 0, 23, nullptr, 0, &s.hour_));
  SKIFF_ASSIGN_OR_RETURN(s.dom_star_, field(raw, f[2], 1, 31, nullptr, 0, &s.dom_));
  SKIFF_TRY(field(raw, f[3], 1, 12, kMonths, 1, &s.month_));
  SKIFF_ASSIGN_OR_RETURN(s.dow_star_, field(raw, f[4], 0, 7, kDays, 0, &s.dow_));
  return s;
}

std::optional<TimePoint> CronSchedule::next(TimePoint t) const {
  std::time_t secs =
      std::chrono::system_clock::to_time_t(std::chrono::floor<std::chrono::minutes>(t)) + 60;
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  int year_limit = tm.tm_year + 5;
  // Moves tm to the start of the next month, day, hour or minute (`unit` one up, every smaller
  // field at its first value) and normalises it (the 32nd of a month is the 1st of the next).
  auto startOfNext = [&](int std::tm::*unit) {
    ++(tm.*unit);
    if (unit == &std::tm::tm_mon) tm.tm_mday = 1;
    if (unit == &std::tm::tm_mon || unit == &std::tm::tm_mday) tm.tm_hour = 0;
    if (unit != &std::tm::tm_min) tm.tm_min = 0;
    secs = ::timegm(&tm);
    ::gmtime_r(&secs, &tm);
  };
  while (tm.tm_year <= year_limit) {
    if (!month_.test(static_cast<std::size_t>(tm.tm_mon) + 1)) {
      startOfNext(&std::tm::tm_mon);
      continue;
    }
    bool dom = dom_.test(static_cast<std::size_t>(tm.tm_mday));
    bool dow = dow_.test(static_cast<std::size_t>(tm.tm_wday));
    // Vixie cron: when both day fields are restricted, either may match.
    bool day_ok = (dom_star_ || dow_star_) ? (dom && dow) : (dom || dow);
    if (!day_ok) {
      startOfNext(&std::tm::tm_mday);
      continue;
    }
    if (!hour_.test(static_cast<std::size_t>(tm.tm_hour))) {
      startOfNext(&std::tm::tm_hour);
      continue;
    }
    if (!minute_.test(static_cast<std::size_t>(tm.tm_min))) {
      startOfNext(&std::tm::tm_min);
      continue;
    }
    return std::chrono::system_clock::from_time_t(::timegm(&tm));
  }
  return std::nullopt;
}

}  // namespace skiff::master
