// The PodSecurity admission plugin: the enforce/audit/warn flow for pods, audit/warn for
// workload templates, namespace label validation and the warnings for a stricter enforce level
// (pod-security-admission admission/admission.go, kube-apiserver's podsecurity plugin).
#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <set>

#include "checks.h"
#include "skiff/master/admission/pod_security.h"
#include "skiff/master/api/registry.h"

namespace skiff::master::admission {
namespace {

using json = nlohmann::json;
using checks::field;

// kube-apiserver prefixes the plugin's audit annotations with its label prefix.
const std::string kAnnotationPrefix = "pod-security.kubernetes.io/";

std::map<std::string, std::string> labelsOf(const json& obj) {
  std::map<std::string, std::string> out;
  const json& labels = field(field(obj, "metadata"), "labels");
  if (!labels.is_object()) return out;
  for (auto it = labels.begin(); it != labels.end(); ++it) {
    if (it.value().is_string()) out[it.key()] = it.value().get<std::string>();
  }
  return out;
}

bool contains(const std::vector<std::string>& list, const std::string& s) {
  return !s.empty() && std::find(list.begin(), list.end(), s) != list.end();
}

// field.ErrorList.ToAggregate().Error(): one message, or "[a, b]".
std::string aggregate(const std::vector<LabelError>& errs) {
  if (errs.size() == 1) return errs[0].message();
  std::string out = "[";
  for (std::size_t i = 0; i < errs.size(); ++i) out += (i ? ", " : "") + errs[i].message();
  return out + "]";
}

struct OwnedPod {
  std::string name, controller_uid;
  json metadata, spec;
};

class PodSecurityAdmission final : public api::AdmissionPlugin {
 public:
  PodSecurityAdmission(api::Registry& registry, PodSecurityConfig config)
      : registry_(registry), config_(std::move(config)) {}

  Result<void> validate(const api::AdmissionAttributes& a, api::AdmissionNotes& notes) override {
    const api::ResourceInfo& r = *a.resource;
    if (!a.subresource.empty() || a.operation == api::AdmissionAttributes::Operation::Delete)
      return ok();
    if (r.group.empty() && r.resource == "namespaces") return validateNamespace(a, notes);
    if (r.group.empty() && r.resource == "pods") return validatePod(a, notes);
    return validateController(a, notes);
  }

 private:
  api::Registry& registry_;
  PodSecurityConfig config_;

