// The ResourceQuota and LimitRanger admission plugins (admission/quota.h).
#include <map>
#include <mutex>

#include "skiff/master/admission/quota.h"
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

// The namespace's objects of core/v1 `resource` (LimitRanges, ResourceQuotas).
Result<std::vector<json>> listCore(api::Registry& registry, const char* resource,
                                   const std::string& ns) {
  const api::ResourceInfo* r = api::findResource("", "v1", resource);
  if (!r) return std::vector<json>{};
  SKIFF_ASSIGN_OR_RETURN(json list, registry.list(*r, ns, api::Selection{}));
  std::vector<json> out;
  for (auto& item : list["items"]) out.push_back(std::move(item));
  return out;
}

class LimitRanger : public api::AdmissionPlugin {
 public:
  explicit LimitRanger(api::Registry& registry) : registry_(registry) {}

  Result<void> admit(const api::AdmissionAttributes& a, json& obj, api::AdmissionNotes&) override {
    if (a.operation != api::AdmissionAttributes::Operation::Create || !isCore(a, "pods")) return {};
    SKIFF_ASSIGN_OR_RETURN(auto ranges, listCore(registry_, "limitranges", a.ns));
    for (const auto& lr : ranges) quota::applyContainerDefaults(lr, obj);
    return {};
  }

  Result<void> validate(const api::AdmissionAttributes& a, api::AdmissionNotes&) override {
    if (a.operation != api::AdmissionAttributes::Operation::Create) return {};
    bool pod = isCore(a, "pods");
    if (!pod && !isCore(a, "persistentvolumeclaims")) return {};
    SKIFF_ASSIGN_OR_RETURN(auto ranges, listCore(registry_, "limitranges", a.ns));
    std::vector<std::string> errs;
    for (const auto& lr : ranges) {
      auto e = pod ? quota::validatePod(lr, *a.object) : quota::validatePvc(lr, *a.object);
      if (!e.empty()) errs.push_back(quota::aggregate(e));
    }
    if (errs.empty()) return {};
    return forbidden(a, quota::aggregate(errs));
  }

 private:
  api::Registry& registry_;
};

class ResourceQuotaAdmission : public api::AdmissionPlugin {
 public:
  explicit ResourceQuotaAdmission(api::Registry& registry) : registry_(registry) {}

  Result<void> validate(const api::AdmissionAttributes& a, api::AdmissionNotes&) override {
    if (!a.subresource.empty() || !a.resource->namespaced || a.ns.empty()) return {};
    const std::string& group = a.resource->group;
    const std::string& resource = a.resource->resource;
    bool update = a.operation == api::AdmissionAttributes::Operation::Update;
    if (update && !quota::handlesUpdate(group, resource)) return {};
    const api::ResourceInfo* quotas = api::findResource("", "v1", "resourcequotas");
    if (!quotas) return {};
    auto negative = quota::negative(quota::usageOf(group, resource, *a.object));
    if (!negative.empty()) {
      std::string names;
      for (const auto& n : negative) names += (names.empty() ? "" : ",") + n;
      return forbidden(a, "quota usage is negative for resource(s): " + names);
    }
    if (update && !a.old_object) {
      return forbidden(a,
                       "unable to get previous usage since prior version of object was not found");
    }
    // An update charges what it adds: a Service turned NodePort, a claim grown.
    quota::ResourceList delta = quota::requestDelta(group, resource, *a.object, a.old_object);
    std::lock_guard<std::mutex> lock(lockFor(a.ns));
    for (int attempt = 0; attempt < 10; ++attempt) {
      SKIFF_ASSIGN_OR_RETURN(auto all, listCore(registry_, "resourcequotas", a.ns));
      if (all.empty()) return {};
      std::vector<json> charged;
      SKIFF_TRY(check(a, all, delta, charged));
      if (a.dry_run || charged.empty()) return {};
      bool conflict = false;
      for (auto& q : charged) {
        api::WriteOptions wo;
        auto w = registry_.update(*quotas, a.ns, q["metadata"].value("name", ""), q, wo, "status");
        if (!w && w.error().is(ErrorCode::Conflict)) {
          conflict = true;
          break;
        }
        if (!w) return std::move(w).error();
      }
      if (!conflict) return {};
    }
    return Error(ErrorCode::Unavailable, "resource quota evaluation timed out");
  }

 private:
  // Upstream's checkRequest: constraints and usage stats of every matching quota, then the
  // charge of each; `charged` gets the quotas with their new status.used.
  Result<void> check(const api::AdmissionAttributes& a, const std::vector<json>& all,
                     const quota::ResourceList& delta, std::vector<json>& charged) {
    const std::string& group = a.resource->group;
    const std::string& resource = a.resource->resource;
    std::vector<const json*> interesting;
    for (const auto& q : all) {
      auto hard =
          quota::names(quota::parseList(q.value("status", json::object()).value("hard", json())));
      auto restricted = quota::matchingResources(group, resource, hard);
      if (restricted.empty() || !quota::matchesScopes(q, resource, *a.object)) continue;
      std::string name = q["metadata"].value("name", "");
      if (group.empty() && resource == "pods") {
        std::string c = quota::podConstraints(*a.object, restricted);
        if (!c.empty()) return forbidden(a, "failed quota: " + name + ": " + c);
      }
      auto used = quota::parseList(q.value("status", json::object()).value("used", json()));
      std::string missing;
      for (const auto& n : restricted) {
        if (!used.count(n)) missing += (missing.empty() ? "" : ",") + n;
      }
      if (!missing.empty()) {
        std::string all_names;
        for (const auto& n : restricted) all_names += (all_names.empty() ? "" : ",") + n;
        return forbidden(a, "status unknown for quota: " + name + ", resources: " + all_names);
      }
      interesting.push_back(&q);
    }
    if (interesting.empty() || quota::isZero(delta)) return {};
    for (const json* q : interesting) {
      std::string name = (*q)["metadata"].value("name", "");
      quota::Charge ch = quota::charge(name, *q, delta);
      if (!ch.error.empty()) return forbidden(a, ch.error);
      json next = *q;
      next["status"]["used"] = quota::toJson(ch.used);
      if (next != *q) charged.push_back(std::move(next));
    }
    return {};
  }

  std::mutex& lockFor(const std::string& ns) {
    std::lock_guard<std::mutex> lock(mu_);
    return locks_[ns];
  }

  api::Registry& registry_;
  std::mutex mu_;
  std::map<std::string, std::mutex> locks_;
};

}  // namespace

std::shared_ptr<api::AdmissionPlugin> newLimitRanger(api::Registry& registry) {
  return std::make_shared<LimitRanger>(registry);
}

std::shared_ptr<api::AdmissionPlugin> newResourceQuotaAdmission(api::Registry& registry) {
  return std::make_shared<ResourceQuotaAdmission>(registry);
}

}  // namespace skiff::master::admission
