#include "skiff/master/informer/informer.h"

#include "skiff/common/log.h"
#include "skiff/master/informer/meta.h"

namespace skiff::master {

Informer::Informer(ApiClient& client, GroupVersionResource resource, std::string ns,
                   ListOptions selectors)
    : client_(client),
      resource_(std::move(resource)),
      ns_(std::move(ns)),
      selectors_(std::move(selectors)) {}

Informer::~Informer() { stop(); }

void Informer::addEventHandlers(EventHandlers h) { handlers_.push_back(std::move(h)); }

void Informer::addIndex(const std::string& name, IndexFunc fn) {
  index_funcs_[name] = std::move(fn);
}
void Informer::setTransform(TransformFunc fn) { transform_ = std::move(fn); }

Result<void> Informer::start(bool background) {
  SKIFF_TRY(relist());
  if (background) relist_thread_ = std::thread([this] { relistLoop(); });
  return {};
}

void Informer::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (relist_thread_.joinable()) relist_thread_.join();
  WatchPtr w;
  {
    std::lock_guard lock(watch_mu_);
    w = std::move(watch_);
  }
  if (w) w->stop();
}

bool Informer::hasSynced() const {
  std::lock_guard lock(mu_);
  return synced_;
}

void Informer::storeLocked(const std::string& key, ObjectPtr obj) {
  auto it = items_.find(key);
  if (it != items_.end()) {
    for (const auto& [name, fn] : index_funcs_) {
      for (const auto& v : fn(*it->second)) indexes_[name][v].erase(key);
    }
  }
  for (const auto& [name, fn] : index_funcs_) {
    for (const auto& v : fn(*obj)) indexes_[name][v].insert(key);
  }
  items_[key] = std::move(obj);
}

void Informer::eraseLocked(const std::string& key) {
  auto it = items_.find(key);
  if (it == items_.end()) return;
  for (const auto& [name, fn] : index_funcs_) {
    for (const auto& v : fn(*it->second)) {
      auto& bucket = indexes_[name][v];
      bucket.erase(key);
      if (bucket.empty()) indexes_[name].erase(v);
    }
  }
  items_.erase(it);
}

void Informer::dispatchAdd(const json& obj) {
  for (const auto& h : handlers_) {
    if (h.on_add) h.on_add(obj);
  }
}
void Informer::dispatchUpdate(const json& old_obj, const json& new_obj) {
  for (const auto& h : handlers_) {
    if (h.on_update) h.on_update(old_obj, new_obj);
  }
}
void Informer::dispatchDelete(const json& obj) {
  for (const auto& h : handlers_) {
    if (h.on_delete) h.on_delete(obj);
  }
}

Result<void> Informer::relist() {
  {
    WatchPtr old;
    {
      std::lock_guard lock(watch_mu_);
      old = std::move(watch_);
    }
    if (old) old->stop();
  }
  ListOptions opts = selectors_;
  opts.resource_version.clear();
  SKIFF_ASSIGN_OR_RETURN(ObjectList fresh, client_.list(resource_, ns_, opts));
  if (transform_) {
    for (auto& obj : fresh.items) transform_(obj);
  }
  // The listed objects move into the cache; the handlers get the cached objects, old and new,
  // through shared pointers (a relist of 10k pods used to make two more copies of each).
  std::vector<ObjectPtr> added;
  std::vector<std::pair<ObjectPtr, ObjectPtr>> updated;
  std::vector<ObjectPtr> deleted;
  {
    std::lock_guard lock(mu_);
    std::set<std::string> seen;
    for (auto& item : fresh.items) {
      auto obj = std::make_shared<const json>(std::move(item));
      std::string k = meta::key(*obj);
      seen.insert(k);
      auto it = items_.find(k);
      if (it == items_.end()) {
        added.push_back(obj);
      } else if (meta::resourceVersion(*it->second) != meta::resourceVersion(*obj)) {
        updated.emplace_back(it->second, obj);
      }
      storeLocked(k, std::move(obj));
    }
    std::vector<std::string> gone;
    for (const auto& [k, obj] : items_) {
      if (seen.count(k) == 0) {
        deleted.push_back(obj);
        gone.push_back(k);
      }
    }
    for (const auto& k : gone) eraseLocked(k);
    last_rv_ = fresh.resource_version;
    synced_ = true;
    need_relist_ = false;
    ++relists_;
  }
  for (const auto& o : added) dispatchAdd(*o);
  for (const auto& [o, n] : updated) dispatchUpdate(*o, *n);
  for (const auto& o : deleted) dispatchDelete(*o);
  ListOptions wopts = selectors_;
  wopts.resource_version = fresh.resource_version;
  auto w =
      client_.watch(resource_, ns_, wopts, [this](WatchEvent ev) { onWatchEvent(std::move(ev)); });
  if (!w) {
    std::lock_guard lock(mu_);
    need_relist_ = true;
    cv_.notify_all();
    return std::move(w).error();
  }
  std::lock_guard lock(watch_mu_);
  watch_ = std::move(*w);
  return {};
}

