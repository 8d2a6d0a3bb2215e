// The etcd store's event window (etcd_watch_cache.h).
#include "etcd_watch_cache.h"

#include <algorithm>
#include <atomic>

#include "etcd_common.h"
#include "key_range.h"
#include "skiff/common/base64.h"

namespace skiff::master::store {
namespace {

using json = nlohmann::json;

class CacheWatch : public Watch {
 public:
  CacheWatch(EtcdWatchCache* cache, std::uint64_t id) : cache_(cache), id_(id) {}
  ~CacheWatch() override { stop(); }
  void stop() override {
    if (!stopped_.exchange(true)) cache_->removeWatcher(id_);
  }

 private:
  EtcdWatchCache* cache_;
  std::uint64_t id_;
  std::atomic<bool> stopped_{false};
};

Result<std::string> field(const json& kv, const char* name) {
  return base64Field(kv, name, "watch event");
}

}  // namespace

Result<void> EtcdWatchCache::start(EtcdClient& client, std::string prefix,
                                   std::string key_namespace, std::int64_t current,
                                   std::int64_t newest, std::chrono::milliseconds timeout) {
  client_ = &client;
  prefix_ = std::move(prefix);
  namespace_ = std::move(key_namespace);
  from_ = dispatched_ = std::max<std::int64_t>(0, current - retain_);
  thread_ = std::thread([this] { loop(); });
  std::unique_lock l(mu_);
  if (!cv_.wait_for(l, timeout, [&] { return dispatched_ >= newest; })) {
    return Error(ErrorCode::Unavailable, "watch etcd: no events up to revision " +
                                             std::to_string(newest) + " within " +
                                             std::to_string(timeout.count()) + "ms");
  }
  return ok();
}

void EtcdWatchCache::stop() {
  {
    std::lock_guard l(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
    if (stream_) stream_->close();
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

void EtcdWatchCache::loop() {
  int failures = 0;
  while (true) {
    std::int64_t from;
    {
      std::lock_guard l(mu_);
      if (stopping_) return;
      from = dispatched_ + 1;
    }
    json req = {{"key", base64Encode(prefix_)},
                {"range_end", base64Encode(etcdRangeEnd(prefix_))},
                {"start_revision", std::to_string(from)},
                {"prev_kv", true},
                {"progress_notify", true}};
    auto stream = client_->watch(req);
    Result<void> ended = ok();
    if (stream) {
      {
        std::lock_guard l(mu_);
        if (stopping_) return;
        stream_ = std::move(*stream);
      }
      ended = follow(*stream_);
      std::lock_guard l(mu_);
      stream_.reset();
      if (stopping_) return;
    } else {
      ended = std::move(stream).error();
    }
    if (!ended && ended.error().is(ErrorCode::Gone)) {
      // History before etcd's last compaction is gone (every start after a compaction, and
      // after `skiff-master migrate`): follow() logged an error if a watcher lost events.
      SKIFF_LOG_INFO(lg(), "Watch on etcd resumes after its compaction",
                     skiff::log::kv("revision", from));
      continue;
    }
    if (!ended) {
      SKIFF_LOG_WARN(lg(), "Watch on etcd ended, will resume", skiff::log::kv("revision", from),
                     skiff::log::kv("err", ended.error().message()));
    }
    // Back off 100 ms doubling to 2 s while members keep failing.
    auto delay = std::chrono::milliseconds(100 << std::min(failures++, 4));
    std::unique_lock l(mu_);
    if (cv_.wait_for(l, delay, [&] { return stopping_; })) return;
    if (ended) failures = 0;
  }
}

Result<void> EtcdWatchCache::follow(EtcdWatchStream& stream) {
  while (true) {
    SKIFF_ASSIGN_OR_RETURN(json result, stream.next());
    std::int64_t compact = etcdInt(result, "compact_revision");
    if (compact > 0) {
      // The revision we resume from is gone: watchers cannot be given what they missed.
      std::lock_guard l(mu_);
      if (!watchers_.empty()) {
        SKIFF_LOG_ERROR(lg(), "Events lost to an etcd compaction, resuming after it",
                        skiff::log::kv("from", dispatched_ + 1),
                        skiff::log::kv("compactRevision", compact));
      }
      dispatched_ = std::max(dispatched_, compact - 1);
      from_ = std::max(from_, dispatched_);
      events_.clear();
      return Error(ErrorCode::Gone, "watch from a compacted revision");
    }
    if (result.value("canceled", false)) {
      return Error(ErrorCode::Unavailable,
                   "watch canceled by etcd: " + result.value("cancel_reason", std::string()));
    }
    SKIFF_TRY(dispatch(result));
  }
}

Result<void> EtcdWatchCache::dispatch(const json& result) {
  std::vector<EventPtr> batch;
  auto evs = result.find("events");
  if (evs != result.end() && evs->is_array()) {
    for (const auto& e : *evs) {
      if (!e.is_object() || !e.contains("kv"))
        return Error(ErrorCode::Internal, "malformed watch event");
      const json& kv = e["kv"];
      bool del = e.value("type", std::string("PUT")) == "DELETE";
      SKIFF_ASSIGN_OR_RETURN(std::string key, field(kv, "key"));
      if (key.compare(0, namespace_.size(), namespace_) != 0) continue;
      Event ev{del ? EventType::Delete : EventType::Put,
               KeyValue{key.substr(namespace_.size()), "", etcdInt(kv, "create_revision"),
                        etcdInt(kv, "mod_revision")},
               std::nullopt};
      if (e.contains("prev_kv")) {
        SKIFF_ASSIGN_OR_RETURN(std::string prev, field(e["prev_kv"], "value"));
        if (del) ev.kv.create_revision = etcdInt(e["prev_kv"], "create_revision");
        ev.prev_value = std::move(prev);
      }
      if (del) {
        ev.kv.value = ev.prev_value.value_or("");
      } else {
        SKIFF_ASSIGN_OR_RETURN(ev.kv.value, field(kv, "value"));
      }
      if (ev.kv.mod_revision <= 0)
        return Error(ErrorCode::Internal, "watch event without revision");
      batch.push_back(std::make_shared<const Event>(std::move(ev)));
    }
  }
  std::lock_guard l(mu_);
  // The events of one transaction share its revision and arrive in one response.
  const std::int64_t before = dispatched_;
  for (auto& ev : batch) {
    std::int64_t rev = ev->kv.mod_revision;
    if (rev <= before) continue;  // replayed after a reconnect
    for (auto& w : watchers_) {
      if (rev > w.from && ev->kv.key.compare(0, w.prefix.size(), w.prefix) == 0) w.handler(ev);
    }
    events_.push_back(std::move(ev));
    dispatched_ = rev;
  }
  // A progress notification (no events, not the creation reply) means caught up to the header.
  if (batch.empty() && !result.value("created", false) && result.contains("header")) {
    dispatched_ = std::max(dispatched_, etcdInt(result["header"], "revision"));
  }
  while (static_cast<std::int64_t>(events_.size()) > retain_) {
    from_ = events_.front()->kv.mod_revision;
    events_.pop_front();
  }
  cv_.notify_all();
  return ok();
}

Result<WatchPtr> EtcdWatchCache::watch(const std::string& prefix, std::int64_t from,
                                       WatchHandler handler) {
  std::lock_guard l(mu_);
  std::int64_t oldest = std::max(from_, compacted_);
  if (from < oldest) {
    return Error(ErrorCode::Gone, "too old resource version: " + std::to_string(from) + " (" +
                                      std::to_string(oldest + 1) + ")");
  }
  for (const auto& ev : events_) {
    if (ev->kv.mod_revision > from && ev->kv.key.compare(0, prefix.size(), prefix) == 0)
      handler(ev);
  }
  std::uint64_t id = next_id_++;
  // Held events are all <= dispatched_ and later ones are newer: nothing is delivered twice.
  watchers_.push_back(Watcher{id, prefix, from, std::move(handler)});
  return WatchPtr(std::make_unique<CacheWatch>(this, id));
}

void EtcdWatchCache::waitFor(std::int64_t revision, std::chrono::milliseconds timeout) {
  std::unique_lock l(mu_);
  if (!cv_.wait_for(l, timeout, [&] { return dispatched_ >= revision || stopping_; })) {
    SKIFF_LOG_WARN(lg(), "Write not seen on the etcd watch in time, ignoring",
                   skiff::log::kv("revision", revision), skiff::log::kv("dispatched", dispatched_));
  }
}

void EtcdWatchCache::compactTo(std::int64_t revision) {
  std::lock_guard l(mu_);
  compacted_ = std::max(compacted_, revision);
  while (!events_.empty() && events_.front()->kv.mod_revision <= revision) events_.pop_front();
  from_ = std::max(from_, std::min(revision, dispatched_));
}

std::int64_t EtcdWatchCache::dispatched() {
  std::lock_guard l(mu_);
  return dispatched_;
}

std::int64_t EtcdWatchCache::compacted() {
  std::lock_guard l(mu_);
  return std::max(from_, compacted_);
}

void EtcdWatchCache::removeWatcher(std::uint64_t id) {
  std::lock_guard l(mu_);
  std::erase_if(watchers_, [&](const Watcher& w) { return w.id == id; });
}

}  // namespace skiff::master::store
