#include "skiff/master/scheduler/scheduler.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <random>
#include <thread>

#include "skiff/common/log.h"
#include "skiff/master/informer/event_recorder.h"
#include "skiff/master/informer/informer.h"
#include "skiff/master/informer/meta.h"
#include "skiff/master/informer/workqueue.h"
#include "skiff/master/nodeinfo/node_info.h"
#include "volume_binding.h"

namespace skiff::master {

namespace {

using sched::FilterResult;
using sched::NodeInfo;
using sched::PodInfo;

bool isTerminal(const json& pod) {
  std::string phase = meta::str(pod, {"status", "phase"});
  return phase == "Succeeded" || phase == "Failed";
}

// The fields whose change can make an unschedulable pod schedulable elsewhere.
bool nodeSchedulingChanged(const json& a, const json& b) {
  return meta::at(a, {"status", "allocatable"}) != meta::at(b, {"status", "allocatable"}) ||
         meta::at(a, {"spec", "taints"}) != meta::at(b, {"spec", "taints"}) ||
         meta::at(a, {"spec", "unschedulable"}) != meta::at(b, {"spec", "unschedulable"}) ||
         meta::at(a, {"metadata", "labels"}) != meta::at(b, {"metadata", "labels"}) ||
         meta::at(a, {"status", "conditions"}) != meta::at(b, {"status", "conditions"});
}

class SchedulerImpl : public Scheduler {
 public:
  SchedulerImpl(ApiClient& client, SchedulerOptions opts)
      : client_(client),
        opts_(std::move(opts)),
        clock_(opts_.clock ? opts_.clock : realClock()),
        queue_(clock_, opts_.initial_backoff, opts_.max_backoff),
        recorder_(client, opts_.scheduler_name, clock_),
        pods_(client, gvr::kPods),
        nodes_(client, gvr::kNodes),
        volumes_(client,
                 [this] {
                   std::lock_guard lock(mu_);
                   wakeUnschedulableLocked();
                 }),
        rng_(opts_.seed != 0 ? opts_.seed : std::random_device{}()),
        log_(log::get("master")) {}

  ~SchedulerImpl() override { stop(); }

  // Scheduler
  Result<void> start(bool run_worker) override {
    nodes_.addEventHandlers({
        .on_add = [this](const json& n) { onNode(n, true); },
        .on_update = [this](const json& o,
                            const json& n) { onNode(n, nodeSchedulingChanged(o, n)); },
        .on_delete = [this](const json& n) { onNodeDelete(n); },
    });
    pods_.addEventHandlers({
        .on_add = [this](const json& p) { onPod(nullptr, p); },
        .on_update = [this](const json& o, const json& n) { onPod(o, n); },
        .on_delete = [this](const json& p) { onPodDelete(p); },
    });
    SKIFF_TRY(volumes_.start(run_worker));
    SKIFF_TRY(nodes_.start(run_worker));
    SKIFF_TRY(pods_.start(run_worker));
    if (run_worker) {
      worker_ = std::thread([this] {
        while (auto key = queue_.get()) {
          scheduleOne(*key);
          queue_.done(*key);
        }
      });
    }
    SKIFF_LOG_INFO(log_, "Scheduler started", log::kv("scheduler", opts_.scheduler_name));
    return {};
  }

  void stop() override {
    queue_.shutDown();
    if (worker_.joinable()) worker_.join();
    pods_.stop();
    nodes_.stop();
    volumes_.stop();
  }

  SchedulerStats stats() const override {
    std::lock_guard lock(stats_mu_);
    return stats_;
  }

  int runPendingForTest() override {
    int n = 0;
    while (auto key = queue_.tryGet()) {
      scheduleOne(*key);
      queue_.done(*key);
      ++n;
    }
    return n;
  }

 private:
  bool responsible(const json& pod) const {
    std::string s = meta::str(pod, {"spec", "schedulerName"});
    return s.empty() || s == opts_.scheduler_name;
  }

