#include "skiff/master/informer/clock.h"

#include "skiff/common/rfc3339.h"

namespace skiff::master {

std::shared_ptr<Clock> realClock() {
  static std::shared_ptr<Clock> clock = std::make_shared<RealClock>();
  return clock;
}

std::string formatTime(TimePoint t) { return formatRfc3339(t); }

std::string formatMicroTime(TimePoint t) { return formatRfc3339Micro(t); }

bool parseTime(const std::string& text, TimePoint* out) {
  auto t = parseRfc3339(text);
  if (t) *out = *t;
  return t.has_value();
}

}  // namespace skiff::master
