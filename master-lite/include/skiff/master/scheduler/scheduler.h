#pragma once

// The scheduler (kube-scheduler's default profile, in process): watches pods without
// spec.nodeName whose schedulerName is default-scheduler, filters nodes (NodeUnschedulable,
// TaintToleration, NodeAffinity, NodePorts, NodeResourcesFit, in upstream's plugin order),
// scores the feasible ones (least allocated, balanced allocation, taint toleration, preferred
// node affinity, spreading of one owner's pods), breaks ties at random and binds through
// pods/binding. Bound-but-not-yet-observed pods are "assumed" in the cache, so back-to-back
// decisions see each other's requests.
//
// An unschedulable pod gets a FailedScheduling Warning event with kube-scheduler's message
// ("0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No
// preemption victims found for incoming pod.") and PodScheduled=False/Unschedulable, and is
// retried with backoff (1 s doubling to 10 s) when nodes or pods change. With priorities, a pod
// that fits nowhere preempts lower-priority pods on the node where evicting the fewest suffices.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "skiff/master/client/api_client.h"
#include "skiff/master/informer/clock.h"

namespace skiff::master {

struct SchedulerOptions {
  std::string scheduler_name = "default-scheduler";
  std::shared_ptr<Clock> clock;  // null: the real clock
  Duration initial_backoff = std::chrono::seconds(1);
  Duration max_backoff = std::chrono::seconds(10);
  bool record_scheduled_events = true;  // a "Scheduled" Normal event per bound pod
  std::uint64_t seed = 0;               // tie-break randomness; 0 picks one at start
  // kube-scheduler's percentageOfNodesToScore; 0 = adaptive (50% - nodes/125, at least 5%).
  int percentage_of_nodes_to_score = 0;
  bool enable_preemption = true;
};

struct SchedulerStats {
  std::uint64_t scheduled = 0;
  std::uint64_t unschedulable = 0;
  std::uint64_t bind_errors = 0;
  std::uint64_t preemptions = 0;
  std::vector<std::int64_t> attempt_latency_us;  // one per scheduling attempt
};

class Scheduler {
 public:
  virtual ~Scheduler() = default;
  // Starts the informers and, with `run_worker`, the scheduling thread. Without it, tests call
  // runPendingForTest() to schedule synchronously.
  virtual Result<void> start(bool run_worker = true) = 0;
  // Stops the worker and the informers; returns when no scheduling attempt is running.
  virtual void stop() = 0;
  virtual SchedulerStats stats() const = 0;
  // Schedules every pod that is ready in the queue now; returns how many attempts were made.
  virtual int runPendingForTest() = 0;
};

std::unique_ptr<Scheduler> newScheduler(ApiClient& client, SchedulerOptions options);

}  // namespace skiff::master
