#pragma once

// kubelet's eviction manager (pkg/kubelet/eviction/eviction_manager.go): every pass (10 s in the
// agent) observes the node's signals (memory.available, nodefs/imagefs available and inodesFree,
// pid.available), marks the thresholds that are crossed, derives the node pressure conditions
// from them at once (kept for evictionPressureTransitionPeriod after the last crossing, so they
// do not flap), and acts on the thresholds crossed for longer than their grace period (0 for
// hard thresholds, --eviction-soft-grace-period for soft ones). A threshold that made the manager
// act stays crossed until the signal is back above threshold + --eviction-minimum-reclaim. Acting
// evicts at most one pod per pass (a hard threshold kills it with 1 s of grace, a soft one with
// min(--eviction-max-pod-grace-period, the pod's terminationGracePeriodSeconds)), ranked as the
// kubelet ranks them:
//   memory:  usage above request first, then lower priority, then usage - request (largest);
//   disk:    the same with local storage (rootfs + logs + emptyDir);
//   pids:    lower priority, then process count.
// Critical pods (static, mirror, priority >= 2000000000) are never evicted. The admission side
// refuses new pods under pressure with reason `Evicted` (BestEffort under memory pressure unless
// it tolerates the memory-pressure taint; every pod under disk or PID pressure).
//
// Stats and the clock are injected so the logic is unit-tested without a loaded machine.

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "skiff/agent/backoff.h"
#include "skiff/agent/pod_status.h"
#include "skiff/common/result.h"

namespace skiff::agent {

// An amount of a signal: absolute, or a share of the signal's capacity.
struct EvictionQuantity {
  std::optional<int64_t> quantity;  // absolute (bytes, inodes or pids)
  double percentage = 0;            // 0..1 when `quantity` is empty
  int64_t resolve(int64_t capacity) const;
};

// One threshold: `signal < quantity` or `signal < percentage of capacity`.
struct EvictionThreshold : EvictionQuantity {
  std::string signal;                    // memory.available, nodefs.available, ...
  std::string text;                      // as the user wrote it ("100Mi", "10%")
  std::chrono::seconds grace_period{0};  // 0: a hard threshold
  std::optional<EvictionQuantity> min_reclaim;
  bool hard() const { return grace_period.count() == 0; }
};

// The kubelet's four eviction maps (signal -> value), as flags or KubeletConfiguration give them.
struct EvictionSettings {
  std::map<std::string, std::string> hard, soft, soft_grace_period, minimum_reclaim;
};

// ParseThresholdConfig: "0%"/"0" thresholds are dropped (kubelet: disabled); every soft
// threshold needs a grace period; minimum reclaims attach to the thresholds of their signal.
Result<std::vector<EvictionThreshold>> parseEvictionSettings(const EvictionSettings& settings);
// Only hard thresholds (the --eviction-hard map).
Result<std::vector<EvictionThreshold>> parseEvictionHard(
    const std::map<std::string, std::string>& thresholds);

// The resource a signal reclaims: memory, ephemeral-storage, inodes, pids.
std::string evictionResourceOf(const std::string& signal);

// Go's resource.Quantity canonical strings, as the kubelet prints them in eviction messages:
// binary (bytes: "100Mi", "12345Ki", "1000001") and decimal (inodes, pids: "16M", "12345").
std::string formatBinaryQuantity(int64_t value);
std::string formatDecimalQuantity(int64_t value);

struct SignalObservation {
  int64_t available = -1;  // < 0: not observed
  int64_t capacity = -1;
};

struct ContainerUsage {
  int64_t memory_working_set = 0;
  int64_t disk_bytes = 0;  // rootfs + logs
};

struct PodUsage {
  int64_t memory_working_set = 0;  // sum over containers
  int64_t disk_bytes = 0;          // rootfs + logs + local volumes (emptyDir)
  int64_t inodes = 0;              // inodes of local volumes
  int64_t processes = 0;
  std::map<std::string, ContainerUsage> containers;  // by container name
};

// Where the observations come from (real: /proc/meminfo, statvfs, runtime stats; tests: fake).
class EvictionStatsSource {
 public:
  virtual ~EvictionStatsSource() = default;
  // Signal name -> observation.
  virtual Result<std::map<std::string, SignalObservation>> observe() = 0;
  // Usage of the given pods (by uid); only asked when a pod has to be chosen.
  virtual std::map<std::string, PodUsage> podUsage(const std::vector<nlohmann::json>& pods) = 0;
};

struct NodePressure {
  bool memory = false, disk = false, pid = false;
  bool operator==(const NodePressure&) const = default;
};

class EvictionManager {
 public:
  // `active_pods`: pods admitted and not terminated; `evict(pod, message, grace)` kills the pod
  // with that grace period and reports it Failed/Evicted, returning whether it did.
  using ActivePods = std::function<std::vector<nlohmann::json>()>;
  using EvictFn = std::function<bool(const nlohmann::json& pod, const std::string& message,
                                     std::chrono::seconds grace_period)>;

