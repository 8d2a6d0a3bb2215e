#include "skiff/agent/runner.h"

#include <boost/asio/post.hpp>

#include <algorithm>

namespace skiff::agent {

void RunnerSchedule::begin() { pending_ = false; }

void RunnerSchedule::ran(SteadyTime now, bool success) {
  last_ = now;
  if (success) {
    retry_at_.reset();
  } else {
    retry_at_ = now + retry_;
  }
}

SteadyTime RunnerSchedule::next(SteadyTime now) const {
  if (!last_) return now;
  SteadyTime earliest = *last_ + min_;
  SteadyTime due = *last_ + max_;
  if (retry_at_) due = std::min(due, *retry_at_);
  if (pending_) due = std::min(due, std::max(earliest, now));
  return std::max(due, earliest);
}

BoundedFrequencyRunner::BoundedFrequencyRunner(boost::asio::io_context& io, std::string name,
                                               std::function<bool()> fn, Duration min_interval,
                                               Duration max_interval, Duration retry_interval)
    : io_(io),
      name_(std::move(name)),
      fn_(std::move(fn)),
      schedule_(min_interval, max_interval, retry_interval),
      timer_(io) {}

void BoundedFrequencyRunner::start() {
  boost::asio::post(io_, [this] { arm(); });
}

void BoundedFrequencyRunner::run() {
  std::lock_guard lk(mu_);
  if (stopped_ || schedule_.pending()) return;
  schedule_.request();
  boost::asio::post(io_, [this] { arm(); });
}

void BoundedFrequencyRunner::stop() {
  std::lock_guard lk(mu_);
  stopped_ = true;
  boost::asio::post(io_, [this] { timer_.cancel(); });
}

void BoundedFrequencyRunner::arm() {
  std::lock_guard lk(mu_);
  if (stopped_) return;
  timer_.expires_at(schedule_.next(std::chrono::steady_clock::now()));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;  // re-armed or stopped
    fire();
  });
}

void BoundedFrequencyRunner::fire() {
  {
    std::lock_guard lk(mu_);
    if (stopped_) return;
    schedule_.begin();  // requests made while fn_ runs schedule another run
  }
  bool ok = fn_();
  {
    std::lock_guard lk(mu_);
    schedule_.ran(std::chrono::steady_clock::now(), ok);
  }
  arm();
}

}  // namespace skiff::agent
