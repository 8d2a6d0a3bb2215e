#pragma once

// A rate-limited work queue with client-go's workqueue semantics: a key is queued at most once
// (dirty set), a key being processed is not handed to a second worker (processing set; re-adds
// during processing are queued when done() is called), per-key exponential backoff
// (5 ms doubling to a cap, reset by forget()) and delayed adds, all read from an injected clock.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "skiff/master/informer/clock.h"

namespace skiff::master {

class WorkQueue {
 public:
  explicit WorkQueue(std::shared_ptr<Clock> clock,
                     Duration base_delay = std::chrono::milliseconds(5),
                     Duration max_delay = std::chrono::seconds(1000));

  void add(const std::string& key);
  void addAfter(const std::string& key, Duration delay);
  // Requeues after the key's current backoff and doubles it.
  void addRateLimited(const std::string& key);
  // Clears the key's backoff (call after a successful sync).
  void forget(const std::string& key);
  int numRequeues(const std::string& key) const;

  // Blocks until a key is ready or the queue shuts down (nullopt). Due delayed adds are
  // promoted on each call; with a fake clock the wait polls every `poll` of real time.
  std::optional<std::string> get();
  // Non-blocking: the next ready key, if any (tests with a fake clock).
  std::optional<std::string> tryGet();
  void done(const std::string& key);

  void shutDown();
  bool shuttingDown() const;
  std::size_t len() const;  // ready keys (after promoting due delayed ones)

 private:
  void promoteDueLocked();
  void addLocked(const std::string& key);

  std::shared_ptr<Clock> clock_;
  Duration base_delay_;
  Duration max_delay_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  std::set<std::string> dirty_;
  std::set<std::string> processing_;
  std::multimap<TimePoint, std::string> waiting_;
  std::map<std::string, int> failures_;
  bool shutting_down_ = false;
};

}  // namespace skiff::master
