#pragma once

// kube-proxy's BoundedFrequencyRunner (pkg/util/async/bounded_frequency_runner.go) on an Asio
// steady_timer: `fn` runs at most once per `min_interval` however often run() is called (calls
// in between coalesce into one), at least once per `max_interval` even if nobody asks, and
// `retry_interval` after a failed run. Used for the node lease, the node status and the
// service proxy sync.
//
// The timing decisions live in RunnerSchedule, a pure value type that takes `now` as an
// argument, so they are tested with a fake clock; the runner only arms a timer at the instant
// the schedule names.

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

namespace skiff::agent {

using SteadyTime = std::chrono::steady_clock::time_point;
using Duration = std::chrono::steady_clock::duration;

class RunnerSchedule {
 public:
  RunnerSchedule(Duration min_interval, Duration max_interval, Duration retry_interval)
      : min_(min_interval), max_(max_interval), retry_(retry_interval) {}
  // A run was requested at `now`.
  void request() { pending_ = true; }
  // A run starts: requests from now on ask for another one.
  void begin();
  // The run that just happened at `now` succeeded or failed.
  void ran(SteadyTime now, bool success);
  // When the next run is due.
  SteadyTime next(SteadyTime now) const;
  bool pending() const { return pending_; }

 private:
  Duration min_, max_, retry_;
  std::optional<SteadyTime> last_;
  std::optional<SteadyTime> retry_at_;
  bool pending_ = true;  // the first run happens at once
};

class BoundedFrequencyRunner {
 public:
  // `fn` returns true on success. It runs on `io`'s thread.
  BoundedFrequencyRunner(boost::asio::io_context& io, std::string name, std::function<bool()> fn,
                         Duration min_interval, Duration max_interval, Duration retry_interval);
  void start();
  // Requests a run as soon as min_interval allows. Thread-safe.
  void run();
  void stop();

 private:
  void arm();
  void fire();
  boost::asio::io_context& io_;
  std::string name_;
  std::function<bool()> fn_;
  std::mutex mu_;
  RunnerSchedule schedule_;
  boost::asio::steady_timer timer_;
  bool stopped_ = false;
};

}  // namespace skiff::agent
