// The resource quota controller (pkg/controller/resourcequota): status.hard is spec.hard and
// status.used is recomputed from the namespace's objects, on every quota change, whenever a
// pod or service in its namespace goes, finishes or changes type (replenishment), and on a
// periodic full resync. A create is not a replenishment: admission charged it to status.used
// in the create's own transaction (admission/quota.h), so, as upstream's QuotaMonitor (update
// and delete handlers only), a new pod does not make the controller list the namespace again.
#include <map>
#include <set>

#include "skiff/master/controllers/controllers.h"
#include "skiff/master/informer/meta.h"
#include "skiff/master/quota/quota.h"

namespace skiff::master {
namespace {

const GroupVersionResource kQuotas{"", "v1", "resourcequotas"};
const GroupVersionResource kClaims{"", "v1", "persistentvolumeclaims"};

// The group/version/resource whose objects charge quota resource `name`, if known.
std::optional<GroupVersionResource> resourceFor(const std::string& name) {
  static const std::map<std::string, GroupVersionResource> core{
      {"pods", gvr::kPods},
      {"services", gvr::kServices},
      {"configmaps", gvr::kConfigMaps},
      {"secrets", gvr::kSecrets},
      {"persistentvolumeclaims", kClaims},
      {"replicationcontrollers", gvr::kReplicationControllers},
      {"resourcequotas", kQuotas},
  };
  static const std::map<std::string, std::string> versions{{"apps", "v1"},
                                                           {"batch", "v1"},
                                                           {"networking.k8s.io", "v1"},
                                                           {"policy", "v1"},
                                                           {"autoscaling", "v2"}};
  if (name.rfind("count/", 0) == 0) {
    std::string rest = name.substr(6);
    auto dot = rest.find('.');
    if (dot == std::string::npos) {
      auto it = core.find(rest);
      if (it != core.end()) return it->second;
      return GroupVersionResource{"", "v1", rest};
    }
    std::string group = rest.substr(dot + 1);
    auto v = versions.find(group);
    return GroupVersionResource{group, v == versions.end() ? "v1" : v->second, rest.substr(0, dot)};
  }
  if (core.count(name)) return core.at(name);
  if (name.rfind("services.", 0) == 0) return gvr::kServices;
  if (name == "requests.storage" || name.find(".storageclass.storage.k8s.io/") != std::string::npos)
    return kClaims;
  return gvr::kPods;  // cpu, memory, requests.*, limits.*, hugepages, extended resources
}

struct GvrLess {
  bool operator()(const GroupVersionResource& a, const GroupVersionResource& b) const {
    return std::tie(a.group, a.version, a.resource) < std::tie(b.group, b.version, b.resource);
  }
};

class ResourceQuotaController : public Controller {
 public:
  ResourceQuotaController(ApiClient& client, std::shared_ptr<Clock> clock)
      : Controller("resourcequota", std::move(clock)), client_(client) {}

  void registerHandlers(SharedInformers& inf) override {
    quotas_ = &inf.get(kQuotas);
    quotas_->addEventHandlers({
        .on_add = [this](const json& q) { queue().add(meta::key(q)); },
        // A changed spec, or a hard limit not yet in status. Compared as quantities, as upstream
        // does (quota.Equals, Semantic.DeepEqual): status.hard is written in canonical form
        // ("100k" for a spec's "100000"), so comparing the text would take every status write,
        // each admission charge among them, for a new intent and recount the namespace.
        .on_update =
            [this](const json& o, const json& n) {
              if (meta::at(o, {"spec"}) != meta::at(n, {"spec"}) ||
                  quota::parseList(meta::at(n, {"status", "hard"})) !=
                      quota::parseList(meta::at(n, {"spec", "hard"})))
                queue().add(meta::key(n));
            },
        .on_delete = nullptr,
    });
    auto ns_of = [this](const json& o) { enqueueNamespace(meta::ns(o)); };
    for (const auto& r : {gvr::kPods, gvr::kServices}) {
      inf.get(r).addEventHandlers({
          .on_add = nullptr,
          .on_update =
              [ns_of](const json& o, const json& n) {
                if (meta::str(o, {"status", "phase"}) != meta::str(n, {"status", "phase"}) ||
                    meta::isDeleting(o) != meta::isDeleting(n) ||
                    meta::at(o, {"spec", "type"}) != meta::at(n, {"spec", "type"}))
                  ns_of(n);
              },
          .on_delete = ns_of,
      });
    }
  }

  Duration resyncPeriod() const override { return std::chrono::seconds(10); }
  void resync() override {
    if (!quotas_) return;
    for (const auto& q : quotas_->listShared()) queue().add(meta::key(*q));
  }

  Result<void> sync(const std::string& key) override {
    std::string ns, name;
    meta::splitKey(key, &ns, &name);
    // From the informer, as upstream's lister (the role may list and watch, not get).
    auto got = quotas_ ? quotas_->get(key) : std::nullopt;
    if (!got) return {};
    json q = std::move(*got);
    if (meta::isDeleting(q)) return {};
    quota::ResourceList hard = quota::parseList(meta::at(q, {"spec", "hard"}));
    SKIFF_ASSIGN_OR_RETURN(quota::ResourceList used, usage(q, ns, hard));
    json next = q;
    next["status"]["hard"] = quota::toJson(hard);
    next["status"]["used"] = quota::toJson(used);
    if (next["status"] == q.value("status", json())) return {};
    auto w = client_.update(kQuotas, ns, next, "status");
    if (!w && w.error().is(ErrorCode::Conflict)) {
      queue().add(key);  // admission charged it meanwhile: recompute from the new version
      return {};
    }
    if (!w && !w.error().is(ErrorCode::NotFound)) return std::move(w).error();
    return {};
  }

 private:
  void enqueueNamespace(const std::string& ns) {
    if (!quotas_) return;
    for (const auto& q : quotas_->listNamespace(ns)) queue().add(meta::key(q));
  }

  // Every hard resource starts at zero; each object of a resource it names is summed in.
  Result<quota::ResourceList> usage(const json& q, const std::string& ns,
                                    const quota::ResourceList& hard) {
    quota::ResourceList used;
    std::set<GroupVersionResource, GvrLess> kinds;
    for (const auto& [n, _] : hard) {
      used[n] = Quantity();
      if (auto r = resourceFor(n)) kinds.insert(*r);
    }
    std::vector<std::string> names = quota::names(hard);
    for (const auto& r : kinds) {
      auto list = client_.list(r, ns, {});
      if (!list) {
        if (list.error().is(ErrorCode::NotFound)) continue;  // a resource this server lacks
        return std::move(list).error();
      }
      for (const auto& obj : list->items) {
        if (!quota::matchesScopes(q, r.resource, obj)) continue;
        used = quota::add(used, quota::mask(quota::usageOf(r.group, r.resource, obj), names));
      }
    }
    return used;
  }

  ApiClient& client_;
  Informer* quotas_ = nullptr;
};

}  // namespace

const ControllerFactory newResourceQuotaController = makeController<ResourceQuotaController>;

}  // namespace skiff::master
