// The RuntimeClass admission plugin (plugin/pkg/admission/runtimeclass): a pod naming a
// RuntimeClass gets its overhead and scheduling constraints; a pod naming one that does not
// exist is rejected: `pods "<name>" is forbidden: pod rejected: RuntimeClass "<rc>" not found`.
#include "skiff/master/admission/runtimeclass.h"

#include "skiff/master/api/object_util.h"

namespace skiff::master::admission {
namespace {

using json = nlohmann::json;
using api::AdmissionAttributes;

Error forbidden(const AdmissionAttributes& a, const std::string& why) {
  return Error(ErrorCode::Forbidden,
               a.resource->qualifiedResource() + " \"" + a.name + "\" is forbidden: " + why);
}

std::string text(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

// setScheduling: the class's nodeSelector merged in (a conflicting key rejects the pod), its
// tolerations added.
Result<void> setScheduling(const AdmissionAttributes& a, json& spec, const json& scheduling) {
  const json& sel = api::at(scheduling, {"nodeSelector"});
  if (sel.is_object()) {
    if (!spec.contains("nodeSelector") || !spec["nodeSelector"].is_object())
      spec["nodeSelector"] = json::object();
    for (auto it = sel.begin(); it != sel.end(); ++it) {
      const json& cur =
          spec["nodeSelector"].contains(it.key()) ? spec["nodeSelector"][it.key()] : json();
      if (!cur.is_null() && cur != *it) {
        return forbidden(a, "pod rejected: conflict: runtimeClass.scheduling.nodeSelector[" +
                                it.key() + "] = " + text(*it) + "; pod.spec.nodeSelector[" +
                                it.key() + "] = " + text(cur));
      }
      spec["nodeSelector"][it.key()] = *it;
    }
  }
  const json& tol = api::at(scheduling, {"tolerations"});
  if (tol.is_array()) {
    if (!spec.contains("tolerations") || !spec["tolerations"].is_array())
      spec["tolerations"] = json::array();
    for (const auto& t : tol) {
      bool has = false;
      for (const auto& x : spec["tolerations"]) has = has || x == t;
      if (!has) spec["tolerations"].push_back(t);
    }
  }
  return ok();
}

class RuntimeClassAdmission : public api::AdmissionPlugin {
 public:
  explicit RuntimeClassAdmission(api::Registry& registry) : registry_(registry) {}

  // The overhead and scheduling of a RuntimeClass are set on new pods only.
  bool handles(AdmissionAttributes::Operation op) const override {
    return op == AdmissionAttributes::Operation::Create;
  }

  Result<void> admit(const AdmissionAttributes& a, json& obj, api::AdmissionNotes&) override {
    if (!a.resource || a.resource->kind != "Pod" || !a.resource->group.empty()) return ok();
    if (a.operation != AdmissionAttributes::Operation::Create) return ok();
    std::string name = api::str(obj, {"spec", "runtimeClassName"});
    if (name.empty()) return ok();
    auto rc = registry_.get(*api::findResource("node.k8s.io", "v1", "runtimeclasses"), "", name);
    if (!rc) {
      if (!rc.error().is(ErrorCode::NotFound)) return std::move(rc).error();
      return forbidden(a, "pod rejected: RuntimeClass \"" + name + "\" not found");
    }
    json& spec = obj["spec"];
    const json& fixed = api::at(*rc, {"overhead", "podFixed"});
    if (fixed.is_object()) {
      if (spec.contains("overhead") && !spec["overhead"].is_null() && spec["overhead"] != fixed)
        return forbidden(a,
                         "pod rejected: Pod's Overhead doesn't match RuntimeClass's defined "
                         "Overhead");
      spec["overhead"] = fixed;
    }
    return setScheduling(a, spec, api::at(*rc, {"scheduling"}));
  }

  Result<void> validate(const AdmissionAttributes&, api::AdmissionNotes&) override { return ok(); }

 private:
  api::Registry& registry_;
};

}  // namespace

std::shared_ptr<api::AdmissionPlugin> newRuntimeClassAdmission(api::Registry& registry) {
  return std::make_shared<RuntimeClassAdmission>(registry);
}

}  // namespace skiff::master::admission
