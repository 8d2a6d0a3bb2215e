// The ResourceQuota and LimitRanger admission plugins (admission/quota.h).
#include <chrono>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string_view>

#include "skiff/master/admission/quota.h"
#include "skiff/master/api/object_cache.h"
#include "skiff/master/api/object_util.h"
#include "skiff/master/quota/limit_range.h"
#include "skiff/master/quota/quota.h"

namespace skiff::master::admission {
namespace {

using json = nlohmann::json;

Error forbidden(const api::AdmissionAttributes& a, const std::string& why) {
  return Error(ErrorCode::Forbidden,
               a.resource->qualifiedResource() + " \"" + a.name + "\" is forbidden: " + why);
}

bool isCore(const api::AdmissionAttributes& a, const char* resource) {
  return a.resource->group.empty() && a.resource->resource == resource && a.subresource.empty();
}

class LimitRanger : public api::AdmissionPlugin {
 public:
  explicit LimitRanger(api::Registry& registry)
      : ranges_(registry, *api::findResource("", "v1", "limitranges")) {}

  // Defaults and limits apply to new pods and claims only.
  bool handles(api::AdmissionAttributes::Operation op) const override {
    return op == api::AdmissionAttributes::Operation::Create;
  }

  Result<void> admit(const api::AdmissionAttributes& a, json& obj, api::AdmissionNotes&) override {
    if (a.operation != api::AdmissionAttributes::Operation::Create || !isCore(a, "pods")) return {};
    SKIFF_ASSIGN_OR_RETURN(auto ranges, ranges_.list(a.ns));
    for (const auto& lr : ranges) quota::applyContainerDefaults(*lr, obj);
    return {};
  }

  Result<void> validate(const api::AdmissionAttributes& a, api::AdmissionNotes&) override {
    if (a.operation != api::AdmissionAttributes::Operation::Create) return {};
    bool pod = isCore(a, "pods");
    if (!pod && !isCore(a, "persistentvolumeclaims")) return {};
    SKIFF_ASSIGN_OR_RETURN(auto ranges, ranges_.list(a.ns));
    std::vector<std::string> errs;
    for (const auto& lr : ranges) {
      auto e = pod ? quota::validatePod(*lr, *a.object) : quota::validatePvc(*lr, *a.object);
      if (!e.empty()) errs.push_back(quota::aggregate(e));
    }
    if (errs.empty()) return {};
    return forbidden(a, quota::aggregate(errs));
  }

 private:
  // Every pod create reads its namespace's LimitRanges twice (defaults, then validation).
  api::ObjectCache ranges_;
};

constexpr std::string_view kUsedKey = "\"used\":";

// What a charge leaves as it was, shared by a decoded quota and the charges this server made on
// it since (a charge changes status.used and nothing else): the object as decoded, with what
// every check reads parsed once, so that a quota is decoded and parsed once per outside change,
// not once per request, and a charge copies none of it.
struct QuotaShape {
  json object;  // as decoded; its status.used and resourceVersion are the decoded revision's
  std::string name;
  quota::ResourceList hard;            // status.hard
  std::vector<std::string> resources;  // the names in status.hard

  // quota::matchingResources of `resources` for group/resource, worked out once per kind.
  const std::vector<std::string>& matching(const std::string& group,
                                           const std::string& resource) const {
    std::lock_guard l(mu);
    auto [it, added] = matched.try_emplace(group + "/" + resource);
    if (added) it->second = quota::matchingResources(group, resource, resources);
    return it->second;
  }

