// The generic strategy (what every kind gets unless it registers its own) and the table of
// strategies.
#include "skiff/master/api/strategy.h"

#include "skiff/master/api/defaults.h"
#include "skiff/master/api/object_util.h"
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

// NOLINTNEXTLINE(performance-unnecessary-value-param): virtual sink; the overrides move from it.
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

void keepSystemMetadata(json& meta, const json& old_meta) {
  for (const char* k : {"uid", "creationTimestamp", "deletionTimestamp",
                        "deletionGracePeriodSeconds", "generation", "namespace", "name"}) {
    if (old_meta.contains(k))
      meta[k] = old_meta[k];
    else
      meta.erase(k);
  }
  if (!meta.contains("managedFields") && old_meta.contains("managedFields"))
    meta["managedFields"] = old_meta["managedFields"];
}

json Strategy::statusOnly(const json& obj, const json& old) {
  json next = old;
  if (obj.contains("status"))
    next["status"] = obj["status"];
  else
    next.erase("status");
  return next;
}

json Strategy::prepareForStatusUpdate(const ResourceInfo&, const json& obj, const json& old) const {
  json next = statusOnly(obj, old);
  const json& meta = at(obj, {"metadata"});
  if (!meta.is_object() || !old.contains("metadata")) return next;
  json m = meta;
  keepSystemMetadata(m, old["metadata"]);
  next["metadata"] = std::move(m);
  return next;
}

void keepStoredMetadataField(json& next, const json& old, const char* field) {
  const json& om = at(old, {"metadata"});
  if (!om.is_object() || !next.contains("metadata") || !next["metadata"].is_object()) return;
  if (om.contains(field))
    next["metadata"][field] = om[field];
  else
    next["metadata"].erase(field);
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
  table.add("apps", "deployments", newDeploymentStrategy());
  table.add("", "replicationcontrollers", newReplicationControllerStrategy());
  table.add("batch", "jobs", newJobStrategy());
  table.add("apiextensions.k8s.io", "customresourcedefinitions", apiextensions::newCrdStrategy());
  table.add(
      "certificates.k8s.io", "certificatesigningrequests",
      newCertificateSigningRequestStrategy(options.sign_csr, options.sign_client_csr, registry));
  registerStorageStrategies(table, registry);
  registerExtensionStrategies(table);
}

}  // namespace skiff::master::api
