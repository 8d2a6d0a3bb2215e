// Garbage collector (pkg/controller/garbagecollector), level-triggered: a dependent whose
// owners are all gone is deleted (background propagation); dangling references are dropped
// when other owners remain; an owner deleted with propagationPolicy=Foreground keeps its
// `foregroundDeletion` finalizer until no dependent with blockOwnerDeletion remains, its
// dependents being deleted first; with Orphan its dependents lose their ownerReference and the
// `orphan` finalizer is removed.
//
// Keys: "D|<group>/<resource>|<ns>/<name>" for a dependent to check, "O|..." for an owner
// whose deletion waits on the collector.

#include "skiff/common/log.h"
#include "skiff/master/controllers/controllers.h"
#include "skiff/master/informer/meta.h"
#include "skiff/master/volume/volume.h"
#include "util.h"

namespace skiff::master {

namespace {

// Resources whose objects carry ownerReferences that the collector follows.
const GroupVersionResource* const kDependents[] = {
    &gvr::kPods,
    &gvr::kReplicaSets,
    &gvr::kControllerRevisions,
    &gvr::kEndpointSlices,
    &gvr::kJobs,
    &gvr::kDeployments,
    // Claims of generic ephemeral volumes (owned by their pod) and of StatefulSets whose
    // retention policy deletes them with the set.
    &volume::kPersistentVolumeClaims,
};
// Owners whose foreground/orphan deletion the collector finishes.
const GroupVersionResource* const kOwners[] = {
    &gvr::kDeployments,
    &gvr::kReplicaSets,
    &gvr::kDaemonSets,
    &gvr::kStatefulSets,
    &gvr::kJobs,
    &gvr::kCronJobs,
    &gvr::kReplicationControllers,
    &gvr::kServices,
    &gvr::kPods,
};

std::string resKey(const GroupVersionResource& r) { return r.group + "/" + r.resource; }

const GroupVersionResource* resourceByKey(const std::string& k) {
  for (const auto* r : kDependents) {
    if (resKey(*r) == k) return r;
  }
  for (const auto* r : kOwners) {
    if (resKey(*r) == k) return r;
  }
  return nullptr;
}

class GarbageCollector : public Controller {
 public:
  GarbageCollector(ApiClient& client, std::shared_ptr<Clock> clock)
      : Controller("garbagecollector", std::move(clock)), client_(client) {}

  void registerHandlers(SharedInformers& inf) override {
    for (const auto* r : kDependents) {
      Informer* informer = &inf.get(*r);
      dependents_.emplace_back(r, informer);
      auto check = [this, r](const json& o) {
        const json& refs = meta::at(o, {"metadata", "ownerReferences"});
        if (refs.is_array() && !refs.empty()) queue().add(depKey(*r, o));
      };
      informer->addEventHandlers({
          .on_add = check,
          // Only a change of its owners concerns the collector (upstream's graph builder acts on
          // reference diffs): a pod's status updates are most of the traffic.
          .on_update =
              [check](const json& o, const json& n) {
                if (meta::at(o, {"metadata", "ownerReferences"}) !=
                    meta::at(n, {"metadata", "ownerReferences"})) {
                  check(n);
                }
              },
          // An owner in foreground deletion may be waiting for exactly this dependent.
          .on_delete =
              [this](const json& o) {
                const json& refs = meta::at(o, {"metadata", "ownerReferences"});
                if (!refs.is_array()) return;
                for (const auto& ref : refs) {
                  auto r = ctl::gvrForKind(ref.value("apiVersion", ""), ref.value("kind", ""));
                  if (r)
                    queue().add("O|" + resKey(*r) + "|" +
                                meta::key(meta::ns(o), ref.value("name", "")));
                }
              },
      });
    }
    for (const auto* r : kOwners) {
      owners_.emplace_back(r, &inf.get(*r));
      inf.get(*r).addEventHandlers({
          .on_add = [this, r](const json& o) { ownerChanged(*r, o); },
          .on_update = [this, r](const json&, const json& n) { ownerChanged(*r, n); },
          .on_delete = [this](const json& o) { enqueueDependents(meta::uid(o)); },
      });
    }
  }

  Result<void> sync(const std::string& key) override {
    auto first = key.find('|');
    auto second = key.find('|', first + 1);
    if (first == std::string::npos || second == std::string::npos) return {};
    const GroupVersionResource* r = resourceByKey(key.substr(first + 1, second - first - 1));
    if (r == nullptr) return {};
    std::string ns, name;
    meta::splitKey(key.substr(second + 1), &ns, &name);
    if (key[0] == 'D') {
      // From the caches when they show every owner alive: nothing to do then, and no reads.
      // They may lag the API only towards "still there"; an owner's deletion event queues
      // its dependents again, and anything else is checked against the API below.
      const Informer* dependents = informerFor(*r);
      Informer::ObjectPtr cached =
          dependents ? dependents->getShared(meta::key(ns, name)) : nullptr;
      if (cached && ownersCachedAndAlive(*cached)) return {};
    }
    auto got = client_.get(*r, ns, name);
    if (!got) {
      if (got.error().is(ErrorCode::NotFound)) return {};
      return std::move(got).error();
    }
    if (key[0] == 'O') return processOwner(*r, *got);
    return processDependent(*r, *got);
  }

