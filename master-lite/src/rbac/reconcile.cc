// Reconciliation of the bootstrap policy at master start (pkg/registry/rbac/reconciliation):
// missing objects are created, objects marked autoupdate get back what the defaults hold.
#include <algorithm>

#include "skiff/master/api/object_util.h"
#include "skiff/master/api/registry.h"
#include "skiff/master/rbac/bootstrap_policy.h"
#include "skiff/master/rbac/rules.h"

namespace skiff::master::rbac {
namespace {

using json = nlohmann::json;
using api::ResourceInfo;

const char* kAutoupdate = "rbac.authorization.kubernetes.io/autoupdate";

// Adds to `have[key]` every entry of `want[key]` it lacks (labels, annotations).
void mergeMap(json& have, const json& want, const char* key) {
  if (!want.contains(key)) return;
  for (const auto& [k, v] : want[key].items()) {
    if (!have.contains(key) || !have[key].is_object()) have[key] = json::object();
    if (!have[key].contains(k)) have[key][k] = v;
  }
}

// Appends to have[key] the array entries of want[key] it does not hold.
void mergeList(json& have, const json& want, const char* key) {
  if (!want.contains(key) || !want[key].is_array()) return;
  if (!have.contains(key) || !have[key].is_array()) have[key] = json::array();
  for (const auto& w : want[key]) {
    if (std::find(have[key].begin(), have[key].end(), w) == have[key].end()) have[key].push_back(w);
  }
}

// The reconciled object, or null when `cur` already holds everything (or is not autoupdate).
json reconciled(const json& cur, const json& want) {
  const json& ann = api::at(cur, {"metadata", "annotations"});
  if (ann.is_object() && ann.value(kAutoupdate, "") == "false") return json();
  json next = cur;
  mergeMap(next["metadata"], want["metadata"], "labels");
  mergeMap(next["metadata"], want["metadata"], "annotations");
  if (want.contains("aggregationRule")) {
    if (!next.contains("aggregationRule") || !next["aggregationRule"].is_object())
      next["aggregationRule"] = json::object();
    mergeList(next["aggregationRule"], want["aggregationRule"], "clusterRoleSelectors");
  } else if (want.contains("rules")) {
    PolicyRules have = rulesFromJson(cur.value("rules", json::array()));
    PolicyRules missing;
    if (!covers(have, rulesFromJson(want["rules"]), &missing)) {
      if (!next.contains("rules") || !next["rules"].is_array()) next["rules"] = json::array();
      for (const auto& m : missing) next["rules"].push_back(m.toJson());
    }
  }
  if (want.contains("subjects")) mergeList(next, want, "subjects");
  return next == cur ? json() : next;
}

Result<void> reconcileOne(api::Registry& reg, const ResourceInfo& r, const json& want,
                          const api::WriteOptions& sys, ReconcileReport& report) {
  std::string ns = api::str(want, {"metadata", "namespace"});
  std::string name = api::str(want, {"metadata", "name"});
  auto cur = reg.get(r, ns, name);
  if (!cur && !cur.error().is(ErrorCode::NotFound)) return std::move(cur).error();
  if (cur && want.contains("roleRef") && cur->value("roleRef", json()) != want["roleRef"]) {
    // roleRef is immutable: a binding pointing elsewhere is replaced.
    const json& ann = api::at(*cur, {"metadata", "annotations"});
    if (ann.is_object() && ann.value(kAutoupdate, "") == "false") {
      ++report.unchanged;
      return ok();
    }
    SKIFF_TRY(reg.remove(r, ns, name, {}, sys));
    cur = Error(ErrorCode::NotFound, "replaced");
  }
  if (!cur) {
    auto made = reg.create(r, ns, want, sys);
    if (!made && !made.error().is(ErrorCode::AlreadyExists)) return std::move(made).error();
    ++report.created;
    return ok();
  }
  json next = reconciled(*cur, want);
  if (next.is_null()) {
    ++report.unchanged;
    return ok();
  }
  SKIFF_TRY(reg.update(r, ns, name, std::move(next), sys));
  ++report.updated;
  return ok();
}

// The controllers' ServiceAccounts in kube-system (created once, then the admin's).
Result<void> ensureControllerServiceAccounts(api::Registry& reg, const api::WriteOptions& sys,
                                             ReconcileReport& report) {
  const ResourceInfo& sa = *api::findResource("", "v1", "serviceaccounts");
  for (const std::string& name : controllerServiceAccounts()) {
    auto cur = reg.get(sa, "kube-system", name);
    if (cur) continue;
    if (!cur.error().is(ErrorCode::NotFound)) return std::move(cur).error();
    json obj = {{"apiVersion", "v1"},
                {"kind", "ServiceAccount"},
                {"metadata", {{"name", name}, {"namespace", "kube-system"}}}};
    auto made = reg.create(sa, "kube-system", obj, sys);
    if (!made && !made.error().is(ErrorCode::AlreadyExists))
      return std::move(made).error().wrap("create ServiceAccount 'kube-system/" + name + "'");
    ++report.created;
  }
  return ok();
}

}  // namespace

Result<ReconcileReport> reconcileBootstrapPolicy(api::Registry& registry) {
  api::WriteOptions sys;
  sys.field_manager = "skiff-master";
  sys.user = {"system:apiserver", {"system:masters", "system:authenticated"}};
  const BootstrapPolicy& p = bootstrapPolicy();
  const std::string g = "rbac.authorization.k8s.io";
  ReconcileReport report;
  struct Set {
    const char* resource;
    const std::vector<json>* objects;
  };
  for (const Set& s :
       {Set{"clusterroles", &p.cluster_roles}, Set{"clusterrolebindings", &p.cluster_role_bindings},
        Set{"roles", &p.roles}, Set{"rolebindings", &p.role_bindings}}) {
    const ResourceInfo& r = *api::findResource(g, "v1", s.resource);
    for (const auto& obj : *s.objects) {
      auto done = reconcileOne(registry, r, obj, sys, report);
      if (!done) {
        return std::move(done).error().wrap("reconcile " + std::string(s.resource) + " '" +
                                            api::str(obj, {"metadata", "name"}) + "'");
      }
    }
  }
  SKIFF_TRY(ensureControllerServiceAccounts(registry, sys, report));
  return report;
}

}  // namespace skiff::master::rbac
