// Root CA publisher (pkg/controller/certificates/rootcacertpublisher): the ConfigMap
// kube-root-ca.crt with the cluster CA in every active namespace, put back when it is deleted
// or its data edited. Pods read it through their kube-api-access volume to trust the API server.
#include "skiff/common/log.h"
#include "skiff/master/controllers/controllers.h"
#include "skiff/master/informer/meta.h"

namespace skiff::master {
namespace {

constexpr char kRootCaName[] = "kube-root-ca.crt";
constexpr char kDescription[] =
    "Contains a CA bundle that can be used to verify the kube-apiserver when using internal "
    "endpoints such as the internal service IP or kubernetes.default.svc. No other usage is "
    "guaranteed across distributions of Kubernetes clusters.";

class RootCaPublisher : public Controller {
 public:
  RootCaPublisher(ApiClient& client, std::shared_ptr<Clock> clock, std::string ca_pem)
      : Controller("root-ca-cert-publisher", std::move(clock)),
        client_(client),
        ca_(std::move(ca_pem)) {}

  void registerHandlers(SharedInformers& inf) override {
    namespaces_ = &enqueueAddedAndUpdated(inf, gvr::kNamespaces);
    configmaps_ = &inf.get(gvr::kConfigMaps);
    auto ours = [this](const json& cm) {
      if (meta::name(cm) == kRootCaName) queue().add(meta::ns(cm));
    };
    configmaps_->addEventHandlers({
        .on_add = nullptr,
        .on_update = [ours](const json&, const json& n) { ours(n); },
        .on_delete = ours,
    });
  }

  Result<void> sync(const std::string& ns) override {
    // From the informers, as upstream's listers: system:controller:root-ca-cert-publisher may
    // only create and update ConfigMaps.
    auto got = namespaces_->getShared(ns);
    if (!got || meta::isDeleting(*got)) return {};
    auto cm = configmaps_->get(ns, kRootCaName);
    if (!cm) {
      json obj = {{"apiVersion", "v1"},
                  {"kind", "ConfigMap"},
                  {"metadata",
                   {{"name", kRootCaName},
                    {"namespace", ns},
                    {"annotations", {{"kubernetes.io/description", kDescription}}}}},
                  {"data", {{"ca.crt", ca_}}}};
      auto r = client_.create(gvr::kConfigMaps, ns, obj);
      if (!r && !r.error().is(ErrorCode::AlreadyExists)) return std::move(r).error();
      return {};
    }
    json want = {{"ca.crt", ca_}};
    if (cm->value("data", json()) == want &&
        meta::at(*cm, {"metadata", "annotations", "kubernetes.io/description"}) == kDescription)
      return {};
    json next = *cm;
    next["data"] = want;
    next.erase("binaryData");
    next["metadata"]["annotations"]["kubernetes.io/description"] = kDescription;
    auto r = client_.update(gvr::kConfigMaps, ns, next);
    if (!r && !r.error().is(ErrorCode::NotFound)) return std::move(r).error();
    if (!r) queue().add(ns);  // deleted meanwhile: create it again
    return {};
  }

 private:
  ApiClient& client_;
  Informer* namespaces_ = nullptr;
  Informer* configmaps_ = nullptr;
  std::string ca_;
};

}  // namespace

std::unique_ptr<Controller> newRootCaPublisher(ApiClient& client, std::shared_ptr<Clock> clock,
                                               std::string ca_pem) {
  return std::make_unique<RootCaPublisher>(client, std::move(clock), std::move(ca_pem));
}

}  // namespace skiff::master
