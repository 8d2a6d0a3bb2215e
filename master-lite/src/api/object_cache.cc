// A kind's stored objects in memory, kept current by a store watch (object_cache.h).
#include "skiff/master/api/object_cache.h"

#include "skiff/master/api/registry.h"

namespace skiff::master::api {

ObjectCache::ObjectCache(Registry& registry, const ResourceInfo& r)
    : registry_(registry), r_(r), prefix_(registry.storageKey(r, "")) {}

ObjectCache::~ObjectCache() { watch_.reset(); }

Result<void> ObjectCache::start() {
  std::lock_guard s(start_mu_);
  if (watch_) return ok();
  store::Store& store = registry_.store();
  // The watch replays every change after the list's revision before it goes live, so the map
  // ends at the store's current state whatever was written in between.
  SKIFF_ASSIGN_OR_RETURN(store::ListResult listed, store.list(prefix_));
  {
    std::lock_guard l(mu_);
    by_key_.clear();
    for (auto& kv : listed.items)
      by_key_[kv.key] = Entry{std::move(kv.value), kv.mod_revision, nullptr};
  }
  SKIFF_ASSIGN_OR_RETURN(
      watch_, store.watch(prefix_, listed.revision, [this](const store::EventPtr& ev) {
        std::lock_guard l(mu_);
        if (ev->type == store::EventType::Delete)
          by_key_.erase(ev->kv.key);
        else
          by_key_[ev->kv.key] = Entry{ev->kv.value, ev->kv.mod_revision, nullptr};
      }));
  return ok();
}

Result<std::vector<ObjectCache::ObjectPtr>> ObjectCache::list(const std::string& ns) {
  SKIFF_TRY(start());
  // A namespace's keys are "<prefix><ns>/<name>".
  std::string from = ns.empty() || !r_.namespaced ? prefix_ : prefix_ + ns + "/";
  std::vector<ObjectPtr> out;
  std::lock_guard l(mu_);
  for (auto it = by_key_.lower_bound(from);
       it != by_key_.end() && it->first.compare(0, from.size(), from) == 0; ++it) {
    Entry& e = it->second;
    if (!e.decoded) {
      SKIFF_ASSIGN_OR_RETURN(json obj, registry_.decodeStored(r_, e.value, e.mod_revision));
      e.decoded = std::make_shared<const json>(std::move(obj));
    }
    out.push_back(e.decoded);
  }
  return out;
}

}  // namespace skiff::master::api
