#pragma once

// Leader election through a coordination.k8s.io/v1 Lease, as client-go's
// tools/leaderelection with a LeaseLock: several skiff-masters on one etcd run the scheduler
// (Lease kube-system/kube-scheduler) and the controllers (kube-system/kube-controller-manager)
// in exactly one process at a time.
//
// States: candidate -> (acquired) leader -> (renewal failed for renew_deadline) candidate.
//   candidate: every retry_period, try to acquire. The lease is free when it has no holder, or
//     when its record has not changed for lease_duration as observed by this process (the
//     local clock, as client-go: renewTime written by another host's clock is not trusted).
//   leader: every retry_period, renew (renewTime = now). If no renewal succeeded for
//     renew_deadline, leadership is lost: on_stopped_leading runs and the elector is a
//     candidate again.
// Writes are updates with metadata.resourceVersion, so two candidates can never both win.
// stop() releases a held lease (holderIdentity "", leaseDurationSeconds 1: client-go's
// ReleaseOnCancel) so that another master takes over at once after a clean shutdown.
//
// Thread-safe. Callbacks run on the elector's thread, in order; they should return quickly.

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "skiff/master/client/api_client.h"
#include "skiff/master/informer/clock.h"

namespace skiff::master {

struct LeaderElectionConfig {
  std::string lock_namespace = "kube-system";
  std::string lock_name;  // kube-scheduler, kube-controller-manager
  std::string identity;   // leaderElectionIdentity()
  // Upstream's defaults (--leader-elect-lease-duration, -renew-deadline, -retry-period).
  Duration lease_duration = std::chrono::seconds(15);
  Duration renew_deadline = std::chrono::seconds(10);
  Duration retry_period = std::chrono::seconds(2);
  // One master only (SQLite): a lease left by this master's previous life is taken at once
  // instead of after lease_duration.
  bool force_acquire = false;
  std::function<void()> on_started_leading;
  std::function<void()> on_stopped_leading;
  std::function<void(const std::string& holder)> on_new_leader;  // may be null
  std::shared_ptr<Clock> clock;                                  // null: the real clock
};

class LeaderElector {
 public:
  LeaderElector(ApiClient& client, LeaderElectionConfig config);
  ~LeaderElector();
  LeaderElector(const LeaderElector&) = delete;
  LeaderElector& operator=(const LeaderElector&) = delete;

  // One attempt at the clock's now (client-go's tryAcquireOrRenew): true when this identity
  // holds the lease afterwards. Errors are the API's (the caller retries).
  Result<bool> tryAcquireOrRenew();
  // One round of the state machine: acquire or renew, and run the callbacks when leadership
  // changes. start() calls it every retry_period; tests call it with a fake clock.
  void step();
  bool isLeader() const;

  void start();
  // Stops the loop; a leader runs on_stopped_leading and releases the lease. Idempotent.
  void stop();

 private:
  Result<bool> release();

  ApiClient& client_;
  LeaderElectionConfig cfg_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool leader_ = false;
  TimePoint last_renew_{};
  nlohmann::json observed_;  // the lease spec last seen
  TimePoint observed_time_{};
  std::string last_holder_;
  std::thread thread_;
};

// "<hostname>_<uuid>", as kube-scheduler and kube-controller-manager name themselves.
std::string leaderElectionIdentity();

}  // namespace skiff::master
