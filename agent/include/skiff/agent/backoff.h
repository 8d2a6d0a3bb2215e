#pragma once

// kubelet's flowcontrol.Backoff as used for CrashLoopBackOff and image pulls: per key, the delay
// starts at `initial`, doubles on each next() up to `max`, and an entry untouched for 2*max
// (10 min with the defaults) starts over. Clock injected; thread-safe.

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>

namespace skiff::agent {

using WallClock = std::function<std::chrono::system_clock::time_point()>;

class Backoff {
 public:
  Backoff(std::chrono::seconds initial, std::chrono::seconds max, WallClock clock);
  // Records an attempt at now: the delay becomes initial (new/expired entry) or doubles.
  void next(const std::string& key);
  // True while `since + current delay` is still ahead (kubelet: IsInBackOffSince).
  bool inBackoffSince(const std::string& key, std::chrono::system_clock::time_point since);
  std::chrono::seconds delay(const std::string& key);
  void reset(const std::string& key);
  // Drops entries idle for 2*max (kubelet GC's them periodically).
  void gc();

 private:
  struct Entry {
    std::chrono::seconds delay;
    std::chrono::system_clock::time_point last;
  };
  std::chrono::seconds initial_, max_;
  WallClock clock_;
  std::mutex mu_;
  std::map<std::string, Entry> entries_;
};

}  // namespace skiff::agent