 private:
  mutable std::mutex mu;
  // Never erased from: a returned list stays valid as long as the shape.
  mutable std::map<std::string, std::vector<std::string>> matched;
};

// A stored ResourceQuota at one revision: its shape and its status.used.
struct CachedQuota {
  std::shared_ptr<const QuotaShape> shape;
  // The revision this is stored at; a charge not committed yet has the revision it was checked
  // against (its resourceVersion precondition).
  std::int64_t revision = 0;
  quota::ResourceList used;  // status.used
  std::string used_text;     // status.used's JSON as stored (empty when the quota has none)
  // The stored text, with where status.used's value is in it: a charge changes nothing else,
  // so its text is this one with the new value spliced in, not the whole quota serialised
  // again. Empty when status.used's JSON is not found exactly once in the text.
  std::string stored;
  std::size_t used_at = 0, used_len = 0;

  // The whole quota as the registry would read it (metadata.resourceVersion set).
  json object() const {
    json o = shape->object;
    if (!used_text.empty()) o["status"]["used"] = json::parse(used_text);
    o["metadata"]["resourceVersion"] = std::to_string(revision);
    return o;
  }

  // Finds status.used's value in `text`, the stored text of this quota.
  void locateUsed(std::string text) {
    if (used_text.empty()) return;
    std::string needle = std::string(kUsedKey) + used_text;
    auto at = text.find(needle);
    if (at == std::string::npos || text.find(needle, at + 1) != std::string::npos) return;
    used_at = at + kUsedKey.size();
    used_len = needle.size() - kUsedKey.size();
    stored = std::move(text);
  }

  // The stored text with status.used = into.used_text, into `into` (with where the value is in
  // it); nothing when this quota's text is not known.
  void withUsed(CachedQuota& into) const {
    if (stored.empty()) return;
    const std::string& value = into.used_text;
    into.stored.reserve(stored.size() - used_len + value.size());
    into.stored.assign(stored, 0, used_at);
    into.stored += value;
    into.stored.append(stored, used_at + used_len);
    into.used_at = used_at;
    into.used_len = value.size();
  }
};
using Quotas = std::vector<std::shared_ptr<const CachedQuota>>;

// Null when the value is not an object.
std::shared_ptr<const CachedQuota> decodeQuota(const std::string& value,
                                               std::int64_t mod_revision) {
  json q = json::parse(value, nullptr, false);
  if (!q.is_object()) return nullptr;
  auto shape = std::make_shared<QuotaShape>();
  q["metadata"]["resourceVersion"] = std::to_string(mod_revision);
  shape->name = q["metadata"].value("name", "");
  shape->hard = quota::parseList(api::at(q, {"status", "hard"}));
  shape->resources = quota::names(shape->hard);
  auto c = std::make_shared<CachedQuota>();
  c->revision = mod_revision;
  const json& used = api::at(q, {"status", "used"});
  c->used = quota::parseList(used);
  if (used.is_object()) c->used_text = used.dump();
  shape->object = std::move(q);
  c->shape = std::move(shape);
  c->locateUsed(value);
  return c;
}

// A charge: the quota it was checked against, and the quota with the new status.used (and its
// stored text when it could be spliced; its revision is set once it is committed).
struct Charged {
  const CachedQuota* from;
  std::shared_ptr<CachedQuota> next;
};

// Every namespace's ResourceQuotas in memory (quota.h): the stored values by namespace and
// name, listed on first use and then kept current by a store watch whose handler runs inside
// each committed write (before the write returns, also on etcd), so a lookup sees every quota
// change that finished before it. A value is decoded once, by the first lookup after it changed.
class QuotaCache {
 public:
  // `prefix`: every ResourceQuota's key prefix ("<root>/resourcequotas/").
  explicit QuotaCache(std::string prefix) : prefix_(std::move(prefix)) {}

  // The quota this server just stored (a charge, committed at next->revision): kept as the
  // entry's decoded value unless the entry has moved on since.
  void keep(const std::string& ns, const std::shared_ptr<CachedQuota>& next) {
    std::lock_guard l(mu_);
    Entry* e = find(ns, next->shape->name);
    if (!e || e->mod_revision != next->revision || e->decoded) return;
    if (next->stored.empty()) next->locateUsed(*e->value);
    e->decoded = next;
  }

