// Watch: store events -> Kubernetes watch events for one resource, namespace and selection.
//
// A label/field selector watch sees an object enter (ADDED) and leave (DELETED) the selection
// as upstream's cacher does. Each store event is decoded once per revision and shared by all
// watchers (1,000 watchers cost one JSON parse per change, not 1,000).
#include <atomic>
#include <deque>

#include "registry_internal.h"
#include "skiff/common/enum_names.h"
#include "skiff/master/api/object_util.h"
#include "skiff/master/api/storage_keys.h"

namespace skiff::master::api {

namespace {
// A watcher that falls this far behind is cut off (upstream closes slow watchers too); its client
// re-lists and watches again.
constexpr std::size_t kMaxQueued = 20000;

constexpr EnumName<WatchEventType> kTypeNames[] = {{WatchEventType::Added, "ADDED"},
                                                   {WatchEventType::Modified, "MODIFIED"},
                                                   {WatchEventType::Deleted, "DELETED"},
                                                   {WatchEventType::Bookmark, "BOOKMARK"},
                                                   {WatchEventType::Error, "ERROR"}};

const char* typeName(WatchEventType t) { return nameOf(kTypeNames, t, "ERROR"); }

// One watch event as its wire line, fields in the order the API server writes them
// ({"type":...,"object":...}), from the object's JSON text.
std::string watchLine(WatchEventType t, std::string_view object_text) {
  std::string line;
  line.reserve(object_text.size() + 32);
  line += R"({"type":")";
  line += typeName(t);
  line += R"(","object":)";
  line += object_text;
  line += "}\n";
  return line;
}
}  // namespace

void DecodedEvent::decode() {
  std::call_once(once, [this] { object = decodeFromStore(raw->kv.value, raw->kv.mod_revision); });
}

void DecodedEvent::decodePrev() {
  std::call_once(prev_once, [this] {
    if (raw->prev_value) prev = json::parse(*raw->prev_value, nullptr, false);
  });
}

struct WatchQueue::Impl {
  const ResourceInfo* r = nullptr;
  bool storage_version = true;  // objects are sent as stored (shared encodings usable)
  LabelSelector labels;
  FieldSelector fields;
  bool filtered = false;
  bool bookmarks = false;
  std::atomic<bool> encoded_only{false};

  mutable std::mutex mu;
  std::deque<std::shared_ptr<DecodedEvent>> raw;
  std::deque<Item> ready;  // synthetic initial events, errors
  std::function<void()> notify;
  bool closed = false;
  std::int64_t last_rev = 0;
  store::WatchPtr watch;

  // Selectors see the object in r's shape (an events.k8s.io watcher selects on `regarding`).
  bool matches(const json& stored) const {
    if (!filtered) return true;
    if (storage_version || !stored.is_object()) return matchesShown(stored);
    return matchesShown(convertForRead(*r, stored));
  }
  bool matchesShown(const json& obj) const {
    return labels.matches(at(obj, {"metadata", "labels"})) && fields.matches(obj);
  }

  // An event's object at r's version (Registry::present; a conversion webhook may fail).
  std::function<Result<json>(json)> present;

  void push(std::shared_ptr<DecodedEvent> ev) {
    std::function<void()> n;
    {
      std::lock_guard l(mu);
      if (closed) return;
      if (raw.size() >= kMaxQueued) {
        closed = true;
        raw.clear();
      } else {
        raw.push_back(std::move(ev));
      }
      n = notify;
    }
    if (n) n();
  }
};

WatchQueue::~WatchQueue() { stop(); }

void WatchQueue::stop() {
  if (!impl_) return;
  store::WatchPtr w;
  {
    std::lock_guard l(impl_->mu);
    impl_->closed = true;
    w = std::move(impl_->watch);
    impl_->notify = nullptr;
  }
  if (w) w->stop();
}

bool WatchQueue::closed() const {
  std::lock_guard l(impl_->mu);
  return impl_->closed && impl_->raw.empty() && impl_->ready.empty();
}

void WatchQueue::encodedOnly() { impl_->encoded_only = true; }

void WatchQueue::setNotify(const std::function<void()>& fn) {
  bool pending;
  {
    std::lock_guard l(impl_->mu);
    impl_->notify = fn;
    pending = !impl_->raw.empty() || !impl_->ready.empty() || impl_->closed;
  }
  if (pending && fn) fn();
}

WatchQueue::Item WatchQueue::bookmark() const {
  std::lock_guard l(impl_->mu);
  json obj = {{"kind", impl_->r->kind},
              {"apiVersion", impl_->r->groupVersion()},
              {"metadata", {{"resourceVersion", std::to_string(impl_->last_rev)}}}};
  return Item{WatchEventType::Bookmark, obj, ""};
}