  // VolumeBinding's PreFilter failure applies to every node; its Filter to each.
  void filterVolumes(const sched::PodVolumes& vols, const NodeInfo& ni, FilterResult& r) const {
    // UnschedulableAndUnresolvable: evicting pods cannot help.
    if (!vols.error.empty()) {
      r.reasons.push_back(vols.error);
      r.resolvable = false;
      return;
    }
    if (vols.empty()) return;
    json labels = json::object();
    for (const auto& [k, v] : ni.labels) labels[k] = v;
    json node = {{"metadata", {{"name", ni.name}, {"labels", labels}}}};
    // Room for local-path volumes (VolumeBinding's capacity check); milli-bytes in NodeInfo.
    if (ni.allocatable.ephemeral > 0)
      node["status"]["allocatable"]["ephemeral-storage"] =
          std::to_string(ni.allocatable.ephemeral / 1000);
    std::string why = volumes_.filter(vols, node);
    if (!why.empty()) {
      r.reasons.push_back(why);
      r.resolvable = false;
    }
  }

  bool needsScheduling(const json& pod) const {
    return meta::str(pod, {"spec", "nodeName"}).empty() && !meta::isDeleting(pod) &&
           !isTerminal(pod) && responsible(pod);
  }

  // Moves every parked pod back to the queue (still honouring its backoff), as a cluster event
  // (node added/changed, pod removed) may have made room (MoveAllToActiveOrBackoffQueue).
  void wakeUnschedulableLocked() {
    TimePoint now = clock_->now();
    for (const auto& [key, until] : unschedulable_) {
      queue_.addAfter(key, until > now ? until - now : Duration::zero());
    }
  }

  void onNode(const json& node, bool changed) {
    std::lock_guard lock(mu_);
    std::string name = meta::name(node);
    auto& info = cache_[name];
    info.setNode(node);
    if (changed) wakeUnschedulableLocked();
  }

  void onNodeDelete(const json& node) {
    std::lock_guard lock(mu_);
    auto it = cache_.find(meta::name(node));
    if (it == cache_.end()) return;
    if (it->second.pods.empty()) {
      cache_.erase(it);
    } else {
      it->second.present = false;
    }
  }

  void removeFromCacheLocked(const std::string& key) {
    auto where = pod_node_.find(key);
    if (where == pod_node_.end()) return;
    auto it = cache_.find(where->second);
    if (it != cache_.end()) {
      it->second.removePod(key);
      if (!it->second.present && it->second.pods.empty()) cache_.erase(it);
    }
    pod_node_.erase(where);
    assumed_.erase(key);
  }

  void onPod(const json& old_pod, const json& pod) {
    std::string key = meta::key(pod);
    std::string node = meta::str(pod, {"spec", "nodeName"});
    std::lock_guard lock(mu_);
    if (!node.empty()) {
      unschedulable_.erase(key);
      if (isTerminal(pod)) {
        // Terminal pods no longer hold resources.
        bool had = pod_node_.count(key) != 0;
        removeFromCacheLocked(key);
        if (had) wakeUnschedulableLocked();
        return;
      }
      PodInfo info = PodInfo::from(pod);
      auto where = pod_node_.find(key);
      if (where != pod_node_.end() && where->second != node) removeFromCacheLocked(key);
      auto& ni = cache_[node];
      if (ni.name.empty()) ni.name = node;
      ni.addPod(info);
      pod_node_[key] = node;
      assumed_.erase(key);
      return;
    }
    if (!needsScheduling(pod)) return;
    // Only a change of the pod itself (not its status, which we write) warrants a new attempt.
    if (!old_pod.is_null() && meta::at(old_pod, {"spec"}) == meta::at(pod, {"spec"}) &&
        meta::at(old_pod, {"metadata", "labels"}) == meta::at(pod, {"metadata", "labels"})) {
      return;
    }
    queue_.add(key);
  }

  void onPodDelete(const json& pod) {
    std::string key = meta::key(pod);
    std::lock_guard lock(mu_);
    unschedulable_.erase(key);
    bool had = pod_node_.count(key) != 0;
    removeFromCacheLocked(key);
    if (had) wakeUnschedulableLocked();
  }

  std::size_t numNodesToFind(std::size_t all) const {
    if (all < 100) return all;
    int pct = opts_.percentage_of_nodes_to_score;
    if (pct <= 0) {
      pct = 50 - static_cast<int>(all / 125);
      if (pct < 5) pct = 5;
    }
    if (pct >= 100) return all;
    std::size_t n = all * static_cast<std::size_t>(pct) / 100;
    return std::max<std::size_t>(n, 100);
  }

  void recordAttempt(TimePoint start, bool ok, bool bind_error) {
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(steadyNow() - start).count();
    std::lock_guard lock(stats_mu_);
    stats_.attempt_latency_us.push_back(us);
    if (ok) stats_.scheduled++;
    if (!ok && !bind_error) stats_.unschedulable++;
    if (bind_error) stats_.bind_errors++;
  }

