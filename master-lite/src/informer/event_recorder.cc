#include "skiff/master/informer/event_recorder.h"

#include <cstdio>

#include "skiff/common/log.h"
#include "skiff/master/informer/meta.h"

namespace skiff::master {

namespace {
constexpr std::size_t kMaxCached = 4096;  // client-go's maxLruCacheEntries
}

EventRecorder::EventRecorder(ApiClient& client, std::string component, std::shared_ptr<Clock> clock)
    : client_(client), component_(std::move(component)), clock_(std::move(clock)) {}

void EventRecorder::event(const json& involved, const std::string& type, const std::string& reason,
                          const std::string& message) {
  std::string ns = meta::ns(involved);
  if (ns.empty()) ns = "default";  // events about cluster-scoped objects live in default
  std::string key = component_ + "\x1f" + meta::uid(involved) + "\x1f" + meta::name(involved) +
                    "\x1f" + type + "\x1f" + reason + "\x1f" + message;
  std::string now = formatTime(clock_->now());
  auto lg = log::get("master");
  std::unique_lock lock(mu_);
  auto it = cache_.find(key);
  if (it != cache_.end()) {
    Entry e = it->second;
    e.count++;
    it->second.count = e.count;
    lock.unlock();
    auto r = client_.patch(gvr::kEvents, e.ns, e.name, PatchType::Merge,
                           json{{"count", e.count}, {"lastTimestamp", now}});
    if (r) return;
    if (!r.error().is(ErrorCode::NotFound)) {
      SKIFF_LOG_WARN(lg, "Could not update event, ignoring", log::kv("reason", reason),
                     log::kv("err", r.error().message()));
      return;
    }
    lock.lock();
    cache_.erase(key);
  }
  char suffix[32];
  std::uint64_t stamp =
      static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(clock_->now().time_since_epoch())
              .count()) +
      ++seq_;
  std::snprintf(suffix, sizeof suffix, "%llx", static_cast<unsigned long long>(stamp));
  std::string name = meta::name(involved) + "." + suffix;
  cache_[key] = Entry{ns, name, 1};
  lru_.push_back(key);
  if (lru_.size() > kMaxCached) {
    cache_.erase(lru_.front());
    lru_.pop_front();
  }
  lock.unlock();
  json obj = {
      {"apiVersion", "v1"},
      {"kind", "Event"},
      {"metadata", {{"name", name}, {"namespace", ns}}},
      {"involvedObject",
       {{"kind", involved.value("kind", "")},
        {"namespace", meta::ns(involved)},
        {"name", meta::name(involved)},
        {"uid", meta::uid(involved)},
        {"apiVersion", involved.value("apiVersion", "")},
        {"resourceVersion", meta::resourceVersion(involved)}}},
      {"reason", reason},
      {"message", message},
      {"type", type},
      {"source", {{"component", component_}}},
      {"firstTimestamp", now},
      {"lastTimestamp", now},
      {"count", 1},
      {"eventTime", nullptr},
      {"reportingComponent", component_},
      {"reportingInstance", ""},
  };
  if (meta::ns(involved).empty()) obj["involvedObject"].erase("namespace");
  auto r = client_.create(gvr::kEvents, ns, obj);
  if (!r) {
    SKIFF_LOG_WARN(lg, "Could not create event, ignoring", log::kv("reason", reason),
                   log::kv("err", r.error().message()));
  }
}

}  // namespace skiff::master
