// The Priority admission plugin (plugin/pkg/admission/priority/admission.go) and the system
// PriorityClasses kube-apiserver creates at start (pkg/registry/scheduling/rest).
#include "skiff/master/admission/priority.h"

#include <climits>

#include "skiff/master/api/object_cache.h"
#include "skiff/master/api/object_util.h"

namespace skiff::master::admission {
namespace {

using api::AdmissionAttributes;
using json = nlohmann::json;

const api::ResourceInfo& priorityClasses() {
  return *api::findResource("scheduling.k8s.io", "v1", "priorityclasses");
}

Error forbidden(const AdmissionAttributes& a, const std::string& why) {
  return Error(ErrorCode::Forbidden,
               a.resource->qualifiedResource() + " \"" + a.name + "\" is forbidden: " + why);
}

class PriorityAdmission : public api::AdmissionPlugin {
 public:
  explicit PriorityAdmission(api::Registry& registry)
      : registry_(registry), classes_(registry, priorityClasses()) {}

  Result<void> admit(const AdmissionAttributes& a, json& obj, api::AdmissionNotes&) override {
    if (!a.resource || !a.subresource.empty() ||
        a.operation == AdmissionAttributes::Operation::Delete)
      return ok();
    if (a.resource->group.empty() && a.resource->resource == "pods") return admitPod(a, obj);
    if (a.resource->group == "scheduling.k8s.io" && a.resource->resource == "priorityclasses")
      return admitPriorityClass(a, obj);
    return ok();
  }

  Result<void> validate(const AdmissionAttributes&, api::AdmissionNotes&) override { return ok(); }

 private:
  Result<void> admitPod(const AdmissionAttributes& a, json& pod) {
    // On update the pod strategy keeps what create set (pod_strategy.cc prepareForUpdate).
    if (a.operation != AdmissionAttributes::Operation::Create) return ok();
    json& spec = pod["spec"];
    std::string name = api::str(pod, {"spec", "priorityClassName"});
    json priority = 0;
    json policy = "PreemptLowerPriority";
    if (name.empty()) {
      SKIFF_ASSIGN_OR_RETURN(json def, globalDefault());
      if (!def.is_null()) {
        spec["priorityClassName"] = api::str(def, {"metadata", "name"});
        priority = def.value("value", 0);
        if (def.contains("preemptionPolicy")) policy = def["preemptionPolicy"];
      }
    } else {
      auto pc = registry_.get(priorityClasses(), "", name);
      if (!pc) {
        if (pc.error().is(ErrorCode::NotFound))
          return forbidden(a, "no PriorityClass with name " + name + " was found");
        return Error(pc.error().code(),
                     "failed to get PriorityClass with name " + name + ": " + pc.error().message());
      }
      priority = pc->value("value", 0);
      if (pc->contains("preemptionPolicy")) policy = (*pc)["preemptionPolicy"];
    }
    if (spec.contains("priority") && !spec["priority"].is_null() && spec["priority"] != priority)
      return forbidden(a, "the integer value of priority (" + spec["priority"].dump() +
                              ") must not be provided in pod spec; priority admission "
                              "controller computed " +
                              priority.dump() + " from the given PriorityClass name");
    spec["priority"] = priority;
    if (policy.is_string()) {
      const json& asked = api::at(spec, {"preemptionPolicy"});
      if (asked.is_string() && asked != policy)
        return forbidden(a, "the string value of PreemptionPolicy (" + asked.get<std::string>() +
                                ") must not be provided in pod spec; priority admission "
                                "controller computed " +
                                policy.get<std::string>() + " from the given PriorityClass name");
      spec["preemptionPolicy"] = policy;
    }
    return ok();
  }

  // Only one class may be the default (validatePriorityClass).
  Result<void> admitPriorityClass(const AdmissionAttributes& a, json& pc) {
    if (!pc.value("globalDefault", false)) return ok();
    SKIFF_ASSIGN_OR_RETURN(json def, globalDefault());
    std::string other = api::str(def, {"metadata", "name"});
    if (!def.is_null() && other != a.name)
      return forbidden(a, "PriorityClass " + other +
                              " is already marked as default. Only one default can exist");
    return ok();
  }

  // The globalDefault class (several: the lowest value, as getDefaultPriorityClass), or null.
  Result<json> globalDefault() {
    SKIFF_ASSIGN_OR_RETURN(auto all, classes_.list());
    const json* best = nullptr;
    for (const auto& pc : all) {
      if (!pc->value("globalDefault", false)) continue;
      if (!best || pc->value("value", LLONG_MAX) < best->value("value", LLONG_MAX)) best = pc.get();
    }
    return best ? *best : json();
  }

  api::Registry& registry_;
  // Every pod created without a class looks for the default: from memory, not a store list.
  api::ObjectCache classes_;
};

}  // namespace

std::shared_ptr<api::AdmissionPlugin> newPriorityAdmission(api::Registry& registry) {
  return std::make_shared<PriorityAdmission>(registry);
}

Result<void> ensureSystemPriorityClasses(api::Registry& registry) {
  struct SystemClass {
    const char* name;
    std::int64_t value;
    const char* description;
  };
  static const SystemClass kClasses[] = {
      {"system-node-critical", 2000001000,
       "Used for system critical pods that must not be moved from their current node."},
      {"system-cluster-critical", 2000000000,
       "Used for system critical pods that must run in the cluster, but can be moved to another "
       "node if necessary."},
  };
  api::WriteOptions opts;
  opts.user = {"system:apiserver", {"system:masters"}};
  opts.field_manager = "kube-apiserver";
  for (const auto& c : kClasses) {
    json pc = {{"apiVersion", "scheduling.k8s.io/v1"},
               {"kind", "PriorityClass"},
               {"metadata", {{"name", c.name}}},
               {"value", c.value},
               {"description", c.description}};
    auto made = registry.create(priorityClasses(), "", pc, opts);
    if (!made && !made.error().is(ErrorCode::AlreadyExists)) return std::move(made).error();
  }
  return ok();
}

}  // namespace skiff::master::admission