  Result<void> validateNamespace(const api::AdmissionAttributes& a, api::AdmissionNotes& notes);
  Result<void> validatePod(const api::AdmissionAttributes& a, api::AdmissionNotes& notes);
  Result<void> validateController(const api::AdmissionAttributes& a, api::AdmissionNotes& notes);
  Result<void> evaluate(const Policy& policy, const std::vector<LabelError>& errs, const json& meta,
                        const json& spec, const api::AdmissionAttributes& a, bool enforce,
                        api::AdmissionNotes& notes);
  std::vector<std::string> evaluatePodsInNamespace(const std::string& ns,
                                                   const LevelVersion& enforce);
  std::string exemptNamespaceWarning(const std::string& ns, const Policy& policy,
                                     const std::map<std::string, std::string>& labels) const;
  Result<std::map<std::string, std::string>> namespaceLabels(const std::string& ns);
  bool exemptRuntimeClass(const json& spec) const {
    const json& rc = field(spec, "runtimeClassName");
    return rc.is_string() && contains(config_.exempt_runtime_classes, rc.get<std::string>());
  }
  void annotate(api::AdmissionNotes& notes, const std::string& k, const std::string& v) {
    notes.audit_annotations[kAnnotationPrefix + k] = v;
  }
  // A request in an exempt namespace or by an exempt user is admitted unchecked, with the
  // exemption in the audit annotations.
  bool exemptRequest(const api::AdmissionAttributes& a, api::AdmissionNotes& notes) {
    if (contains(config_.exempt_namespaces, a.ns)) {
      annotate(notes, "exempt", "namespace");
      return true;
    }
    if (a.user && contains(config_.exempt_usernames, a.user->name)) {
      annotate(notes, "exempt", "user");
      return true;
    }
    return false;
  }
};

Result<std::map<std::string, std::string>> PodSecurityAdmission::namespaceLabels(
    const std::string& ns) {
  const api::ResourceInfo* nsr = api::findResource("", "v1", "namespaces");
  auto obj = registry_.get(*nsr, "", ns);
  if (!obj) return std::move(obj).error();
  return labelsOf(*obj);
}

Result<void> PodSecurityAdmission::validateNamespace(const api::AdmissionAttributes& a,
                                                     api::AdmissionNotes& notes) {
  auto labels = labelsOf(*a.object);
  std::vector<LabelError> new_errs;
  Policy next = policyFromLabels(labels, config_.defaults, &new_errs);
  auto invalid = [&] {
    return Error(ErrorCode::Invalid,
                 "Namespace \"" + a.name + "\" is invalid: " + aggregate(new_errs));
  };
  bool exempt = contains(config_.exempt_namespaces, a.name);
  if (!a.old_object) {
    if (!new_errs.empty()) return invalid();
    if (exempt) {
      std::string w = exemptNamespaceWarning(a.name, next, labels);
      if (!w.empty()) notes.warnings.push_back(w);
    }
    return ok();
  }
  std::vector<LabelError> old_errs;
  Policy old = policyFromLabels(labelsOf(*a.old_object), config_.defaults, &old_errs);
  auto sameErrs = [&] {
    if (old_errs.size() != new_errs.size()) return false;
    for (std::size_t i = 0; i < old_errs.size(); ++i)
      if (old_errs[i].message() != new_errs[i].message()) return false;
    return true;
  };
  if (!new_errs.empty() && (old_errs.empty() || !sameErrs())) return invalid();
  if (next.enforce == old.enforce || next.enforce.level == Level::Privileged) return ok();
  if (next.enforce.version == old.enforce.version &&
      compareLevels(next.enforce.level, old.enforce.level) < 1)
    return ok();
  if (exempt) {
    std::string w = exemptNamespaceWarning(a.name, next, labels);
    if (!w.empty()) notes.warnings.push_back(w);
    return ok();
  }
  for (std::string& w : evaluatePodsInNamespace(a.name, next.enforce))
    notes.warnings.push_back(std::move(w));
  return ok();
}

Result<void> PodSecurityAdmission::validatePod(const api::AdmissionAttributes& a,
                                               api::AdmissionNotes& notes) {
  if (exemptRequest(a, notes)) return ok();
  auto labels = namespaceLabels(a.ns);
  if (!labels) {
    std::string msg = "Internal error occurred: failed to lookup namespace \"" + a.ns + "\"";
    annotate(notes, "error", msg + ": " + labels.error().message());
    return Error(ErrorCode::Internal, msg);
  }
  std::vector<LabelError> errs;
  Policy policy = policyFromLabels(*labels, config_.defaults, &errs);
  if (errs.empty() && policy.fullyPrivileged()) {
    annotate(notes, "enforce-policy", LevelVersion{Level::Privileged, Version{}}.str());
    return ok();
  }
  if (a.old_object && !significantPodUpdate(*a.object, *a.old_object)) return ok();
  return evaluate(policy, errs, field(*a.object, "metadata"), field(*a.object, "spec"), a, true,
                  notes);
}

Result<void> PodSecurityAdmission::validateController(const api::AdmissionAttributes& a,
                                                      api::AdmissionNotes& notes) {
  json meta, spec;
  if (!extractPodSpec(a.resource->group, a.resource->resource, *a.object, meta, spec)) return ok();
  if (exemptRequest(a, notes)) return ok();
  auto labels = namespaceLabels(a.ns);
  if (!labels) {
    annotate(notes, "error",
             "failed to lookup namespace \"" + a.ns + "\": " + labels.error().message());
    return ok();
  }
  std::vector<LabelError> errs;
  Policy policy = policyFromLabels(*labels, config_.defaults, &errs);
  if (errs.empty() && policy.warn.level == Level::Privileged &&
      policy.audit.level == Level::Privileged)
    return ok();
  return evaluate(policy, errs, meta, spec, a, false, notes);
}

Result<void> PodSecurityAdmission::evaluate(const Policy& policy,
                                            const std::vector<LabelError>& errs, const json& meta,
                                            const json& spec, const api::AdmissionAttributes& a,
                                            bool enforce, api::AdmissionNotes& notes) {
  if (exemptRuntimeClass(spec)) {
    annotate(notes, "exempt", "runtimeClass");
    return ok();
  }
  if (!errs.empty()) annotate(notes, "error", "Failed to parse policy: " + aggregate(errs));
  std::map<std::string, AggregateResult> cache;
  auto resultFor = [&](const LevelVersion& lv) -> const AggregateResult& {
    auto it = cache.find(lv.str());
    if (it == cache.end()) it = cache.emplace(lv.str(), evaluatePod(lv, meta, spec)).first;
    return it->second;
  };
  std::optional<Error> denied;
  if (enforce) {
    annotate(notes, "enforce-policy", policy.enforce.str());
    const AggregateResult& res = resultFor(policy.enforce);
    if (!res.allowed) {
      denied =
          Error(ErrorCode::Forbidden, a.resource->qualifiedResource() + " \"" + a.name +
                                          "\" is forbidden: violates PodSecurity \"" +
                                          policy.enforce.str() + "\": " + res.forbiddenDetail());
    }
  }
  const AggregateResult& audit = resultFor(policy.audit);
  if (!audit.allowed) {
    annotate(
        notes, "audit-violations",
        "would violate PodSecurity \"" + policy.audit.str() + "\": " + audit.forbiddenDetail());
  }
  if (denied) return *denied;
  const AggregateResult& warn = resultFor(policy.warn);
  if (!warn.allowed) {
    notes.warnings.push_back("would violate PodSecurity \"" + policy.warn.str() +
                             "\": " + warn.forbiddenDetail());
  }
  return ok();
}

// Pods without a controller first, then one pod per controller, then the other replicas
// (upstream's prioritizePods), skipping exempt runtime classes.
std::vector<OwnedPod> prioritize(std::vector<OwnedPod> pods) {
  std::vector<OwnedPod> first, rest;
  std::set<std::string> seen;
  for (OwnedPod& p : pods) {
    if (p.controller_uid.empty() || seen.insert(p.controller_uid).second)
      first.push_back(std::move(p));
    else
      rest.push_back(std::move(p));
  }
  for (OwnedPod& p : rest) first.push_back(std::move(p));
  return first;
}

std::string controllerUid(const json& meta) {
  const json& refs = field(meta, "ownerReferences");
  if (!refs.is_array()) return "";
  for (const json& ref : refs) {
    if (checks::isTrue(field(ref, "controller")) && field(ref, "uid").is_string())
      return field(ref, "uid").get<std::string>();
  }
  return "";
}

std::vector<std::string> PodSecurityAdmission::evaluatePodsInNamespace(
    const std::string& ns, const LevelVersion& enforce) {
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(config_.namespace_pod_check_timeout_ms);
  const api::ResourceInfo* podsr = api::findResource("", "v1", "pods");
  auto list = registry_.list(*podsr, ns, api::Selection{});
  if (!list) return {"failed to list pods while checking new PodSecurity enforce level"};
  std::vector<OwnedPod> pods;
  for (const json& item : field(*list, "items")) {
    const json& meta = field(item, "metadata");
    if (exemptRuntimeClass(field(item, "spec"))) continue;
    pods.push_back({checks::nameOf(meta), controllerUid(meta), meta, field(item, "spec")});
  }
  pods = prioritize(std::move(pods));
  std::size_t total = pods.size(),
              checked = std::min<std::size_t>(
                  total, static_cast<std::size_t>(config_.namespace_max_pods_to_check));
  std::vector<std::string> order;
  std::map<std::string, std::pair<std::string, int>> counts;  // warning -> first name, count
  for (std::size_t i = 0; i < checked; ++i) {
    AggregateResult r = evaluatePod(enforce, pods[i].metadata, pods[i].spec);
    if (!r.allowed) {
      std::string w = r.forbiddenReason();
      auto [it, fresh] = counts.emplace(w, std::pair{pods[i].name, 0});
      if (fresh) order.push_back(w);
      if (pods[i].name < it->second.first) it->second.first = pods[i].name;
      it->second.second++;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      checked = i + 1;
      break;
    }
  }
  std::vector<std::string> warnings, pod_warnings;
  if (checked < total)
    warnings.push_back("new PodSecurity enforce level only checked against the first " +
                       std::to_string(checked) + " of " + std::to_string(total) + " existing pods");
  if (!order.empty())
    warnings.push_back("existing pods in namespace \"" + ns +
                       "\" violate the new PodSecurity enforce level \"" + enforce.str() + "\"");
  for (const std::string& w : order) {
    auto [name, n] = counts[w];
    if (n == 1)
      pod_warnings.push_back(name + ": " + w);
    else if (n == 2)
      pod_warnings.push_back(name + " (and 1 other pod): " + w);
    else
      pod_warnings.push_back(name + " (and " + std::to_string(n - 1) + " other pods): " + w);
  }
  std::sort(pod_warnings.begin(), pod_warnings.end());
  warnings.insert(warnings.end(), pod_warnings.begin(), pod_warnings.end());
  return warnings;
}

std::string PodSecurityAdmission::exemptNamespaceWarning(
    const std::string& ns, const Policy& policy,
    const std::map<std::string, std::string>& labels) const {
  if (policy.fullyPrivileged() || policy.equivalent(config_.defaults)) return "";
  std::string parts;
  auto add = [&](const char* mode, const LevelVersion& lv, const char* level_label,
                 const char* version_label) {
    if (lv.level == Level::Privileged ||
        (!labels.count(level_label) && !labels.count(version_label)))
      return;
    parts += (parts.empty() ? "" : ", ") + std::string(mode) + "=" + lv.str();
  };
  add("enforce", policy.enforce, kEnforceLabel, kEnforceVersionLabel);
  add("audit", policy.audit, kAuditLabel, kAuditVersionLabel);
  add("warn", policy.warn, kWarnLabel, kWarnVersionLabel);
  return "namespace \"" + ns + "\" is exempt from Pod Security, and the policy (" + parts +
         ") will be ignored";
}

}  // namespace

std::shared_ptr<api::AdmissionPlugin> newPodSecurityAdmission(api::Registry& registry,
                                                              PodSecurityConfig config) {
  return std::make_shared<PodSecurityAdmission>(registry, std::move(config));
}

}  // namespace skiff::master::admission