  static TimePoint steadyNow() {
    return TimePoint(
        std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now().time_since_epoch()));
  }

  void scheduleOne(const std::string& key) {
    TimePoint started = steadyNow();
    auto cached = pods_.get(key);
    if (!cached || !needsScheduling(*cached)) {
      std::lock_guard lock(mu_);
      unschedulable_.erase(key);
      return;
    }
    const json& pod = *cached;
    PodInfo info = PodInfo::from(pod);
    sched::PodVolumes vols = volumes_.prepare(pod);

    std::string chosen;
    std::vector<std::vector<std::string>> failures;
    std::vector<std::pair<std::string, FilterResult>> failed_nodes;
    std::size_t num_nodes = 0;
    {
      std::lock_guard lock(mu_);
      std::vector<NodeInfo*> feasible =
          findFeasibleLocked(info, vols, num_nodes, failures, failed_nodes);
      if (!feasible.empty()) {
        chosen = selectHostLocked(info, feasible);
        // Assume: count the pod on the node now so the next decision sees it.
        info.node_name = chosen;
        cache_[chosen].addPod(info);
        pod_node_[key] = chosen;
        assumed_.insert(key);
      }
    }

    if (chosen.empty()) {
      handleUnschedulable(pod, info, num_nodes, failures, failed_nodes);
      recordAttempt(started, false, false);
      return;
    }
    bind(key, pod, info, vols, chosen, started);
  }

  // Filters the present nodes, starting where the last attempt stopped, until enough feasible
  // ones are found (numNodesToFind); the others' failures go to failures and failed_nodes.
  std::vector<NodeInfo*> findFeasibleLocked(
      const PodInfo& info, const sched::PodVolumes& vols, std::size_t& num_nodes,
      std::vector<std::vector<std::string>>& failures,
      std::vector<std::pair<std::string, FilterResult>>& failed_nodes) {
    std::vector<NodeInfo*> all;
    all.reserve(cache_.size());
    for (auto& [name, ni] : cache_) {
      if (ni.present) all.push_back(&ni);
    }
    num_nodes = all.size();
    std::size_t want = numNodesToFind(all.size());
    std::vector<NodeInfo*> feasible;
    std::size_t start = all.empty() ? 0 : next_start_ % all.size();
    std::size_t visited = 0;
    for (; visited < all.size() && feasible.size() < want; ++visited) {
      NodeInfo* ni = all[(start + visited) % all.size()];
      FilterResult r = sched::filterNode(info, *ni);
      if (r.ok()) filterVolumes(vols, *ni, r);
      if (r.ok()) {
        feasible.push_back(ni);
      } else {
        failures.push_back(r.reasons);
        failed_nodes.emplace_back(ni->name, std::move(r));
      }
    }
    next_start_ = all.empty() ? 0 : (start + visited) % all.size();
    return feasible;
  }

  // The feasible node with the highest combined score; ties broken at random.
  std::string selectHostLocked(const PodInfo& info, const std::vector<NodeInfo*>& feasible) {
    std::string chosen;
    std::vector<sched::RawScores> raw;
    raw.reserve(feasible.size());
    for (NodeInfo* ni : feasible) raw.push_back(sched::scoreNode(info, *ni));
    std::vector<std::int64_t> total = sched::combineScores(raw);
    std::int64_t best = -1;
    int ties = 0;
    for (std::size_t i = 0; i < feasible.size(); ++i) {
      if (total[i] > best) {
        best = total[i];
        chosen = feasible[i]->name;
        ties = 1;
      } else if (total[i] == best) {
        // Reservoir sampling: each tied node wins with equal probability.
        if (std::uniform_int_distribution<int>(0, ties)(rng_) == 0) chosen = feasible[i]->name;
        ++ties;
      }
    }
    return chosen;
  }

