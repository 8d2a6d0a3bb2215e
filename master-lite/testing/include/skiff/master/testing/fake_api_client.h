#pragma once

// An in-memory ApiClient for controller and scheduler tests (STYLE.md §3: a fake that models
// state). It keeps objects keyed by resource/namespace/name with one global resourceVersion
// counter, fills uid/creationTimestamp/generation on create, rejects stale resourceVersions with
// Conflict, filters by label and field selectors, replays watches from a resourceVersion in
// order, applies merge/JSON patches, binds pods, and deletes like the API server (finalizers and
// deletionTimestamp, graceful deletion of bound pods, foreground/orphan finalizers).
//
// Delivery: Sync (default) calls watch handlers on the mutating thread before the call returns,
// so tests are deterministic; Async uses one dispatcher thread, like the real server.

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "skiff/master/client/api_client.h"
#include "skiff/master/informer/clock.h"

namespace skiff::master::testing {

class FakeApiClient : public ApiClient {
 public:
  enum class Delivery { Sync, Async };
  explicit FakeApiClient(std::shared_ptr<Clock> clock = std::make_shared<FakeClock>(),
                         Delivery delivery = Delivery::Sync);
  ~FakeApiClient() override;

  // ApiClient
  Result<json> get(const GroupVersionResource& r, const std::string& ns,
                   const std::string& name) override;
  Result<ObjectList> list(const GroupVersionResource& r, const std::string& ns,
                          const ListOptions& opts) override;
  Result<json> create(const GroupVersionResource& r, const std::string& ns, const json& obj,
                      const std::string& subresource = "", const std::string& name = "") override;
  Result<json> update(const GroupVersionResource& r, const std::string& ns, const json& obj,
                      const std::string& subresource = "") override;
  Result<json> patch(const GroupVersionResource& r, const std::string& ns, const std::string& name,
                     PatchType type, const json& patch,
                     const std::string& subresource = "") override;
  Result<json> remove(const GroupVersionResource& r, const std::string& ns, const std::string& name,
                      const DeleteOptions& opts = {}) override;
  Result<WatchPtr> watch(const GroupVersionResource& r, const std::string& ns,
                         const ListOptions& opts, WatchHandler handler) override;

  // Test hooks.
  // Drops the event history at or below `rv`: watches from older revisions get 410 Gone.
  void compactForTest(std::int64_t rv);
  // Ends every open watch with a 410 Gone error event, as a server does after compaction.
  void expireWatchesForTest();
  // Makes the next `n` calls of `verb` ("create", "update", "patch", "remove") on resource fail
  // with `code`.
  void failNextForTest(const std::string& verb, const std::string& resource, ErrorCode code,
                       int n = 1);
  // Counts calls per "verb resource[/subresource]" ("create pods", "create pods/binding").
  int callsForTest(const std::string& verb_resource) const;
  void resetCallsForTest();
  std::int64_t currentRevision() const;
  // Sync mode: while held, watch events queue up instead of reaching their handlers (a cache
  // that lags behind the writes); releasing delivers them in order.
  void holdEventsForTest(bool hold);
  // Async mode: blocks until every queued event has been handed to its handler.
  void waitIdleForTest();

  // Deletes immediately, ignoring grace periods and finalizers (kubectl delete --force
  // --grace-period=0 on a pod whose kubelet confirmed).
  Result<void> forceRemove(const GroupVersionResource& r, const std::string& ns,
                           const std::string& name);

 private:
  struct Watcher;
  struct HistoryEntry {
    std::int64_t rv;
    std::string resource_key;  // group/resource
    WatchEventType type;
    json object;
  };
  class FakeWatch;

  std::string storeKey(const GroupVersionResource& r, const std::string& ns,
                       const std::string& name) const;
  Result<void> checkFailure(const std::string& verb, const GroupVersionResource& r);
  void countCall(const std::string& verb, const GroupVersionResource& r,
                 const std::string& subresource);
  // Writes obj (already validated) and records the event; caller holds mu_.
  json commitLocked(const GroupVersionResource& r, json obj, WatchEventType type);
  void eraseLocked(const GroupVersionResource& r, const json& obj);
  void enqueueLocked(const HistoryEntry& e);
  void deliverPending();
  // Runs `op` under mu_, then delivers the watch events it queued (outside the lock: handlers
  // call back into the client).
  template <class Op>
  auto writeLocked(Op op) -> decltype(op());
  Result<json> updateLocked(const GroupVersionResource& r, const std::string& ns, json obj,
                            const std::string& subresource);
  Result<json> removeLocked(const GroupVersionResource& r, const std::string& ns,
                            const std::string& name, const DeleteOptions& opts);
  void dispatcherLoop();

  std::shared_ptr<Clock> clock_;
  Delivery delivery_;
  mutable std::mutex mu_;
  std::map<std::string, json> objects_;
  std::int64_t rv_ = 1;
  std::int64_t compacted_ = 0;
  std::vector<HistoryEntry> history_;
  std::vector<std::shared_ptr<Watcher>> watchers_;
  std::deque<std::pair<std::shared_ptr<Watcher>, WatchEvent>> pending_;
  std::map<std::string, std::pair<ErrorCode, int>> failures_;
  std::map<std::string, int> calls_;
  std::uint64_t uid_counter_ = 0;

  std::recursive_mutex deliver_mu_;  // serialises delivery so events arrive in revision order
  std::condition_variable cv_;
  std::condition_variable idle_cv_;
  bool stopping_ = false;
  bool delivering_ = false;
  bool held_ = false;
  std::thread dispatcher_;
};

}  // namespace skiff::master::testing