  Result<Quotas> get(store::Store& store, const std::string& ns) {
    SKIFF_TRY(start(store));
    Quotas out;
    std::lock_guard l(mu_);
    auto it = by_ns_.find(ns);
    if (it == by_ns_.end()) return out;
    for (auto& [name, e] : it->second) {
      if (!e.decoded) e.decoded = decodeQuota(*e.value, e.mod_revision);
      if (e.decoded) out.push_back(e.decoded);
    }
    return out;
  }

 private:
  struct Entry {
    // The stored text: the watch event's own, not a copy.
    std::shared_ptr<const std::string> value;
    std::int64_t mod_revision = 0;
    std::shared_ptr<const CachedQuota> decoded;  // null until a lookup needs it
  };

  Entry* find(const std::string& ns, const std::string& name) {
    auto it = by_ns_.find(ns);
    if (it == by_ns_.end()) return nullptr;
    auto e = it->second.find(name);
    return e == it->second.end() ? nullptr : &e->second;
  }

  Result<void> start(store::Store& store) {
    std::lock_guard s(start_mu_);
    if (watch_) return ok();
    // The watch replays every change after the list's revision before it goes live, so the map
    // ends at the store's current state whatever was written in between.
    SKIFF_ASSIGN_OR_RETURN(store::ListResult listed, store.list(prefix_));
    {
      std::lock_guard l(mu_);
      by_ns_.clear();
      for (auto& kv : listed.items) {
        put(kv.key, std::make_shared<const std::string>(std::move(kv.value)), kv.mod_revision);
      }
    }
    SKIFF_ASSIGN_OR_RETURN(
        watch_, store.watch(prefix_, listed.revision, [this](const store::EventPtr& ev) {
          std::lock_guard l(mu_);
          if (ev->type == store::EventType::Delete) {
            erase(ev->kv.key);
          } else {
            put(ev->kv.key, std::shared_ptr<const std::string>(ev, &ev->kv.value),
                ev->kv.mod_revision);
          }
        }));
    return ok();
  }

  // "<prefix><ns>/<name>" -> {ns, name}; false for any other key.
  bool split(const std::string& key, std::string& ns, std::string& name) const {
    if (key.compare(0, prefix_.size(), prefix_) != 0) return false;
    auto slash = key.find('/', prefix_.size());
    if (slash == std::string::npos) return false;
    ns = key.substr(prefix_.size(), slash - prefix_.size());
    name = key.substr(slash + 1);
    return true;
  }

  void put(const std::string& key, std::shared_ptr<const std::string> value,
           std::int64_t mod_revision) {
    std::string ns, name;
    if (!split(key, ns, name)) return;
    by_ns_[ns][name] = Entry{std::move(value), mod_revision, nullptr};
  }

  void erase(const std::string& key) {
    std::string ns, name;
    if (!split(key, ns, name)) return;
    auto it = by_ns_.find(ns);
    if (it == by_ns_.end()) return;
    it->second.erase(name);
    if (it->second.empty()) by_ns_.erase(it);
  }

  const std::string prefix_;
  std::mutex start_mu_;
  std::mutex mu_;
  std::map<std::string, std::map<std::string, Entry>> by_ns_;
  store::WatchPtr watch_;  // last member: stopped before the map goes
};

// How many times one request's charge is tried again after the quota changed under it.
constexpr int kMaxQuotaRetries = 10;

class ResourceQuotaAdmission : public api::AdmissionPlugin {
 public:
  ResourceQuotaAdmission(api::Registry& registry, const ResourceQuotaOptions& options)
      : registry_(registry),
        options_(options),
        quotas_(api::findResource("", "v1", "resourcequotas")),
        cache_(quotas_ ? registry.storageKey(*quotas_, "") : std::string()) {}