  // PreBind (volumes), then the Binding; on failure the assumed pod is forgotten and retried.
  void bind(const std::string& key, const json& pod, const PodInfo& info,
            const sched::PodVolumes& vols, const std::string& chosen, TimePoint started) {
    if (auto pre = volumes_.preBind(vols, chosen); !pre) {
      {
        std::lock_guard lock(mu_);
        if (assumed_.count(key) != 0) removeFromCacheLocked(key);
      }
      SKIFF_LOG_WARN(log_, "Volume PreBind failed, will retry", log::kv("pod", key),
                     log::kv("err", pre.error().message()));
      queue_.addRateLimited(key);
      recordAttempt(started, false, true);
      return;
    }
    json binding = {{"apiVersion", "v1"},
                    {"kind", "Binding"},
                    {"metadata", {{"name", info.name}, {"namespace", info.ns}, {"uid", info.uid}}},
                    {"target", {{"apiVersion", "v1"}, {"kind", "Node"}, {"name", chosen}}}};
    auto bound = client_.create(gvr::kPods, info.ns, binding, "binding", info.name);
    if (!bound) {
      {
        std::lock_guard lock(mu_);
        if (assumed_.count(key) != 0) removeFromCacheLocked(key);
      }
      SKIFF_LOG_WARN(log_, "Binding failed, will retry", log::kv("pod", key),
                     log::kv("node", chosen), log::kv("err", bound.error().message()));
      if (!bound.error().is(ErrorCode::NotFound)) queue_.addRateLimited(key);
      recordAttempt(started, false, true);
      return;
    }
    {
      std::lock_guard lock(mu_);
      unschedulable_.erase(key);
    }
    queue_.forget(key);
    SKIFF_LOG_DEBUG(log_, "Pod bound", log::kv("pod", key), log::kv("node", chosen));
    if (opts_.record_scheduled_events) {
      recorder_.event(pod, "Normal", "Scheduled", "Successfully assigned " + key + " to " + chosen);
    }
    recordAttempt(started, true, false);
  }

  // DefaultPreemption's dry run: on each node where the failure could be resolved, remove every
  // lower-priority pod; if the pod then fits, add back as many victims as possible (highest
  // priority first). Returns the post-filter message and, on success, the chosen node+victims.
  std::string preempt(const PodInfo& pod, std::size_t num_nodes,
                      const std::vector<std::pair<std::string, FilterResult>>& failed_nodes,
                      std::string* node_out, std::vector<PodInfo>* victims_out) {
    if (pod.preempt_never) return "preemption: not eligible due to preemptionPolicy=Never.";
    std::vector<std::vector<std::string>> reasons;
    std::int64_t best_max = INT64_MAX;
    std::size_t best_count = SIZE_MAX;
    std::lock_guard lock(mu_);
    for (const auto& [name, result] : failed_nodes) {
      if (!result.resolvable) {
        reasons.push_back({"Preemption is not helpful for scheduling"});
        continue;
      }
      auto it = cache_.find(name);
      if (it == cache_.end()) continue;
      const NodeInfo& ni = it->second;
      std::vector<PodInfo> lower;
      sched::Resources requested = ni.requested;
      int count = static_cast<int>(ni.pods.size());
      std::vector<sched::HostPort> ports;
      for (const auto& [k, p] : ni.pods) {
        if (p.priority < pod.priority) {
          lower.push_back(p);
          requested.add(p.requests, -1);
          --count;
        } else {
          ports.insert(ports.end(), p.ports.begin(), p.ports.end());
        }
      }
      if (lower.empty() || !sched::fitResources(pod, ni, requested, count, ports).ok()) {
        reasons.push_back({"No preemption victims found for incoming pod"});
        continue;
      }
      std::sort(lower.begin(), lower.end(),
                [](const PodInfo& a, const PodInfo& b) { return a.priority > b.priority; });
      std::vector<PodInfo> victims;
      for (const auto& p : lower) {
        sched::Resources with = requested;
        with.add(p.requests);
        std::vector<sched::HostPort> with_ports = ports;
        with_ports.insert(with_ports.end(), p.ports.begin(), p.ports.end());
        if (sched::fitResources(pod, ni, with, count + 1, with_ports).ok()) {
          requested = with;
          ports = with_ports;
          ++count;
        } else {
          victims.push_back(p);
        }
      }
      std::int64_t max_prio = INT64_MIN;
      for (const auto& v : victims) max_prio = std::max<std::int64_t>(max_prio, v.priority);
      if (max_prio < best_max || (max_prio == best_max && victims.size() < best_count)) {
        best_max = max_prio;
        best_count = victims.size();
        *node_out = name;
        *victims_out = victims;
      }
    }
    if (!node_out->empty()) return "";
    return "preemption: " + sched::fitErrorMessage(num_nodes, reasons, "");
  }

