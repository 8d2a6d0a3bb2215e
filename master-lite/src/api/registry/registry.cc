// The generic registry's core: storage keys and encoding, reads, the strategy table, and the
// helpers its verbs share. The verbs live beside it: list.cc, create.cc, update.cc,
// patch_apply.cc, delete.cc, pod_subresources.cc, registry_watch.cc; per-kind behaviour lives
// in the strategies (strategy.h, *_strategy.cc).
#include "skiff/master/api/registry.h"

#include <algorithm>

#include "registry_internal.h"
#include "skiff/master/api/object_util.h"
#include "skiff/master/api/storage_keys.h"
#include "skiff/master/apiextensions/apiextensions.h"
#include "strategies.h"

namespace skiff::master::api {

bool UserInfo::inGroup(const std::string& g) const {
  return std::find(groups.begin(), groups.end(), g) != groups.end();
}

std::string encodeForStore(json obj) { return encodeStored(obj); }

std::string encodeStored(json& obj) {
  if (obj.contains("metadata") && obj["metadata"].is_object())
    obj["metadata"].erase("resourceVersion");
  return obj.dump();
}

json relabelForStorage(const ResourceInfo& r, json obj) {
  std::string group = storageGroup(r);
  obj["apiVersion"] = group.empty() ? r.storage_version : group + "/" + r.storage_version;
  obj["kind"] = r.kind;
  return obj;
}

json decodeFromStore(const std::string& value, std::int64_t mod_revision) {
  json obj = json::parse(value, nullptr, false);
  if (!obj.is_object()) obj = json::object();
  obj["metadata"]["resourceVersion"] = std::to_string(mod_revision);
  return obj;
}

const std::shared_ptr<spdlog::logger>& registryLog() {
  static const auto l = skiff::log::get("master");
  return l;
}

std::string nowString() { return formatTime(Clock::now()); }

Error notFound(const ResourceInfo& r, const std::string& name) {
  return Error(ErrorCode::NotFound, r.qualifiedResource() + " \"" + name + "\" not found");
}

Error conflict(const ResourceInfo& r, const std::string& name) {
  return Error(ErrorCode::Conflict, "Operation cannot be fulfilled on " + r.qualifiedResource() +
                                        " \"" + name +
                                        "\": the object has been modified; please apply your "
                                        "changes to the latest version and try again");
}

const ResourceInfo& namespacesInfo() { return *findResource("", "v1", "namespaces"); }

bool hasDeletionTimestamp(const json& obj) {
  const json& d = at(obj, {"metadata", "deletionTimestamp"});
  return d.is_string() && !d.get<std::string>().empty();
}

bool hasFinalizers(const json& obj) {
  const json& f = at(obj, {"metadata", "finalizers"});
  return f.is_array() && !f.empty();
}

std::string managerFor(const WriteOptions& opts, const std::string& fallback) {
  if (!opts.field_manager.empty()) return opts.field_manager;
  return fallback;
}

json scaleOf(const ResourceInfo& r, const json& obj) {
  if (r.custom) return apiextensions::customScale(r, obj);
  json meta = {{"name", str(obj, {"metadata", "name"})},
               {"namespace", str(obj, {"metadata", "namespace"})},
               {"uid", str(obj, {"metadata", "uid"})},
               {"resourceVersion", str(obj, {"metadata", "resourceVersion"})},
               {"creationTimestamp", str(obj, {"metadata", "creationTimestamp"})}};
  std::string selector;
  const json& sel = at(obj, {"spec", "selector"});
  if (r.kind == "ReplicationController") {
    if (sel.is_object()) {
      for (auto& [k, v] : sel.items())
        selector += (selector.empty() ? "" : ",") + k + "=" + v.get<std::string>();
    }
  } else if (auto parsed = LabelSelector::fromJson(sel); parsed) {
    selector = parsed->toString();
  }
  json status = {{"replicas", at(obj, {"status", "replicas"}).is_number()
                                  ? at(obj, {"status", "replicas"})
                                  : json(0)}};
  if (!selector.empty()) status["selector"] = selector;
  return {{"kind", "Scale"},
          {"apiVersion", "autoscaling/v1"},
          {"metadata", meta},
          {"spec",
           {{"replicas",
             at(obj, {"spec", "replicas"}).is_number() ? at(obj, {"spec", "replicas"}) : json(0)}}},
          {"status", status}};
}

Registry::Registry(store::Store& store, RegistryOptions options)
    : store_(store), options_(std::move(options)), state_(std::make_unique<State>()) {
  auto services = std::make_shared<ServiceStrategy>(store_, options_);
  state_->kubernetes_service_ip = services->firstClusterIp();
  registerBuiltinStrategies(state_->strategies, options_, std::move(services), *this);
  registerRbacStrategies(*this);
  // ServiceAccounts: pods are admitted against them, token Secrets are filled from them.
  ServiceAccountLookup accounts = [this](const std::string& ns, const std::string& name) {
    return get(*findResource("", "v1", "serviceaccounts"), ns, name);
  };
  if (options_.service_account_admission)
    state_->strategies.add("", "pods", newPodStrategy(options_.defaulting, accounts));
  if (options_.service_account_tokens) {
    state_->strategies.add(
        "", "secrets",
        newSecretStrategy(options_.service_account_tokens, options_.root_ca_pem, accounts));
  }
  if (auto followed = state_->policy.follow(store_, options_.storage_prefix); !followed) {
    SKIFF_LOG_ERROR(registryLog(), "Following RBAC objects failed",
                    skiff::log::kv("err", followed.error().message()));
  }
}

Registry::~Registry() = default;

StrategyRegistry& Registry::strategies() { return state_->strategies; }

rbac::PolicyIndex& Registry::policy() { return state_->policy; }

std::string Registry::prefix(const ResourceInfo& r, const std::string& ns) const {
  return storagePrefix(options_.storage_prefix, r, ns);
}

std::string Registry::key(const ResourceInfo& r, const std::string& ns,
                          const std::string& name) const {
  return prefix(r, r.namespaced ? ns : "") + name;
}

Result<json> Registry::read(const ResourceInfo& r, const std::string& ns, const std::string& name,
                            std::int64_t* mod_revision) {
  auto kv = store_.get(key(r, ns, name));
  if (!kv) {
    if (kv.error().is(ErrorCode::NotFound)) return notFound(r, name);
    return std::move(kv).error();
  }
  if (mod_revision) *mod_revision = kv->mod_revision;
  return present(r, decodeFromStore(kv->value, kv->mod_revision), kv->mod_revision);
}

Result<json> Registry::get(const ResourceInfo& r, const std::string& ns, const std::string& name,
                           const std::string& subresource) {
  if (r.group == "metrics.k8s.io") {
    if (!metrics_) return notFound(r, name);
    return metrics_(r, ns, name, Selection{});
  }
  SKIFF_ASSIGN_OR_RETURN(json obj, read(r, ns, name, nullptr));
  if (subresource == "scale") return scaleOf(r, obj);
  return obj;
}

}  // namespace skiff::master::api
