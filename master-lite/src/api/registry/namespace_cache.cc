// The namespaces the lifecycle admission checks on every namespaced create, kept in memory.
#include "registry_internal.h"
#include "skiff/master/api/object_util.h"

namespace skiff::master::api {

namespace {
bool beingDeleted(const std::string& stored) {
  json ns = json::parse(stored, nullptr, false);
  const json& ts = at(ns, {"metadata", "deletionTimestamp"});
  return (ts.is_string() && !ts.get<std::string>().empty()) ||
         str(ns, {"status", "phase"}) == "Terminating";
}
}  // namespace

Result<NamespaceCache::State> NamespaceCache::lookup(store::Store& store, const std::string& prefix,
                                                     const std::string& name) {
  SKIFF_TRY(start(store, prefix));
  std::lock_guard l(mu_);
  auto it = terminating_.find(name);
  if (it == terminating_.end()) return State::Missing;
  return it->second ? State::Terminating : State::Active;
}

Result<void> NamespaceCache::start(store::Store& store, const std::string& prefix) {
  std::lock_guard s(start_mu_);
  if (watch_) return ok();
  // The watch replays every change after the list's revision before it goes live, so the map
  // ends at the store's current state whatever was written in between.
  SKIFF_ASSIGN_OR_RETURN(store::ListResult listed, store.list(prefix));
  {
    std::lock_guard l(mu_);
    terminating_.clear();
    for (const auto& kv : listed.items)
      terminating_[kv.key.substr(prefix.size())] = beingDeleted(kv.value);
  }
  SKIFF_ASSIGN_OR_RETURN(
      watch_, store.watch(prefix, listed.revision, [this, prefix](const store::EventPtr& ev) {
        std::string name = ev->kv.key.substr(prefix.size());
        bool deleted = ev->type == store::EventType::Delete;
        bool terminating = !deleted && beingDeleted(ev->kv.value);
        std::lock_guard l(mu_);
        if (deleted) {
          terminating_.erase(name);
        } else {
          terminating_[name] = terminating;
        }
      }));
  return ok();
}

}  // namespace skiff::master::api
