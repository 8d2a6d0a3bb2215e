#pragma once

// What a controller is still waiting to see in its informer cache after its own writes
// (pkg/controller's ControllerExpectations / UIDTrackingControllerExpectations). A controller
// that reads its pods from an informer must not act on a cache that does not yet show the pods
// it just created or deleted, or it would create or delete them twice. Before writing it records
// how many creations and which deletions it expects; the pod event handlers count them off; its
// sync manages replicas only once they are all seen, or once the record is older than
// kExpectationsTimeout (a lost event must not wedge the controller for good).

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "skiff/master/informer/clock.h"

namespace skiff::master {

class ControllerExpectations {
 public:
  // Upstream's ExpectationsTimeout.
  static constexpr Duration kExpectationsTimeout = std::chrono::minutes(5);

  explicit ControllerExpectations(std::shared_ptr<Clock> clock) : clock_(std::move(clock)) {}

  // True when the controller may act on its cache for `key`: nothing is recorded, everything
  // recorded was observed, or the record expired.
  bool satisfied(const std::string& key) const;

  // Replaces the record for `key` with `adds` creations still to observe.
  void expectCreations(const std::string& key, std::int64_t adds);
  // Replaces the record for `key` with deletions of these objects ("ns/name") still to observe.
  void expectDeletions(const std::string& key, const std::set<std::string>& objects);

  // A creation the controller made showed up in the cache, or will never come (the create
  // failed or was skipped).
  void creationObserved(const std::string& key);
  // `object` was deleted or started terminating; counts only if its deletion was expected, so
  // the delete event that follows a graceful deletion's update is not counted twice.
  void deletionObserved(const std::string& key, const std::string& object);

  // The controller's object is gone.
  void forget(const std::string& key);

 private:
  struct Record {
    std::int64_t adds = 0;
    std::set<std::string> deletes;
    TimePoint since;
  };

  std::shared_ptr<Clock> clock_;
  mutable std::mutex mu_;
  std::map<std::string, Record> records_;
};

}  // namespace skiff::master
