#pragma once

// The etcd store's event window (kube-apiserver's cacher in small): one etcd watch over the
// store's whole prefix, from which every Store watch of this process is served.
//
// Revisions: events with revision in (from_, dispatched_] are held (at most `retain` of them);
// a Store watch may start at any revision >= max(from_, compacted_), older ones are Gone.
// dispatched_ only moves forward: by the events received and by progress notifications (which
// etcd sends only once the watch has caught up with the header's revision).
//
// Threading: one thread reads the etcd stream and calls handlers with mu_ held (the Store
// contract: handlers do not block and do not call back into the store). Thread-safe.

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "etcd_client.h"
#include "skiff/master/store/store.h"

namespace skiff::master::store {

class EtcdWatchCache {
 public:
  explicit EtcdWatchCache(std::int64_t retain) : retain_(retain > 0 ? retain : 10000) {}
  ~EtcdWatchCache() { stop(); }

  // Follows [prefix, prefixEnd) from the last `retain` revisions before `current` and waits
  // (up to `timeout`) until the replay reached `newest`, the newest key's mod_revision (etcd
  // has no cheaper way to say when a watch has caught up: deletes after it may still be on
  // their way, and are delivered in order when they come).
  Result<void> start(EtcdClient& client, std::string prefix, std::string key_namespace,
                     std::int64_t current, std::int64_t newest, std::chrono::milliseconds timeout);
  void stop();

  Result<WatchPtr> watch(const std::string& prefix, std::int64_t from, WatchHandler handler);
  // Waits until the event of `revision` was dispatched (a write's own), up to `timeout`.
  void waitFor(std::int64_t revision, std::chrono::milliseconds timeout);
  void compactTo(std::int64_t revision);
  std::int64_t dispatched();
  std::int64_t compacted();
  void removeWatcher(std::uint64_t id);

 private:
  struct Watcher {
    std::uint64_t id;
    std::string prefix;
    std::int64_t from;
    WatchHandler handler;
  };
  void loop();
  // One connected stream until it fails; false when the store is stopping.
  Result<void> follow(EtcdWatchStream& stream);
  Result<void> dispatch(const nlohmann::json& result);

  EtcdClient* client_ = nullptr;
  std::string prefix_, namespace_;
  std::int64_t retain_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<EventPtr> events_;
  std::int64_t from_ = 0, dispatched_ = 0, compacted_ = 0;
  std::vector<Watcher> watchers_;
  std::uint64_t next_id_ = 1;
  bool stopping_ = false;
  std::unique_ptr<EtcdWatchStream> stream_;  // guarded by mu_ (close() from stop())
  std::thread thread_;
};

}  // namespace skiff::master::store