  void handleUnschedulable(const json& pod, const PodInfo& info, std::size_t num_nodes,
                           const std::vector<std::vector<std::string>>& failures,
                           const std::vector<std::pair<std::string, FilterResult>>& failed_nodes) {
    std::string message;
    if (num_nodes == 0) {
      message = "no nodes available to schedule pods";
    } else {
      std::string node;
      std::vector<PodInfo> victims;
      std::string post;
      if (opts_.enable_preemption) post = preempt(info, num_nodes, failed_nodes, &node, &victims);
      message = sched::fitErrorMessage(num_nodes, failures, post);
      if (!node.empty()) {
        for (const auto& v : victims) {
          recorder_.event(v.object, "Normal", "Preempted",
                          "Preempted by pod " + info.uid + " on node " + node);
          auto r = client_.remove(gvr::kPods, v.ns, v.name);
          if (!r && !r.error().is(ErrorCode::NotFound)) {
            SKIFF_LOG_WARN(log_, "Could not delete preemption victim, ignoring",
                           log::kv("pod", v.key), log::kv("err", r.error().message()));
          }
        }
        (void)client_.patch(gvr::kPods, info.ns, info.name, PatchType::Merge,
                            json{{"status", {{"nominatedNodeName", node}}}}, "status");
        std::lock_guard lock(stats_mu_);
        stats_.preemptions++;
      }
    }
    SKIFF_LOG_DEBUG(log_, "Unable to schedule pod", log::kv("pod", info.key),
                    log::kv("reason", message));
    recorder_.event(pod, "Warning", "FailedScheduling", message);
    updatePodScheduledCondition(pod, message);
    int attempts = queue_.numRequeues(info.key);
    Duration backoff = opts_.initial_backoff;
    for (int i = 0; i < attempts && backoff < opts_.max_backoff; ++i) backoff *= 2;
    if (backoff > opts_.max_backoff) backoff = opts_.max_backoff;
    {
      std::lock_guard lock(mu_);
      unschedulable_[info.key] = clock_->now() + backoff;
    }
    queue_.addRateLimited(info.key);
  }

  void updatePodScheduledCondition(const json& pod, const std::string& message) {
    json conditions = json::array();
    const json& cur = meta::at(pod, {"status", "conditions"});
    bool same = false;
    if (cur.is_array()) {
      for (const auto& c : cur) {
        if (c.value("type", "") == "PodScheduled") {
          same = c.value("status", "") == "False" && c.value("reason", "") == "Unschedulable" &&
                 c.value("message", "") == message;
          continue;
        }
        conditions.push_back(c);
      }
    }
    if (same) return;
    conditions.push_back({{"type", "PodScheduled"},
                          {"status", "False"},
                          {"lastProbeTime", nullptr},
                          {"lastTransitionTime", formatTime(clock_->now())},
                          {"reason", "Unschedulable"},
                          {"message", message}});
    auto r = client_.patch(gvr::kPods, meta::ns(pod), meta::name(pod), PatchType::Merge,
                           json{{"status", {{"conditions", conditions}}}}, "status");
    if (!r && !r.error().is(ErrorCode::NotFound)) {
      SKIFF_LOG_WARN(log_, "Could not update pod condition, ignoring",
                     log::kv("pod", meta::key(pod)), log::kv("err", r.error().message()));
    }
  }

  ApiClient& client_;
  SchedulerOptions opts_;
  std::shared_ptr<Clock> clock_;
  WorkQueue queue_;
  EventRecorder recorder_;
  Informer pods_;
  Informer nodes_;
  sched::VolumeBinding volumes_;
  std::mt19937_64 rng_;
  std::shared_ptr<spdlog::logger> log_;

  std::mutex mu_;  // guards the cache below
  std::map<std::string, NodeInfo> cache_;
  std::map<std::string, std::string> pod_node_;  // pod key -> node it is counted on
  std::set<std::string> assumed_;
  std::map<std::string, TimePoint> unschedulable_;  // pod key -> end of its backoff
  std::size_t next_start_ = 0;

  mutable std::mutex stats_mu_;
  SchedulerStats stats_;
  std::thread worker_;
};

}  // namespace

std::unique_ptr<Scheduler> newScheduler(ApiClient& client, SchedulerOptions options) {
  return std::make_unique<SchedulerImpl>(client, std::move(options));
}

}  // namespace skiff::master
