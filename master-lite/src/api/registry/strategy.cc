// The generic strategy (what every kind gets unless it registers its own) and the table of
// strategies.
#include "skiff/master/api/strategy.h"

#include "skiff/master/api/defaults.h"
#include "skiff/master/api/storage.h"
#include "skiff/master/apiextensions/apiextensions.h"
#include "strategies.h"

namespace skiff::master::api {

void Strategy::prepareForCreate(const ResourceInfo& r, json& obj) const {
  if (r.hasSubresource("status")) obj["status"] = json::object();
}

void Strategy::defaults(const ResourceInfo& r, json& obj) const { applyDefaults(r, obj); }

FieldErrors Strategy::validate(const ResourceInfo& r, const json& obj, const json* old) const {
  return validateObject(r, obj, old);
}

Result<void> Strategy::admitCreate(const ResourceInfo&, json&, const WriteOptions&) { return ok(); }

Result<json> Strategy::review(const ResourceInfo& r, const std::string&, json,
                              const WriteOptions&) {
  return Error(ErrorCode::Unsupported,
               "create is not supported on resources of kind \"" + r.resource + "\"");
}

void Strategy::prepareForUpdate(const ResourceInfo& r, json& obj, const json& old) const {
  if (!r.hasSubresource("status")) return;
  if (old.contains("status"))
    obj["status"] = old["status"];
  else
    obj.erase("status");
}

json Strategy::prepareForStatusUpdate(const ResourceInfo&, const json& obj, const json& old) const {
  // Upstream also drops metadata changes sent to /status (for most kinds): keep the stored
  // metadata.
  json next = old;
  if (obj.contains("status"))
    next["status"] = obj["status"];
  else
    next.erase("status");
  return next;
}

Result<void> Strategy::admitUpdate(const ResourceInfo&, json&, const json&) { return ok(); }

Result<void> Strategy::admitUpdateBy(const ResourceInfo&, const json&, const json&,
                                     const WriteOptions&) {
  return ok();
}

void Strategy::afterUpdate(const ResourceInfo&, const json&, const json&) {}

Result<bool> Strategy::beginDelete(const ResourceInfo&, json&, const DeleteOptions&) const {
  return false;
}

bool Strategy::readyToRemove(const json&) const { return true; }

void Strategy::released(const ResourceInfo&, const json&) {}

StrategyRegistry::StrategyRegistry()
    : generic_(std::make_shared<Strategy>()), custom_(apiextensions::newCustomResourceStrategy()) {}

void StrategyRegistry::add(const std::string& group, const std::string& resource,
                           StrategyPtr strategy) {
  std::unique_lock lock(mu_);
  strategies_[{group, resource}] = std::move(strategy);
}

StrategyPtr StrategyRegistry::forResource(const ResourceInfo& r) const {
  std::shared_lock lock(mu_);
  auto it = strategies_.find({r.group, r.resource});
  if (it != strategies_.end()) return it->second;
  return r.custom ? custom_ : generic_;
}

void registerBuiltinStrategies(StrategyRegistry& table, const RegistryOptions& options,
                               std::shared_ptr<ServiceStrategy> services, Registry& registry) {
  table.add("", "pods", newPodStrategy(options.defaulting));
  registerPolicyStrategies(table);
  table.add("", "services", std::move(services));
  table.add("", "namespaces", newNamespaceStrategy());
  table.add("", "nodes", newNodeStrategy());
  table.add("batch", "jobs", newJobStrategy());
  table.add("apiextensions.k8s.io", "customresourcedefinitions", apiextensions::newCrdStrategy());
  table.add(
      "certificates.k8s.io", "certificatesigningrequests",
      newCertificateSigningRequestStrategy(options.sign_csr, options.sign_client_csr, registry));
  registerStorageStrategies(table, registry);
  registerExtensionStrategies(table);
}

}  // namespace skiff::master::api
