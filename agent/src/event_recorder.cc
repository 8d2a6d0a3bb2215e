#include "skiff/agent/event_recorder.h"

#include <cstdio>

#include "skiff/agent/pod_status.h"
#include "skiff/common/log.h"

namespace skiff::agent {

using nlohmann::json;
using skiff::log::kv;

namespace {
constexpr std::size_t kMaxCached = 4096;  // client-go's maxLruCacheEntries
constexpr std::size_t kMaxQueued = 1000;  // client-go's maxQueuedEvents

std::string timeOf(std::chrono::system_clock::time_point t) {
  return rfc3339FromNs(
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
}

// The involvedObject of an Event about a namespaced core/v1 object (a Pod, a claim).
json involvedObject(const char* kind, const json& obj) {
  const json& md = obj.value("metadata", json::object());
  json involved = {{"kind", kind},
                   {"namespace", md.value("namespace", "default")},
                   {"name", md.value("name", "")},
                   {"uid", md.value("uid", "")},
                   {"apiVersion", "v1"}};
  if (md.contains("resourceVersion")) involved["resourceVersion"] = md["resourceVersion"];
  return involved;
}
}  // namespace

EventRecorder::EventRecorder(KubeClientPtr client, std::string host, WallClock clock, bool async)
    : client_(std::move(client)), host_(std::move(host)), clock_(std::move(clock)), async_(async) {
  if (async_) thread_ = std::thread([this] { run(); });
}

EventRecorder::~EventRecorder() { stop(); }

void EventRecorder::stop() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::string EventRecorder::containerFieldPath(const json& pod, const std::string& container) {
  const json& spec = pod.value("spec", json::object());
  for (const auto& c : spec.value("initContainers", json::array())) {
    if (c.value("name", "") == container) return "spec.initContainers{" + container + "}";
  }
  return "spec.containers{" + container + "}";
}

void EventRecorder::podEvent(const json& pod, const std::string& field_path,
                             const std::string& type, const std::string& reason,
                             const std::string& message) {
  json involved = involvedObject("Pod", pod);
  if (!field_path.empty()) involved["fieldPath"] = field_path;
  enqueue({std::move(involved), type, reason, message, timeOf(clock_())});
}

void EventRecorder::claimEvent(const json& pvc, const std::string& type, const std::string& reason,
                               const std::string& message) {
  enqueue({involvedObject("PersistentVolumeClaim", pvc), type, reason, message, timeOf(clock_())});
}

void EventRecorder::nodeEvent(const std::string& type, const std::string& reason,
                              const std::string& message) {
  // The kubelet's node reference: kind Node, name and uid both the node name.
  json involved = {{"kind", "Node"}, {"name", host_}, {"uid", host_}};
  enqueue({std::move(involved), type, reason, message, timeOf(clock_())});
}

void EventRecorder::enqueue(Item item) {
  if (!async_) {
    post(item);
    return;
  }
  {
    std::lock_guard lk(mu_);
    if (stopping_) return;
    if (queue_.size() >= kMaxQueued) {
      auto lg = skiff::log::get("events");
      SKIFF_LOG_WARN(lg, "Event queue full, dropping event", kv("reason", item.reason));
      return;
    }
    queue_.push_back(std::move(item));
  }
  cv_.notify_one();
}

void EventRecorder::flush() {
  std::unique_lock lk(mu_);
  idle_cv_.wait(lk, [&] { return (queue_.empty() && !busy_) || !thread_.joinable(); });
}

void EventRecorder::run() {
  std::unique_lock lk(mu_);
  while (true) {
    cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
    if (stopping_ && queue_.empty()) break;
    if (stopping_) {
      queue_.clear();  // shutting down: pending events are dropped, as client-go does
      break;
    }
    Item item = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lk.unlock();
    post(item);
    lk.lock();
    busy_ = false;
    if (queue_.empty()) idle_cv_.notify_all();
  }
  busy_ = false;
  idle_cv_.notify_all();
}

void EventRecorder::post(const Item& item) {
  auto lg = skiff::log::get("events");
  const json& inv = item.involved;
  std::string ns = inv.value("namespace", "");
  std::string event_ns = ns.empty() ? "default" : ns;  // node events live in default
  // EventCorrelator key: source, involved object (with fieldPath), type, reason, message.
  std::string key = host_ + "\x1f" + inv.value("kind", "") + "\x1f" + ns + "\x1f" +
                    inv.value("name", "") + "\x1f" + inv.value("uid", "") + "\x1f" +
                    inv.value("fieldPath", "") + "\x1f" + item.type + "\x1f" + item.reason +
                    "\x1f" + item.message;
  std::optional<Entry> seen;
  {
    std::lock_guard lk(mu_);
    auto it = cache_.find(key);
    if (it != cache_.end()) {
      it->second.count++;
      seen = it->second;
    }
  }
  if (seen) {
    auto r =
        client_->patch(apiPath("", "v1", "events", seen->ns, seen->name),
                       {{"count", seen->count}, {"lastTimestamp", item.time}}, PatchType::Merge);
    if (r) return;
    if (!r.error().is(ErrorCode::NotFound)) {
      SKIFF_LOG_WARN(lg, "Server rejected event (will not retry!)", kv("reason", item.reason),
                     kv("err", r.error().message()));
      return;
    }
    // The Event expired (TTL) or was deleted: create it anew.
    std::lock_guard lk(mu_);
    cache_.erase(key);
  }
  char suffix[32];
  uint64_t stamp;
  {
    std::lock_guard lk(mu_);
    stamp = static_cast<uint64_t>(
                std::chrono::duration_cast<std::chrono::nanoseconds>(clock_().time_since_epoch())
                    .count()) +
            ++seq_;
  }
  std::snprintf(suffix, sizeof suffix, "%llx", static_cast<unsigned long long>(stamp));
  std::string name = inv.value("name", "") + "." + suffix;
  json ev = {{"apiVersion", "v1"},
             {"kind", "Event"},
             {"metadata", {{"name", name}, {"namespace", event_ns}}},
             {"involvedObject", inv},
             {"reason", item.reason},
             {"message", item.message},
             {"type", item.type},
             {"source", {{"component", "kubelet"}, {"host", host_}}},
             {"firstTimestamp", item.time},
             {"lastTimestamp", item.time},
             {"count", 1},
             {"eventTime", nullptr},
             {"reportingComponent", "kubelet"},
             {"reportingInstance", host_}};
  auto r = client_->create(apiPath("", "v1", "events", event_ns), ev);
  if (!r) {
    SKIFF_LOG_WARN(lg, "Server rejected event (will not retry!)", kv("reason", item.reason),
                   kv("err", r.error().message()));
    return;
  }
  std::lock_guard lk(mu_);
  cache_[key] = Entry{event_ns, name, 1};
  lru_.push_back(key);
  if (lru_.size() > kMaxCached) {
    cache_.erase(lru_.front());
    lru_.pop_front();
  }
}

}  // namespace skiff::agent
