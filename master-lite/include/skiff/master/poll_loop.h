#pragma once

// The loop of the master's own pollers (the namespace finalizer, the CRD controller): a thread
// that runs a pass, then sleeps for the pause the pass asked for, or until wake() or stop().

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace skiff::master {

class PollLoop {
 public:
  // One pass; returns how long to wait before the next.
  using Pass = std::function<std::chrono::milliseconds()>;

  PollLoop() = default;
  ~PollLoop() { stop(); }
  PollLoop(const PollLoop&) = delete;
  PollLoop& operator=(const PollLoop&) = delete;

  void start(Pass pass) {
    thread_ = std::thread([this, pass = std::move(pass)] { run(pass); });
  }
  // Ends the current (or next) pause at once.
  void wake() {
    std::lock_guard l(mu_);
    woken_ = true;
    cv_.notify_all();
  }
  // Returns once the thread (if started) has finished its pass and exited.
  void stop() {
    {
      std::lock_guard l(mu_);
      stopping_ = true;
      cv_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
  }

 private:
  void run(const Pass& pass) {
    std::unique_lock l(mu_);
    while (!stopping_) {
      l.unlock();
      std::chrono::milliseconds pause = pass();
      l.lock();
      cv_.wait_for(l, pause, [this] { return stopping_ || woken_; });
      woken_ = false;
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool woken_ = false;
  std::thread thread_;
};

}  // namespace skiff::master
