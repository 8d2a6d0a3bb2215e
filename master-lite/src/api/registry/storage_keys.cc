// kube-apiserver's etcd key layout (storage_keys.h). The special names come from
// pkg/registry/*/storage (e.g. core/service/storage: "services/specs", core/node: "minions",
// networking/ingress: "ingress") and apiextensions/apiregistration's group-qualified prefixes.
#include "skiff/master/api/storage_keys.h"

#include "registry_internal.h"

#include <map>
#include <vector>

namespace skiff::master::api {
namespace {

// The built-in (group, resource) a legacy key names, if any.
const ResourceInfo* builtinFor(const std::string& group, const std::string& resource) {
  std::string g = group == "core" ? "" : group;
  for (const auto& r : allResources()) {
    if (r.resource == resource && (r.group == g || (g == "apps" && r.group == "extensions")) &&
        !r.createOnly())
      return &r;
  }
  return nullptr;
}

}  // namespace

std::string storageGroup(const ResourceInfo& r) {
  if (r.group == "extensions") return "apps";
  if (r.group == "events.k8s.io" && r.resource == "events") return "";
  return r.group;
}

std::string storageResourcePath(const ResourceInfo& r) {
  std::string group = storageGroup(r);
  if (r.custom || group == "apiextensions.k8s.io" || group == "apiregistration.k8s.io")
    return group + "/" + r.resource;
  if (group.empty()) {
    if (r.resource == "services") return "services/specs";
    if (r.resource == "endpoints") return "services/endpoints";
    if (r.resource == "nodes") return "minions";
  }
  if (group == "networking.k8s.io" && r.resource == "ingresses") return "ingress";
  return r.resource;
}

std::string storagePrefix(const std::string& root, const ResourceInfo& r, const std::string& ns) {
  std::string p = root + "/" + storageResourcePath(r) + "/";
  if (r.namespaced && !ns.empty()) p += ns + "/";
  return p;
}

Result<int> migrateLegacyStorageKeys(store::Store& store, const std::string& root) {
  // Only built-in kinds moved: custom resources were already <root>/<group>/<resource>/.
  std::map<std::string, const ResourceInfo*> legacy;  // old "<root>/<group>/<resource>/"
  for (const auto& r : allResources()) {
    if (r.createOnly() || r.group == "metrics.k8s.io") continue;
    std::string group = r.group.empty() ? "core" : (r.group == "extensions" ? "apps" : r.group);
    std::string old = root + "/" + group + "/" + r.resource + "/";
    if (old != storagePrefix(root, r, "")) legacy.emplace(old, builtinFor(group, r.resource));
  }
  int moved = 0;
  for (const auto& [old_prefix, r] : legacy) {
    if (!r) continue;
    SKIFF_ASSIGN_OR_RETURN(store::ListResult items, store.list(old_prefix));
    std::string new_prefix = storagePrefix(root, *r, "");
    for (const auto& kv : items.items) {
      std::string to = new_prefix + kv.key.substr(old_prefix.size());
      // events.k8s.io Events were once stored apart, in their own shape.
      std::string value = kv.value;
      if (r->group == "events.k8s.io") {
        json obj = json::parse(kv.value, nullptr, false);
        if (obj.is_object() && obj.value("apiVersion", "") == "events.k8s.io/v1")
          value = eventsV1ToCoreEvent(std::move(obj)).dump();
      }
      auto c = store.create(to, value);
      if (!c && !c.error().is(ErrorCode::AlreadyExists))
        return std::move(c).error().wrap("move '" + kv.key + "' to '" + to + "'");
      auto d = store.remove(kv.key, kv.mod_revision);
      if (!d && !d.error().is(ErrorCode::NotFound))
        return std::move(d).error().wrap("remove '" + kv.key + "' after moving it");
      ++moved;
    }
  }
  return moved;
}

}  // namespace skiff::master::api