 private:
  static std::string depKey(const GroupVersionResource& r, const json& o) {
    return "D|" + resKey(r) + "|" + meta::key(o);
  }

  void ownerChanged(const GroupVersionResource& r, const json& o) {
    if (!meta::isDeleting(o)) return;
    if (meta::hasFinalizer(o, "foregroundDeletion") || meta::hasFinalizer(o, "orphan")) {
      queue().add("O|" + resKey(r) + "|" + meta::key(o));
      enqueueDependents(meta::uid(o));
    }
  }

  void enqueueDependents(const std::string& uid) {
    for (const auto& [r, informer] : dependents_) {
      for (const auto& d : informer->byIndex(SharedInformers::kByOwner, uid)) {
        queue().add(depKey(*r, d));
      }
    }
  }

  // Whether a cached dependent of `uid` is being deleted in the foreground.
  bool hasForegroundDependent(const std::string& uid) const {
    for (const auto& [r, informer] : dependents_) {
      (void)r;
      for (const auto& d : informer->byIndex(SharedInformers::kByOwner, uid)) {
        if (meta::isDeleting(d) && meta::hasFinalizer(d, "foregroundDeletion")) return true;
      }
    }
    return false;
  }

  const Informer* informerFor(const GroupVersionResource& r) const {
    for (const auto* list : {&owners_, &dependents_}) {
      for (const auto& [res, informer] : *list) {
        if (*res == r) return informer;
      }
    }
    return nullptr;
  }

  // Where an owner of a dependent in `ns` lives: the same namespace, or none for the
  // cluster-scoped kinds an ownerReference can name.
  static std::string ownerNamespace(const GroupVersionResource& r, const std::string& ns) {
    return r == gvr::kNodes || r == gvr::kNamespaces ? "" : ns;
  }

  // Every owner `obj` names is cached with the same uid and is not being deleted.
  bool ownersCachedAndAlive(const json& obj) const {
    const json& refs = meta::at(obj, {"metadata", "ownerReferences"});
    if (!refs.is_array() || refs.empty()) return false;
    for (const auto& ref : refs) {
      auto r = ctl::gvrForKind(ref.value("apiVersion", ""), ref.value("kind", ""));
      const Informer* informer = r ? informerFor(*r) : nullptr;
      if (informer == nullptr) return false;
      auto owner =
          informer->getShared(meta::key(ownerNamespace(*r, meta::ns(obj)), ref.value("name", "")));
      if (!owner || meta::uid(*owner) != ref.value("uid", "") || meta::isDeleting(*owner))
        return false;
    }
    return true;
  }

  // Looks an owner up by reference: present only if the uid matches.
  Result<std::optional<json>> resolveOwner(const json& ref, const std::string& ns) {
    auto r = ctl::gvrForKind(ref.value("apiVersion", ""), ref.value("kind", ""));
    if (!r) return std::optional<json>(json::object());  // unknown kind: assume it exists
    auto got = client_.get(*r, ownerNamespace(*r, ns), ref.value("name", ""));
    if (!got) {
      if (got.error().is(ErrorCode::NotFound)) return std::optional<json>();
      return std::move(got).error();
    }
    if (meta::uid(*got) != ref.value("uid", "")) return std::optional<json>();
    return std::optional<json>(*got);
  }

  // attemptToDeleteItem: owners are solid (alive, not waiting), waiting (being deleted in the
  // foreground) or dangling (gone). With a solid owner the dependent stays and only the other
  // references go (the waiting owner must not wait for it); with none it is deleted, in the
  // foreground when an owner waits for it.
  Result<void> processDependent(const GroupVersionResource& r, const json& obj) {
    const json& refs = meta::at(obj, {"metadata", "ownerReferences"});
    if (!refs.is_array() || refs.empty()) return {};
    json solid = json::array(), alive = json::array();
    for (const auto& ref : refs) {
      SKIFF_ASSIGN_OR_RETURN(std::optional<json> owner, resolveOwner(ref, meta::ns(obj)));
      if (!owner) continue;
      alive.push_back(ref);
      if (!(meta::isDeleting(*owner) && meta::hasFinalizer(*owner, "foregroundDeletion")))
        solid.push_back(ref);
    }
    bool waiting_foreground = alive.size() != solid.size();
    auto lg = log::get("master");
    if (alive.empty()) {
      if (meta::isDeleting(obj)) return {};
      SKIFF_LOG_DEBUG(lg, "Deleting object whose owners are gone",
                      log::kv("object", meta::key(obj)), log::kv("resource", r.resource));
      DeleteOptions d;
      d.propagation_policy = "Background";
      d.precondition_uid = meta::uid(obj);
      auto res = client_.remove(r, meta::ns(obj), meta::name(obj), d);
      if (!res && !res.error().is(ErrorCode::NotFound) && !res.error().is(ErrorCode::Conflict)) {
        return std::move(res).error();
      }
      return {};
    }
    json keep = solid.empty() ? alive : solid;
    if (solid.empty() && waiting_foreground && hasForegroundDependent(meta::uid(obj))) {
      // A cycle (upstream's detection): a dependent of this object waits for its own
      // dependents, so this object stops blocking its owners before it is deleted; else every
      // object of the circle waits for the next.
      for (auto& ref : keep) ref["blockOwnerDeletion"] = false;
    }
    if (keep != refs) {
      json patch = {{"metadata",
                     {{"ownerReferences", keep}, {"resourceVersion", meta::resourceVersion(obj)}}}};
      auto res = client_.patch(r, meta::ns(obj), meta::name(obj), PatchType::Merge, patch);
      if (!res && !res.error().is(ErrorCode::NotFound)) return std::move(res).error();
    }
    if (solid.empty() && waiting_foreground && !meta::isDeleting(obj)) {
      // Every live owner waits for its dependents: delete this one, itself in the foreground
      // when it has dependents of its own.
      DeleteOptions d;
      d.propagation_policy = "Foreground";
      d.precondition_uid = meta::uid(obj);
      SKIFF_TRY(ctl::ignoreNotFound(client_.remove(r, meta::ns(obj), meta::name(obj), d)));
    }
    return {};
  }