void Informer::onWatchEvent(WatchEvent ev) {
  if (ev.type == WatchEventType::Bookmark) {
    std::lock_guard lock(mu_);
    last_rv_ = meta::resourceVersion(ev.object);
    return;
  }
  if (ev.type == WatchEventType::Error) {
    // 410 Gone (or any watch error): the cache may have missed events, so relist.
    std::lock_guard lock(mu_);
    need_relist_ = true;
    cv_.notify_all();
    return;
  }
  // The event's object becomes the cached one without a copy; handlers see it through the
  // pointer. The old object is shared, not copied: the cache replaces its pointer and the
  // object lives on for the handlers.
  if (transform_) transform_(ev.object);
  auto obj = std::make_shared<const json>(std::move(ev.object));
  std::string k = meta::key(*obj);
  ObjectPtr old;
  {
    std::lock_guard lock(mu_);
    auto it = items_.find(k);
    if (it != items_.end()) old = it->second;
    if (ev.type == WatchEventType::Deleted) {
      eraseLocked(k);
    } else {
      storeLocked(k, obj);
    }
    last_rv_ = meta::resourceVersion(*obj);
  }
  if (ev.type == WatchEventType::Deleted) {
    dispatchDelete(old ? *old : *obj);
  } else if (old) {
    dispatchUpdate(*old, *obj);
  } else {
    dispatchAdd(*obj);
  }
}

void Informer::relistLoop() {
  auto lg = log::get("master");
  std::unique_lock lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_ || need_relist_; });
    if (stopping_) break;
    if (!need_relist_) continue;
    lock.unlock();
    auto r = relist();
    if (!r) {
      SKIFF_LOG_WARN(lg, "Relist failed, will retry", log::kv("resource", resource_.resource),
                     log::kv("err", r.error().message()));
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    lock.lock();
  }
}

Result<void> Informer::relistIfNeededForTest() {
  {
    std::lock_guard lock(mu_);
    if (!need_relist_) return {};
  }
  return relist();
}

int Informer::relistCountForTest() const {
  std::lock_guard lock(mu_);
  return relists_;
}

std::optional<json> Informer::get(const std::string& key) const {
  ObjectPtr p = getShared(key);
  if (!p) return std::nullopt;
  return *p;
}

Informer::ObjectPtr Informer::getShared(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = items_.find(key);
  return it == items_.end() ? nullptr : it->second;
}

std::optional<json> Informer::get(const std::string& n, const std::string& name) const {
  return get(meta::key(n, name));
}

std::vector<json> Informer::list() const {
  std::lock_guard lock(mu_);
  std::vector<json> out;
  out.reserve(items_.size());
  for (const auto& [k, v] : items_) out.push_back(*v);
  return out;
}

std::vector<Informer::ObjectPtr> Informer::listShared() const {
  std::lock_guard lock(mu_);
  std::vector<ObjectPtr> out;
  out.reserve(items_.size());
  for (const auto& [k, v] : items_) out.push_back(v);
  return out;
}

std::vector<json> Informer::listNamespace(const std::string& n) const {
  std::lock_guard lock(mu_);
  std::vector<json> out;
  std::string prefix = n + "/";
  for (auto it = items_.lower_bound(prefix);
       it != items_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
    out.push_back(*it->second);
  }
  return out;
}

std::vector<json> Informer::byIndex(const std::string& index, const std::string& value) const {
  std::vector<json> out;
  for (const auto& p : byIndexShared(index, value)) out.push_back(*p);
  return out;
}

std::vector<Informer::ObjectPtr> Informer::byIndexShared(const std::string& index,
                                                         const std::string& value) const {
  std::lock_guard lock(mu_);
  std::vector<ObjectPtr> out;
  auto idx = indexes_.find(index);
  if (idx == indexes_.end()) return out;
  auto bucket = idx->second.find(value);
  if (bucket == idx->second.end()) return out;
  out.reserve(bucket->second.size());
  for (const auto& k : bucket->second) {
    auto it = items_.find(k);
    if (it != items_.end()) out.push_back(it->second);
  }
  return out;
}

std::size_t Informer::size() const {
  std::lock_guard lock(mu_);
  return items_.size();
}

}  // namespace skiff::master
