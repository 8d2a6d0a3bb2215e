#include "skiff/agent/eviction.h"

#include <algorithm>
#include <cmath>

#include "skiff/agent/config.h"
#include "skiff/agent/resources.h"
#include "skiff/common/log.h"

namespace skiff::agent {

using nlohmann::json;
using skiff::log::kv;

namespace {

// kubelet's SystemCriticalPriority (scheduling.k8s.io): pods at or above it are critical.
constexpr int64_t kSystemCriticalPriority = 2000000000;

// Resource a signal reclaims (signalToResource in pkg/kubelet/eviction/helpers.go).
std::string resourceOf(const std::string& signal) {
  if (signal == "memory.available") return "memory";
  if (signal == "nodefs.available" || signal == "imagefs.available") return "ephemeral-storage";
  if (signal == "nodefs.inodesFree" || signal == "imagefs.inodesFree") return "inodes";
  if (signal == "pid.available") return "pids";
  return "";
}

// Node condition a signal raises (signalToNodeCondition).
std::string conditionOf(const std::string& signal) {
  std::string r = resourceOf(signal);
  if (r == "memory") return "MemoryPressure";
  if (r == "pids") return "PIDPressure";
  return "DiskPressure";
}

// Memory signals are handled first (byEvictionPriority), then disk, then pids.
int signalOrder(const std::string& signal) {
  std::string r = resourceOf(signal);
  if (r == "memory") return 0;
  if (r == "pids") return 2;
  return 1;
}

bool isBytes(const std::string& signal) {
  std::string r = resourceOf(signal);
  return r == "memory" || r == "ephemeral-storage";
}

std::string formatWithBase(int64_t value, int64_t base, const char* const* suffixes) {
  if (value == 0) return "0";
  int k = 0;
  int64_t v = value;
  while (k < 6 && v % base == 0) {
    v /= base;
    ++k;
  }
  return std::to_string(v) + suffixes[k];
}

int64_t priorityOf(const json& pod) {
  const json& spec = pod.value("spec", json::object());
  auto it = spec.find("priority");
  return it != spec.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

std::string uidOf(const json& pod) {
  return pod.value("metadata", json::object()).value("uid", "");
}

// Requests of the pod for the resource a signal reclaims.
int64_t podRequestFor(const json& pod, const std::string& resource) {
  if (resource == "memory") return cpuAndMemory(podRequests(pod)).memory_bytes;
  if (resource == "ephemeral-storage") {
    int64_t sum = 0;
    for (const auto& c : pod.value("spec", json::object()).value("containers", json::array())) {
      const json& req = c.value("resources", json::object()).value("requests", json::object());
      if (req.contains("ephemeral-storage")) {
        sum += quantityValue(req["ephemeral-storage"]).value_or(0);
      }
    }
    return sum;
  }
  return 0;
}

int64_t usageFor(const PodUsage& u, const std::string& resource) {
  if (resource == "memory") return u.memory_working_set;
  if (resource == "ephemeral-storage") return u.disk_bytes;
  if (resource == "inodes") return u.inodes;
  if (resource == "pids") return u.processes;
  return 0;
}

std::string requestString(const json& container, const std::string& resource) {
  const json& req = container.value("resources", json::object()).value("requests", json::object());
  if (req.contains(resource) && req[resource].is_string()) return req[resource].get<std::string>();
  return "0";
}

// Whether `t` is crossed in `observed`; with `with_min_reclaim`, relative to threshold + reclaim.
bool crossedIn(const EvictionThreshold& t, const std::map<std::string, SignalObservation>& observed,
               bool with_min_reclaim) {
  auto it = observed.find(t.signal);
  if (it == observed.end() || it->second.available < 0) return false;
  bool needs_capacity =
      !t.quantity || (with_min_reclaim && t.min_reclaim && !t.min_reclaim->quantity);
  if (needs_capacity && it->second.capacity <= 0) return false;
  int64_t limit = t.resolve(it->second.capacity);
  if (with_min_reclaim && t.min_reclaim) limit += t.min_reclaim->resolve(it->second.capacity);
  return it->second.available < limit;
}

}  // namespace

std::string evictionResourceOf(const std::string& signal) { return resourceOf(signal); }

std::string formatBinaryQuantity(int64_t value) {
  // Go formats binary quantities strictly between -1024 and 1024 as decimal.
  if (value > -1024 && value < 1024) return formatDecimalQuantity(value);
  static const char* const kSuffixes[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
  return formatWithBase(value, 1024, kSuffixes);
}

std::string formatDecimalQuantity(int64_t value) {
  static const char* const kSuffixes[] = {"", "k", "M", "G", "T", "P", "E"};
  return formatWithBase(value, 1000, kSuffixes);
}

int64_t EvictionQuantity::resolve(int64_t capacity) const {
  if (quantity) return *quantity;
  return static_cast<int64_t>(static_cast<double>(capacity) * percentage);
}

namespace {

// "100Mi", "1.5Gi", "10%" for `signal`; `what` names the flag in errors.
Result<EvictionQuantity> parseEvictionQuantity(const std::string& signal, const std::string& text,
                                               const std::string& what) {
  EvictionQuantity q;
  if (text.ends_with("%")) {
    char* end = nullptr;
    double pct = std::strtod(text.c_str(), &end);
    if (end != text.c_str() + text.size() - 1 || !std::isfinite(pct) || pct < 0 || pct > 100) {
      return Error(ErrorCode::Invalid,
                   what + " " + signal + ": invalid percentage '" + text + "' (must be 0%..100%)");
    }
    q.percentage = pct / 100;
  } else {
    auto v = quantityValue(json(text));
    if (!v || *v < 0)
      return Error(ErrorCode::Invalid, what + " " + signal + ": invalid quantity '" + text + "'");
    q.quantity = *v;
  }
  return q;
}

Result<void> knownSignal(const std::string& signal) {
  if (resourceOf(signal).empty())
    return Error(ErrorCode::Invalid, "unsupported eviction signal " + signal);
  return ok();
}

// parseThresholdStatements: zero thresholds are dropped (disabled).
Result<std::vector<EvictionThreshold>> thresholdStatements(
    const std::map<std::string, std::string>& m) {
  std::vector<EvictionThreshold> out;
  for (const auto& [signal, text] : m) {
    if (resourceOf(signal).empty()) {
      return Error(ErrorCode::Invalid, "eviction threshold: unknown signal '" + signal + "'");
    }
    SKIFF_ASSIGN_OR_RETURN(EvictionQuantity q,
                           parseEvictionQuantity(signal, text, "eviction threshold"));
    if (q.quantity ? *q.quantity == 0 : q.percentage == 0) continue;
    EvictionThreshold t;
    static_cast<EvictionQuantity&>(t) = q;
    t.signal = signal;
    t.text = text;
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace

Result<std::vector<EvictionThreshold>> parseEvictionSettings(const EvictionSettings& settings) {
  SKIFF_ASSIGN_OR_RETURN(auto out, thresholdStatements(settings.hard));
  SKIFF_ASSIGN_OR_RETURN(auto soft, thresholdStatements(settings.soft));
  std::map<std::string, std::chrono::seconds> grace;
  for (const auto& [signal, text] : settings.soft_grace_period) {
    SKIFF_TRY(knownSignal(signal));
    SKIFF_ASSIGN_OR_RETURN(grace[signal],
                           parseGoDuration(text, "eviction grace period for " + signal));
  }
  for (auto& t : soft) {
    auto g = grace.find(t.signal);
    if (g == grace.end()) {
      return Error(ErrorCode::Invalid,
                   "grace period must be specified for the soft eviction threshold " + t.signal);
    }
    // A zero grace period would make it a hard threshold; the kubelet treats it so too.
    t.grace_period = g->second;
    out.push_back(std::move(t));
  }
  for (const auto& [signal, text] : settings.minimum_reclaim) {
    SKIFF_TRY(knownSignal(signal));
    SKIFF_ASSIGN_OR_RETURN(EvictionQuantity q,
                           parseEvictionQuantity(signal, text, "eviction minimum reclaim"));
    if (!q.quantity && q.percentage <= 0) {
      return Error(ErrorCode::Invalid,
                   "eviction percentage minimum reclaim " + signal + " must be positive: " + text);
    }
    for (auto& t : out) {
      if (t.signal == signal) t.min_reclaim = q;
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return signalOrder(a.signal) < signalOrder(b.signal);
  });
  return out;
}

Result<std::vector<EvictionThreshold>> parseEvictionHard(
    const std::map<std::string, std::string>& thresholds) {
  return parseEvictionSettings(EvictionSettings{thresholds, {}, {}, {}});
}

EvictionManager::EvictionManager(std::vector<EvictionThreshold> thresholds,
                                 EvictionStatsSource& stats, ActivePods active_pods, EvictFn evict,
                                 WallClock clock, std::chrono::seconds pressure_transition_period,
                                 std::chrono::seconds max_pod_grace_period)
    : thresholds_(std::move(thresholds)),
      stats_(stats),
      active_pods_(std::move(active_pods)),
      evict_(std::move(evict)),
      clock_(std::move(clock)),
      transition_(pressure_transition_period),
      max_pod_grace_(max_pod_grace_period) {}

bool EvictionManager::isCriticalPod(const json& pod) {
  const json& md = pod.value("metadata", json::object());
  const json& ann = md.value("annotations", json::object());
  if (ann.contains("kubernetes.io/config.mirror")) return true;
  if (ann.contains("kubernetes.io/config.source") &&
      ann.value("kubernetes.io/config.source", "") != "api") {
    return true;  // static pod
  }
  return priorityOf(pod) >= kSystemCriticalPriority;
}

std::vector<json> EvictionManager::rank(const std::string& signal, std::vector<json> pods,
                                        const std::map<std::string, PodUsage>& usage) {
  std::string resource = resourceOf(signal);
  auto use = [&](const json& p) -> int64_t {
    auto it = usage.find(uidOf(p));
    return it == usage.end() ? 0 : usageFor(it->second, resource);
  };
  auto over = [&](const json& p) { return use(p) > podRequestFor(p, resource); };
  std::stable_sort(pods.begin(), pods.end(), [&](const json& a, const json& b) {
    if (resource != "pids" && resource != "inodes") {
      // exceedMemoryRequests / exceedDiskRequests: pods above their request go first.
      bool oa = over(a), ob = over(b);
      if (oa != ob) return oa;
    }
    int64_t pa = priorityOf(a), pb = priorityOf(b);
    if (pa != pb) return pa < pb;
    // Then by consumption above the request, largest first.
    return use(a) - podRequestFor(a, resource) > use(b) - podRequestFor(b, resource);
  });
  return pods;
}

std::string EvictionManager::evictionMessage(const EvictionThreshold& t,
                                             const SignalObservation& obs, const json& pod,
                                             const PodUsage* usage) const {
  // pkg/kubelet/eviction/helpers.go evictionMessage: nodeLowMessageFmt, thresholdMetMessageFmt
  // and one containerMessageFmt per container above its request.
  std::string resource = resourceOf(t.signal);
  std::string msg = "The node was low on resource: " + resource + ". ";
  auto fmt = isBytes(t.signal) ? formatBinaryQuantity : formatDecimalQuantity;
  std::string quantity = t.quantity ? t.text : fmt(t.resolve(obs.capacity));
  msg += "Threshold quantity: " + quantity + ", available: " + fmt(obs.available) + ". ";
  if (usage == nullptr || (resource != "memory" && resource != "ephemeral-storage")) return msg;
  for (const auto& c : pod.value("spec", json::object()).value("containers", json::array())) {
    std::string name = c.value("name", "");
    auto it = usage->containers.find(name);
    if (it == usage->containers.end()) continue;
    int64_t used = resource == "memory" ? it->second.memory_working_set : it->second.disk_bytes;
    std::string req = requestString(c, resource);
    int64_t req_bytes = quantityValue(json(req)).value_or(0);
    if (used > req_bytes) {
      msg += "Container " + name + " was using " + formatBinaryQuantity(used) + ", request is " +
             req + ", has larger consumption of " + resource + ". ";
    }
  }
  return msg;
}

std::optional<std::string> EvictionManager::synchronize() {
  auto lg = skiff::log::get("eviction");
  auto observed = stats_.observe();
  if (!observed) {
    SKIFF_LOG_WARN(lg, "Eviction manager: failed to observe node signals",
                   kv("err", observed.error().message()));
    return std::nullopt;
  }
  std::vector<std::size_t> acting = updateThresholds(*observed);
  if (acting.empty()) return std::nullopt;

  // thresholds_ is in eviction priority order (memory, disk, pids).
  const EvictionThreshold& t = thresholds_[acting.front()];
  const SignalObservation& obs = observed->at(t.signal);
  SKIFF_LOG_WARN(lg, "Eviction manager: attempting to reclaim",
                 kv("resourceName", resourceOf(t.signal)), kv("signal", t.signal),
                 kv("threshold", t.text), kv("available", obs.available));
  std::string resource = resourceOf(t.signal);
  if (reclaim_ && (resource == "ephemeral-storage" || resource == "inodes") && reclaim_(t.signal)) {
    // reclaimNodeLevelResources: look again; if nothing is crossed any more, no pod has to go.
    auto again = stats_.observe();
    if (again &&
        std::none_of(thresholds_.begin(), thresholds_.end(),
                     [&](const EvictionThreshold& x) { return crossedIn(x, *again, false); })) {
      SKIFF_LOG_INFO(lg,
                     "Eviction manager: able to reduce resource pressure without evicting pods.",
                     kv("resourceName", resource));
      return std::nullopt;
    }
  }
  return evictOnePod(t, obs);
}

std::vector<std::size_t> EvictionManager::updateThresholds(
    const std::map<std::string, SignalObservation>& observed) {
  auto now = clock_();
  // Crossed now, plus those acted on last pass that have not reclaimed their minimum yet.
  auto crossed = [&](std::size_t i, bool with_min_reclaim) {
    return crossedIn(thresholds_[i], observed, with_min_reclaim);
  };
  std::vector<const EvictionThreshold*> met;  // independent of grace periods: drives conditions
  std::vector<std::size_t> acting;            // past their grace period: drives eviction
  NodePressure before, after;
  {
    std::lock_guard lk(mu_);
    std::map<std::size_t, std::chrono::system_clock::time_point> first;
    for (std::size_t i = 0; i < thresholds_.size(); ++i) {
      bool held = std::find(acting_.begin(), acting_.end(), i) != acting_.end() && crossed(i, true);
      if (!crossed(i, false) && !held) continue;
      met.push_back(&thresholds_[i]);
      auto seen = first_observed_.find(i);
      first[i] = seen == first_observed_.end() ? now : seen->second;
      if (now - first[i] >= thresholds_[i].grace_period) acting.push_back(i);
    }
    first_observed_ = std::move(first);
    acting_ = acting;

    before = pressure_;
    met_.clear();
    for (const auto* t : met) {
      met_.push_back(t->signal);
      condition_last_observed_[conditionOf(t->signal)] = now;
    }
    // A condition stays until the transition period passed since it was last observed.
    auto active = [&](const char* cond) {
      auto it = condition_last_observed_.find(cond);
      return it != condition_last_observed_.end() && now - it->second < transition_;
    };
    pressure_.memory = active("MemoryPressure");
    pressure_.disk = active("DiskPressure");
    pressure_.pid = active("PIDPressure");
    after = pressure_;
  }
  if (!(before == after)) {
    auto lg = skiff::log::get("eviction");
    SKIFF_LOG_INFO(lg, "Eviction manager: node pressure changed",
                   kv("memoryPressure", after.memory), kv("diskPressure", after.disk),
                   kv("pidPressure", after.pid));
  }
  return acting;
}

std::optional<std::string> EvictionManager::evictOnePod(const EvictionThreshold& t,
                                                        const SignalObservation& obs) {
  auto lg = skiff::log::get("eviction");
  std::vector<json> candidates;
  for (auto& p : active_pods_()) {
    if (!isCriticalPod(p)) candidates.push_back(std::move(p));
  }
  if (candidates.empty()) {
    SKIFF_LOG_WARN(lg, "Eviction manager: no pods to evict", kv("signal", t.signal));
    return std::nullopt;
  }
  auto usage = stats_.podUsage(candidates);
  auto ranked = rank(t.signal, std::move(candidates), usage);
  // kubelet evicts at most one pod per pass, trying the next one when a kill fails.
  for (const auto& pod : ranked) {
    auto u = usage.find(uidOf(pod));
    std::string msg = evictionMessage(t, obs, pod, u == usage.end() ? nullptr : &u->second);
    SKIFF_LOG_INFO(
        lg, "Eviction manager: evicting pod",
        kv("pod", pod["metadata"].value("namespace", "") + "/" + pod["metadata"].value("name", "")),
        kv("message", msg));
    // Hard: immediateEvictionGracePeriodSeconds. Soft: the configured maximum, capped by the
    // pod's own terminationGracePeriodSeconds.
    std::chrono::seconds grace(1);
    if (!t.hard()) {
      grace = max_pod_grace_;
      const json& spec = pod.value("spec", json::object());
      if (spec.contains("terminationGracePeriodSeconds") &&
          spec["terminationGracePeriodSeconds"].is_number_integer()) {
        grace = std::min(
            grace, std::chrono::seconds(spec["terminationGracePeriodSeconds"].get<int64_t>()));
      }
    }
    if (evict_(pod, msg, grace)) return uidOf(pod);
  }
  return std::nullopt;
}

std::optional<WaitingReason> EvictionManager::admit(const json& pod) {
  NodePressure p = pressure();
  if (!p.memory && !p.disk && !p.pid) return std::nullopt;
  if (isCriticalPod(pod)) return std::nullopt;
  // Only memory pressure: non-BestEffort pods fit, and BestEffort ones that tolerate the
  // memory-pressure taint (lifecycle admit handler in eviction_manager.go).
  if (p.memory && !p.disk && !p.pid) {
    if (podQosClass(pod) != QosClass::BestEffort) return std::nullopt;
    for (const auto& tol : pod.value("spec", json::object()).value("tolerations", json::array())) {
      std::string key = tol.value("key", ""), op = tol.value("operator", "Equal");
      std::string effect = tol.value("effect", "");
      bool key_ok = (key.empty() && op == "Exists") || key == "node.kubernetes.io/memory-pressure";
      bool effect_ok = effect.empty() || effect == "NoSchedule";
      if (key_ok && effect_ok) return std::nullopt;
    }
  }
  std::string conds;
  for (auto [on, name] : {std::pair{p.memory, "MemoryPressure"}, std::pair{p.disk, "DiskPressure"},
                          std::pair{p.pid, "PIDPressure"}}) {
    if (!on) continue;
    if (!conds.empty()) conds += " ";
    conds += name;
  }
  return WaitingReason{"Evicted", "The node had condition: [" + conds + "]. "};
}

NodePressure EvictionManager::pressure() {
  std::lock_guard lk(mu_);
  return pressure_;
}

std::vector<std::string> EvictionManager::thresholdsMet() {
  std::lock_guard lk(mu_);
  return met_;
}

}  // namespace skiff::agent
