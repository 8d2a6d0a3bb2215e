#pragma once

// PodWorkers serialises the work on each pod, as kubelet's pkg/kubelet/pod_workers.go does.
//
// Lifecycle of a pod UID inside PodWorkers (kubelet's terms):
//   SyncPod         the pod should run: each update (watch event, container state change from
//                   the PLEG, probe result, periodic resync) triggers one sync of that UID.
//   TerminatingPod  deletionTimestamp set, or the pod was evicted/rejected: containers are
//                   killed with the grace period (preStop, SIGTERM, SIGKILL).
//   TerminatedPod   everything stopped: volumes and network are torn down and the API object is
//                   deleted with grace 0 (or, for an orphan the API no longer has, just cleaned).
// Which of these a sync performs is decided by the sync function from the latest pod object;
// PodWorkers guarantees that for one UID at most one sync runs at a time, that updates arriving
// meanwhile are coalesced into exactly one follow-up sync with the newest object, and that
// different UIDs run in parallel on a bounded pool of threads.

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace skiff::agent {

class PodWorkers {
 public:
  using SyncFn = std::function<void(const std::string& uid)>;
  PodWorkers(SyncFn sync, int threads);
  ~PodWorkers();
  // Queues a sync of `uid` (coalesced with a pending one). Thread-safe.
  void updatePod(const std::string& uid);
  // Stops the threads after the running syncs finish; queued work is dropped.
  void stop();
  // Blocks until no sync is queued or running (tests).
  void waitIdleForTest();

 private:
  void loop();
  SyncFn sync_;
  std::mutex mu_;
  std::condition_variable cv_, idle_cv_;
  std::deque<std::string> queue_;
  std::set<std::string> queued_, running_, again_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace skiff::agent
