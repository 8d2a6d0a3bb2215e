#pragma once

// The clock every controller, queue and the scheduler read, injected so tests advance time
// instead of sleeping (STYLE.md §9; client-go's k8s.io/utils/clock).

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

namespace skiff::master {

using TimePoint = std::chrono::system_clock::time_point;
using Duration = std::chrono::system_clock::duration;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

// The wall clock.
class RealClock : public Clock {
 public:
  TimePoint now() const override { return std::chrono::system_clock::now(); }
};

// A clock that moves only when told; thread-safe.
class FakeClock : public Clock {
 public:
  explicit FakeClock(TimePoint start = TimePoint(std::chrono::seconds(1767225600)))  // 2026-01-01
      : now_(start) {}
  TimePoint now() const override {
    std::lock_guard lock(mu_);
    return now_;
  }
  void advance(Duration d) {
    std::lock_guard lock(mu_);
    now_ += d;
  }
  void set(TimePoint t) {
    std::lock_guard lock(mu_);
    now_ = t;
  }

 private:
  mutable std::mutex mu_;
  TimePoint now_;
};

// A shared real clock for production wiring.
std::shared_ptr<Clock> realClock();

// RFC 3339 with second precision in UTC, as metav1.Time serialises: "2026-11-23T17:19:26Z".
std::string formatTime(TimePoint t);
// RFC 3339 with microseconds, as metav1.MicroTime serialises (Lease renewTime, Event eventTime).
std::string formatMicroTime(TimePoint t);
// Parses metav1.Time / MicroTime ("...Z", optional fraction, optional +hh:mm offset).
// Returns false on malformed input.
bool parseTime(const std::string& text, TimePoint* out);

}  // namespace skiff::master
