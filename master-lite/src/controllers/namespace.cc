// Namespace controller (pkg/controller/namespace): when a Namespace is being deleted, delete
// every namespaced object in it, wait until they are gone, then drop the `kubernetes`
// finalizer through namespaces/finalize so the API server removes the Namespace.
// ServiceAccount controller (pkg/controller/serviceaccount): a `default` ServiceAccount in
// every active namespace.

#include "skiff/common/log.h"
#include "skiff/master/controllers/controllers.h"
#include "skiff/master/informer/meta.h"
#include "util.h"

namespace skiff::master {

namespace {

// What a namespace can hold that master-lite serves, dependents before owners so the
// garbage collector has less to do.
const GroupVersionResource* const kNamespaced[] = {
    &gvr::kPods,        &gvr::kReplicaSets,  &gvr::kReplicationControllers,
    &gvr::kDeployments, &gvr::kStatefulSets, &gvr::kDaemonSets,
    &gvr::kJobs,        &gvr::kCronJobs,     &gvr::kControllerRevisions,
    &gvr::kServices,    &gvr::kEndpoints,    &gvr::kEndpointSlices,
    &gvr::kConfigMaps,  &gvr::kSecrets,      &gvr::kServiceAccounts,
    &gvr::kLeases,      &gvr::kEvents,
};

class NamespaceController : public Controller {
 public:
  NamespaceController(ApiClient& client, std::shared_ptr<Clock> clock)
      : Controller("namespace", std::move(clock)), client_(client) {}

  void registerHandlers(SharedInformers& inf) override {
    enqueueAddedAndUpdated(inf, gvr::kNamespaces);
  }

  Result<void> sync(const std::string& key) override {
    SKIFF_ASSIGN_OR_RETURN(std::optional<json> got,
                           ctl::getIfExists(client_, gvr::kNamespaces, key));
    if (!got) return {};
    json ns = std::move(*got);
    if (!meta::isDeleting(ns)) return {};
    const json& fins = meta::at(ns, {"spec", "finalizers"});
    bool ours = false;
    if (fins.is_array()) {
      for (const auto& f : fins) ours |= f == "kubernetes";
    }
    if (!ours) return {};
    std::size_t remaining = 0;
    for (const GroupVersionResource* r : kNamespaced) {
      SKIFF_ASSIGN_OR_RETURN(ObjectList objs, client_.list(*r, key, ListOptions{}));
      for (const auto& o : objs.items) {
        ++remaining;
        if (meta::isDeleting(o)) continue;
        DeleteOptions d;
        d.propagation_policy = "Background";
        SKIFF_TRY(ctl::ignoreNotFound(client_.remove(*r, key, meta::name(o), d)));
      }
    }
    if (remaining > 0) {
      // Objects with grace periods or finalizers go away later; look again soon.
      queue().addAfter(key, std::chrono::seconds(2));
      return {};
    }
    json next = ns;
    json kept = json::array();
    for (const auto& f : fins) {
      if (f != "kubernetes") kept.push_back(f);
    }
    next["spec"]["finalizers"] = kept;
    SKIFF_TRY(ctl::ignoreNotFound(client_.update(gvr::kNamespaces, "", next, "finalize")));
    auto lg = log::get("master");
    SKIFF_LOG_INFO(lg, "Namespace finalized", log::kv("namespace", key));
    return {};
  }

 private:
  ApiClient& client_;
};

class ServiceAccountController : public Controller {
 public:
  ServiceAccountController(ApiClient& client, std::shared_ptr<Clock> clock)
      : Controller("serviceaccount", std::move(clock)), client_(client) {}

  void registerHandlers(SharedInformers& inf) override {
    namespaces_ = &enqueueAddedAndUpdated(inf, gvr::kNamespaces);
    serviceaccounts_ = &inf.get(gvr::kServiceAccounts);
    serviceaccounts_->addEventHandlers({
        .on_add = nullptr,
        .on_update = nullptr,
        .on_delete = [this](const json& sa) { queue().add(meta::ns(sa)); },
    });
  }

  Result<void> sync(const std::string& key) override {
    // From the informers, as upstream's listers: system:controller:service-account-controller
    // may only create ServiceAccounts.
    auto ns = namespaces_->getShared(key);
    if (!ns || meta::isDeleting(*ns)) return {};
    if (serviceaccounts_->getShared(meta::key(key, "default"))) return {};
    json obj = {{"apiVersion", "v1"},
                {"kind", "ServiceAccount"},
                {"metadata", {{"name", "default"}, {"namespace", key}}}};
    auto r = client_.create(gvr::kServiceAccounts, key, obj);
    if (!r && !r.error().is(ErrorCode::AlreadyExists)) return std::move(r).error();
    return {};
  }

 private:
  ApiClient& client_;
  Informer* namespaces_ = nullptr;
  Informer* serviceaccounts_ = nullptr;
};

}  // namespace

const ControllerFactory newNamespaceController = makeController<NamespaceController>;
const ControllerFactory newServiceAccountController = makeController<ServiceAccountController>;

}  // namespace skiff::master