  // The owner's dependents come from the informers' by-owner index, as upstream's graph
  // holds them, not from a list of every dependent kind on each sync. The cache may lag the
  // API: each write to a dependent names the cached resourceVersion, so a stale copy is
  // refused (Conflict) instead of overwriting or deleting what changed since, and the owner is
  // synced again a moment later, its finalizer still on.
  Result<void> processOwner(const GroupVersionResource& r, const json& owner) {
    if (!meta::isDeleting(owner)) return {};
    std::string uid = meta::uid(owner);
    std::string ns = meta::ns(owner);
    bool orphan = meta::hasFinalizer(owner, "orphan");
    bool foreground = meta::hasFinalizer(owner, "foregroundDeletion");
    std::size_t blocking = 0;
    bool stale = false;
    // NotFound: the dependent is gone; Conflict: the cached copy is stale.
    auto settled = [&stale](const auto& res) -> Result<void> {
      if (res || res.error().is(ErrorCode::NotFound)) return {};
      if (!res.error().is(ErrorCode::Conflict)) return res.error();
      stale = true;
      return {};
    };
    for (const auto& [dr, informer] : dependents_) {
      for (const auto& cached : informer->byIndexShared(SharedInformers::kByOwner, uid)) {
        const json& o = *cached;
        // A namespaced owner's dependents live in its namespace.
        if (!ns.empty() && meta::ns(o) != ns) continue;
        const json& refs = meta::at(o, {"metadata", "ownerReferences"});
        if (!refs.is_array()) continue;
        json kept = json::array();
        bool mine = false, blocks = false;
        for (const auto& ref : refs) {
          if (ref.value("uid", "") == uid) {
            mine = true;
            blocks = ref.value("blockOwnerDeletion", false);
          } else {
            kept.push_back(ref);
          }
        }
        if (!mine) continue;
        if (orphan) {
          json patch = {
              {"metadata",
               {{"ownerReferences", kept}, {"resourceVersion", meta::resourceVersion(o)}}}};
          SKIFF_TRY(
              settled(client_.patch(*dr, meta::ns(o), meta::name(o), PatchType::Merge, patch)));
          continue;
        }
        if (foreground) {
          if (blocks) ++blocking;
          if (!kept.empty()) {
            // Other owners too: processDependent decides (a solid one keeps it and drops this
            // reference), as upstream sends every dependent through attemptToDeleteItem.
            queue().add(depKey(*dr, o));
          } else if (!meta::isDeleting(o)) {
            DeleteOptions d;
            d.propagation_policy = "Foreground";
            d.precondition_uid = meta::uid(o);
            d.precondition_resource_version = meta::resourceVersion(o);
            SKIFF_TRY(settled(client_.remove(*dr, meta::ns(o), meta::name(o), d)));
          }
        }
      }
    }
    if (stale || (foreground && blocking > 0)) {
      queue().addAfter("O|" + resKey(r) + "|" + meta::key(owner), std::chrono::seconds(1));
      return {};
    }
    json next = owner;
    json fins = json::array();
    for (const auto& f : meta::at(owner, {"metadata", "finalizers"})) {
      if (f != "orphan" && f != "foregroundDeletion") fins.push_back(f);
    }
    next["metadata"]["finalizers"] = fins;
    return ctl::ignoreNotFound(client_.update(r, ns, next));
  }

  ApiClient& client_;
  std::vector<std::pair<const GroupVersionResource*, Informer*>> dependents_;
  std::vector<std::pair<const GroupVersionResource*, Informer*>> owners_;
};

}  // namespace

const ControllerFactory newGarbageCollector = makeController<GarbageCollector>;

}  // namespace skiff::master