  EvictionManager(std::vector<EvictionThreshold> thresholds, EvictionStatsSource& stats,
                  ActivePods active_pods, EvictFn evict, WallClock clock,
                  std::chrono::seconds pressure_transition_period = std::chrono::minutes(5),
                  std::chrono::seconds max_pod_grace_period = std::chrono::seconds(0));

  // Node-level reclaim tried before evicting for a disk signal (the kubelet deletes unused
  // images and dead containers); returns whether it freed anything. When it did and no threshold
  // is crossed any more on a fresh observation, no pod is evicted.
  using ReclaimFn = std::function<bool(const std::string& signal)>;
  void setNodeReclaim(ReclaimFn reclaim) { reclaim_ = std::move(reclaim); }

  // One pass of the manager. Returns the uid of the pod it evicted, if any.
  std::optional<std::string> synchronize();
  // The admission check for a new pod: nullopt admits it.
  std::optional<WaitingReason> admit(const nlohmann::json& pod);
  NodePressure pressure();
  // Thresholds crossed at the last observation (signal names), for logs and tests.
  std::vector<std::string> thresholdsMet();

  // Exposed for tests: pods in the order the kubelet would evict them for `signal`.
  static std::vector<nlohmann::json> rank(const std::string& signal,
                                          std::vector<nlohmann::json> pods,
                                          const std::map<std::string, PodUsage>& usage);
  static bool isCriticalPod(const nlohmann::json& pod);

 private:
  // synchronize's steps: which thresholds are met (node conditions) and past their grace period
  // (returned, by index into thresholds_); then evicting one pod for the first of those.
  std::vector<std::size_t> updateThresholds(
      const std::map<std::string, SignalObservation>& observed);
  std::optional<std::string> evictOnePod(const EvictionThreshold& t, const SignalObservation& obs);
  std::string evictionMessage(const EvictionThreshold& t, const SignalObservation& obs,
                              const nlohmann::json& pod, const PodUsage* usage) const;

  std::vector<EvictionThreshold> thresholds_;
  EvictionStatsSource& stats_;
  ActivePods active_pods_;
  EvictFn evict_;
  WallClock clock_;
  std::chrono::seconds transition_;
  std::chrono::seconds max_pod_grace_;
  ReclaimFn reclaim_;
  std::mutex mu_;
  std::vector<std::string> met_;
  // By index into thresholds_: when each crossed threshold was first seen crossed, and the ones
  // the manager acted on in the last pass (held until their minimum reclaim is met).
  std::map<std::size_t, std::chrono::system_clock::time_point> first_observed_;
  std::vector<std::size_t> acting_;
  std::map<std::string, std::chrono::system_clock::time_point> condition_last_observed_;
  NodePressure pressure_;
};

}  // namespace skiff::agent