  Result<void> validate(const api::AdmissionAttributes& a, api::AdmissionNotes&) override {
    if (!quotas_ || !a.subresource.empty() || !a.resource->namespaced || a.ns.empty() ||
        a.operation == api::AdmissionAttributes::Operation::Delete)
      return {};
    const std::string& group = a.resource->group;
    const std::string& resource = a.resource->resource;
    bool update = a.operation == api::AdmissionAttributes::Operation::Update;
    if (update && !quota::handlesUpdate(group, resource)) return {};
    // One request of a namespace at a time, from the check until its charge is stored (for a
    // create: until the registry committed the object with it).
    std::unique_lock<std::mutex> lock(lockFor(a.ns));
    // After a conflict the quotas are read from the store, not from memory.
    bool live = a.retry > 0;
    for (int attempt = a.retry;; ++attempt) {
      if (attempt >= kMaxQuotaRetries)
        return Error(ErrorCode::Unavailable, "resource quota evaluation timed out");
      SKIFF_ASSIGN_OR_RETURN(Quotas all, live ? liveQuotas(a.ns) : quotasOf(a.ns));
      if (all.empty()) return {};
      std::vector<Charged> charged;
      if (auto checked = check(a, all, charged); !checked) {
        if (live) return checked;
        // Memory may trail another server's write: a refusal is confirmed against the store.
        live = true;
        continue;
      }
      if (a.dry_run || charged.empty()) return {};
      if (a.writes) {
        for (auto& c : charged) {
          // Committed: the charged quota, parsed already, becomes the cache's.
          auto committed = [this, ns = a.ns, next = c.next](std::int64_t revision, const json&) {
            next->revision = revision;
            cache_.keep(ns, next);
          };
          // With its stored text spliced the registry needs only the quota's name (the key);
          // else the whole quota, which it serialises.
          json object = c.next->stored.empty()
                            ? c.next->object()
                            : json{{"metadata", {{"name", c.from->shape->name}}}};
          a.writes->writes.push_back(api::AdmissionWrite{quotas_, a.ns, std::move(object),
                                                         c.from->revision, std::move(committed),
                                                         c.next->stored});
        }
        a.writes->holds.push_back(std::make_shared<std::unique_lock<std::mutex>>(std::move(lock)));
        return {};
      }
      bool conflict = false;
      for (auto& c : charged) {
        api::WriteOptions wo;
        auto w =
            registry_.update(*quotas_, a.ns, c.from->shape->name, c.next->object(), wo, "status");
        if (!w && (w.error().is(ErrorCode::Conflict) || w.error().is(ErrorCode::NotFound))) {
          conflict = true;
          break;
        }
        if (!w) return std::move(w).error();
      }
      if (!conflict) return {};
      live = true;
    }
  }

 private:
  // The namespace's quotas from memory; when memory has none, upstream's live lookup, its
  // answer reused for live_ttl.
  Result<Quotas> quotasOf(const std::string& ns) {
    SKIFF_ASSIGN_OR_RETURN(Quotas cached, cache_.get(registry_.store(), ns));
    if (!cached.empty()) return cached;
    auto now = std::chrono::steady_clock::now();
    {
      std::lock_guard l(mu_);
      auto it = live_.find(ns);
      if (it != live_.end() && now < it->second.expiry) return it->second.quotas;
    }
    SKIFF_ASSIGN_OR_RETURN(Quotas fresh, liveQuotas(ns));
    std::lock_guard l(mu_);
    if (live_.size() >= 1000) live_.clear();  // upstream keeps an LRU of 100
    live_[ns] = LiveEntry{now + options_.live_ttl, fresh};
    return fresh;
  }

  Result<Quotas> liveQuotas(const std::string& ns) {
    SKIFF_ASSIGN_OR_RETURN(store::ListResult listed,
                           registry_.store().list(registry_.storageKey(*quotas_, ns)));
    Quotas out;
    for (const auto& kv : listed.items) {
      if (auto q = decodeQuota(kv.value, kv.mod_revision)) out.push_back(std::move(q));
    }
    return out;
  }

