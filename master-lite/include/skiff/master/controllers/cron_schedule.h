#pragma once

// Standard cron schedules (robfig/cron's standard parser, which the CronJob controller uses):
// five fields (minute hour day-of-month month day-of-week) with lists, ranges, steps, names
// (jan-dec, sun-sat) and the macros @yearly/@annually/@monthly/@weekly/@daily/@midnight/
// @hourly. Times are UTC.

#include <bitset>
#include <optional>
#include <string>

#include "skiff/common/result.h"
#include "skiff/master/informer/clock.h"

namespace skiff::master {

class CronSchedule {
 public:
  static Result<CronSchedule> parse(const std::string& spec);
  // The first activation strictly after t (minute precision); nullopt if none within 5 years.
  std::optional<TimePoint> next(TimePoint t) const;

 private:
  std::bitset<60> minute_;
  std::bitset<24> hour_;
  std::bitset<32> dom_;
  std::bitset<13> month_;
  std::bitset<7> dow_;
  bool dom_star_ = false;
  bool dow_star_ = false;
};

}  // namespace skiff::master