std::vector<WatchQueue::Item> WatchQueue::next(std::size_t max) {
  std::vector<Item> out;
  std::vector<std::shared_ptr<DecodedEvent>> batch;
  {
    std::lock_guard l(impl_->mu);
    while (!impl_->ready.empty() && out.size() < max) {
      out.push_back(std::move(impl_->ready.front()));
      impl_->ready.pop_front();
    }
    while (!impl_->raw.empty() && out.size() + batch.size() < max) {
      batch.push_back(std::move(impl_->raw.front()));
      impl_->raw.pop_front();
    }
    if (!batch.empty()) impl_->last_rev = batch.back()->raw->kv.mod_revision;
  }
  Impl& s = *impl_;
  for (auto& ev : batch) {
    ev->decode();
    bool now_in = s.matches(ev->object);
    bool was_in = false;
    bool deleted = ev->raw->type == store::EventType::Delete;
    if (s.filtered && !deleted && ev->raw->prev_value) {
      ev->decodePrev();
      if (ev->prev.is_object()) was_in = s.matches(ev->prev);
    }
    WatchEventType type;
    if (deleted) {
      if (!now_in) continue;
      type = WatchEventType::Deleted;
    } else if (!ev->raw->prev_value) {
      if (!now_in) continue;
      type = WatchEventType::Added;
    } else if (!s.filtered) {
      type = WatchEventType::Modified;
    } else if (now_in && was_in) {
      type = WatchEventType::Modified;
    } else if (now_in) {
      type = WatchEventType::Added;
    } else if (was_in) {
      type = WatchEventType::Deleted;
    } else {
      continue;
    }
    Item item{type, json(), ""};
    // The JSON text is shared by every stream watching the stored version; in-process
    // consumers take objects and never need it.
    std::optional<Error> failed;
    if (s.storage_version && s.encoded_only) {
      std::call_once(ev->text_once, [&] {
        auto shown = s.present(ev->object);
        if (shown) {
          ev->object_text = shown->dump();
        } else {
          ev->object_error = std::move(shown).error();
        }
      });
      if (ev->object_error) {
        failed = ev->object_error;
      } else {
        item.encoded = watchLine(type, ev->object_text);
      }
    } else if (auto shown = s.present(ev->object); shown) {
      item.object = std::move(*shown);
    } else {
      failed = std::move(shown).error();
    }
    if (failed) {
      // A conversion webhook failed: as the API server's watch encoder, the client gets the
      // error and the watch ends (it lists and watches again).
      out.push_back({WatchEventType::Error, statusFromError(*failed), ""});
      std::lock_guard l(s.mu);
      s.closed = true;
      s.raw.clear();
      break;
    }
    out.push_back(std::move(item));
  }
  return out;
}

Result<WatchQueuePtr> Registry::watch(const ResourceInfo& r, const std::string& ns,
                                      const Selection& sel) {
  auto impl = std::make_shared<WatchQueue::Impl>();
  impl->r = &r;
  impl->present = [this, &r](json obj) { return present(r, std::move(obj), 0); };
  // Shared encodings are keyed by event, not by version: only the stored version may share.
  impl->storage_version = r.version == r.storage_version && storageGroup(r) == r.group;
  SKIFF_ASSIGN_OR_RETURN(impl->labels, LabelSelector::parse(sel.label_selector));
  SKIFF_ASSIGN_OR_RETURN(impl->fields, FieldSelector::parseFor(sel.field_selector, r.kind));
  impl->filtered = !impl->labels.empty() || !impl->fields.empty();
  impl->bookmarks = sel.allow_watch_bookmarks;

  std::int64_t from = 0;
  const std::string& rv = sel.resource_version;
  bool initial = rv.empty() || rv == "0" || sel.send_initial_events;
  if (!rv.empty() && rv != "0") {
    try {
      std::size_t used = 0;
      from = std::stoll(rv, &used);
      if (used != rv.size() || from < 0) throw std::invalid_argument("rv");
    } catch (...) {
      return Error(ErrorCode::BadRequest, "invalid resource version: " + rv);
    }
  }
  if (initial) {
    // Synthetic ADDED for everything that matches now, then changes after that revision.
    Selection s = sel;
    s.limit = 0;
    s.continue_token.clear();
    SKIFF_ASSIGN_OR_RETURN(json list, this->list(r, ns, s));
    from = std::stoll(list["metadata"]["resourceVersion"].get<std::string>());
    for (auto& item : list["items"]) {
      impl->ready.push_back({WatchEventType::Added, std::move(item), ""});
    }
    if (sel.send_initial_events) {
      json bm = {{"kind", r.kind},
                 {"apiVersion", r.groupVersion()},
                 {"metadata",
                  {{"resourceVersion", std::to_string(from)},
                   {"annotations", {{"k8s.io/initial-events-end", "true"}}}}}};
      impl->ready.push_back({WatchEventType::Bookmark, bm, ""});
    }
  }
  impl->last_rev = from;
  std::weak_ptr<WatchQueue::Impl> weak = impl;
  State* state = state_.get();
  auto w = store_.watch(prefix(r, ns), from, [weak, state](const store::EventPtr& ev) {
    auto self = weak.lock();
    if (!self) return;
    std::shared_ptr<DecodedEvent> d;
    {
      std::lock_guard l(state->cache_mu);
      if (state->last_raw == ev.get() && state->last_decoded) {
        d = state->last_decoded;
      } else {
        d = std::make_shared<DecodedEvent>();
        d->raw = ev;
        state->last_raw = ev.get();
        state->last_decoded = d;
      }
    }
    self->push(std::move(d));
  });
  if (!w) {
    if (w.error().is(ErrorCode::Gone)) {
      return Error(ErrorCode::Gone, w.error().message());
    }
    return std::move(w).error();
  }
  impl->watch = std::move(w).value();
  auto q = std::make_unique<WatchQueue>();
  q->impl_ = impl;
  return q;
}

// Encodes one watch item as its wire line (used by the HTTP handler and tests).
std::string encodeWatchLine(const WatchQueue::Item& item) {
  if (!item.encoded.empty()) return item.encoded;
  return watchLine(item.type, item.object.dump());
}

}  // namespace skiff::master::api
