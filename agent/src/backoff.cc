#include "skiff/agent/backoff.h"

#include <algorithm>

namespace skiff::agent {

Backoff::Backoff(std::chrono::seconds initial, std::chrono::seconds max, WallClock clock)
    : initial_(initial), max_(max), clock_(std::move(clock)) {}

void Backoff::next(const std::string& key) {
  std::lock_guard lk(mu_);
  auto now = clock_();
  auto it = entries_.find(key);
  if (it == entries_.end() || now - it->second.last > 2 * max_) {
    entries_[key] = Entry{initial_, now};
    return;
  }
  it->second.delay = std::min(it->second.delay * 2, max_);
  it->second.last = now;
}

bool Backoff::inBackoffSince(const std::string& key, std::chrono::system_clock::time_point since) {
  std::lock_guard lk(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return false;
  auto now = clock_();
  if (now - it->second.last > 2 * max_) return false;
  return now - since < it->second.delay;
}

std::chrono::seconds Backoff::delay(const std::string& key) {
  std::lock_guard lk(mu_);
  auto it = entries_.find(key);
  return it == entries_.end() ? std::chrono::seconds(0) : it->second.delay;
}

void Backoff::reset(const std::string& key) {
  std::lock_guard lk(mu_);
  entries_.erase(key);
}

void Backoff::gc() {
  std::lock_guard lk(mu_);
  auto now = clock_();
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (now - it->second.last > 2 * max_) {
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace skiff::agent
