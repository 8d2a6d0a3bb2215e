#pragma once

// `n` creates started at the same moment from as many threads, with their outcomes counted: how
// a test and the quota bench check that concurrent creates never over-admit.

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "skiff/master/api/registry.h"

namespace skiff::master::testing {

struct CreateRace {
  int admitted = 0;
  int refused = 0;  // failed with a message containing the refusal
  int other = 0;    // failed otherwise
};

// Calls create(0) ... create(n - 1), each on its own thread, all released together; `on_other`
// (may be empty) sees each failure that is not a refusal.
inline CreateRace raceCreates(int n, const std::function<Result<api::WriteResult>(int)>& create,
                              const std::string& refusal,
                              const std::function<void(const Error&)>& on_other = {}) {
  std::atomic<int> admitted{0}, refused{0}, other{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      while (!go.load()) std::this_thread::yield();
      auto r = create(i);
      if (r) {
        ++admitted;
      } else if (r.error().message().find(refusal) != std::string::npos) {
        ++refused;
      } else {
        ++other;
        if (on_other) on_other(r.error());
      }
    });
  }
  go = true;
  for (auto& t : threads) t.join();
  return {admitted.load(), refused.load(), other.load()};
}

}  // namespace skiff::master::testing