  // Upstream's CheckRequest: constraints and usage stats of every matching quota; then, when
  // one matches, the request's usage (never negative; an update charges what it adds: a
  // Service turned NodePort, a claim grown) and its charge to each; `charged` gets the quotas
  // with their new status.used (`all` outlives them).
  Result<void> check(const api::AdmissionAttributes& a, const Quotas& all,
                     std::vector<Charged>& charged) {
    const std::string& group = a.resource->group;
    const std::string& resource = a.resource->resource;
    std::vector<const CachedQuota*> interesting;
    for (const auto& qp : all) {
      const CachedQuota& q = *qp;
      const QuotaShape& shape = *q.shape;
      const std::vector<std::string>& restricted = shape.matching(group, resource);
      if (restricted.empty() || !quota::matchesScopes(shape.object, resource, *a.object)) continue;
      if (group.empty() && resource == "pods") {
        std::string c = quota::podConstraints(*a.object, restricted);
        if (!c.empty()) return forbidden(a, "failed quota: " + shape.name + ": " + c);
      }
      std::string missing;
      for (const auto& n : restricted) {
        if (!q.used.count(n)) missing += (missing.empty() ? "" : ",") + n;
      }
      if (!missing.empty()) {
        std::string all_names;
        for (const auto& n : restricted) all_names += (all_names.empty() ? "" : ",") + n;
        return forbidden(a,
                         "status unknown for quota: " + shape.name + ", resources: " + all_names);
      }
      interesting.push_back(&q);
    }
    if (interesting.empty()) return {};
    quota::ResourceList usage = quota::usageOf(group, resource, *a.object);
    auto negative = quota::negative(usage);
    if (!negative.empty()) {
      std::string names;
      for (const auto& n : negative) names += (names.empty() ? "" : ",") + n;
      return forbidden(a, "quota usage is negative for resource(s): " + names);
    }
    if (a.operation == api::AdmissionAttributes::Operation::Update && !a.old_object) {
      return forbidden(a,
                       "unable to get previous usage since prior version of object was not found");
    }
    quota::ResourceList delta =
        quota::requestDelta(group, resource, std::move(usage), a.old_object);
    if (quota::isZero(delta)) return {};
    for (const CachedQuota* q : interesting) {
      quota::Charge ch = quota::charge(q->shape->name, q->shape->hard, q->used, delta);
      if (!ch.error.empty()) return forbidden(a, ch.error);
      // Upstream's quota.Equals: nothing to write when the usage is numerically the same.
      if (ch.used == q->used) continue;
      auto next = std::make_shared<CachedQuota>();
      next->shape = q->shape;
      next->revision = q->revision;
      next->used = std::move(ch.used);
      next->used_text = quota::toJsonText(next->used);
      q->withUsed(*next);
      charged.push_back(Charged{q, std::move(next)});
    }
    return {};
  }

  std::mutex& lockFor(const std::string& ns) {
    std::lock_guard<std::mutex> lock(mu_);
    return locks_[ns];
  }

  struct LiveEntry {
    std::chrono::steady_clock::time_point expiry;
    Quotas quotas;
  };

  api::Registry& registry_;
  const ResourceQuotaOptions options_;
  const api::ResourceInfo* quotas_;
  QuotaCache cache_;
  std::mutex mu_;
  std::map<std::string, std::mutex> locks_;
  std::map<std::string, LiveEntry> live_;
};

}  // namespace

std::shared_ptr<api::AdmissionPlugin> newLimitRanger(api::Registry& registry) {
  return std::make_shared<LimitRanger>(registry);
}

std::shared_ptr<api::AdmissionPlugin> newResourceQuotaAdmission(
    api::Registry& registry, const ResourceQuotaOptions& options) {
  return std::make_shared<ResourceQuotaAdmission>(registry, options);
}

}  // namespace skiff::master::admission
