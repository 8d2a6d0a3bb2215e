// Role, ClusterRole, RoleBinding, ClusterRoleBinding (pkg/registry/rbac/*): RBAC names are path
// segments (ValidateRBACName), rules and subjects are validated as pkg/apis/rbac/validation
// does, a binding's roleRef never changes, and nobody grants what they do not hold
// (policybased storage: escalation prevention unless system:masters, `escalate` on the role
// or `bind` on the referenced role).
#include <algorithm>

#include "skiff/master/api/authorizer.h"
#include "skiff/master/api/object_util.h"
#include "skiff/master/rbac/policy_index.h"
#include "strategies.h"

namespace skiff::master::api {
namespace {

using Type = FieldError::Type;
const char* kGroup = "rbac.authorization.k8s.io";

std::string quotedList(const std::vector<std::string>& v) {
  std::string d = "supported values: ";
  for (std::size_t i = 0; i < v.size(); ++i) d += (i ? ", " : "") + json(v[i]).dump();
  return d;
}

// ValidateRBACName: any path segment name.
std::string checkPathSegment(const std::string& name) {
  if (name == "." || name == "..") return "may not be '" + name + "'";
  if (name.find('/') != std::string::npos) return "may not contain '/'";
  if (name.find('%') != std::string::npos) return "may not contain '%'";
  return "";
}

// The generic checks except the DNS-subdomain rule for metadata.name, replaced by the RBAC one.
FieldErrors metadataErrors(const ResourceInfo& r, const json& obj, const json* old) {
  FieldErrors errs = validateObject(r, obj, old);
  errs.erase(std::remove_if(errs.begin(), errs.end(),
                            [](const FieldError& e) {
                              return e.field == "metadata.name" && e.type == Type::Invalid;
                            }),
             errs.end());
  std::string name = str(obj, {"metadata", "name"});
  if (!name.empty()) {
    if (auto m = checkPathSegment(name); !m.empty())
      errs.push_back({Type::Invalid, "metadata.name", name, m});
  }
  return errs;
}

void validateRules(const json& obj, bool namespaced, FieldErrors& errs) {
  const json& rules = obj.value("rules", json::array());
  if (!rules.is_array()) return;
  for (std::size_t i = 0; i < rules.size(); ++i) {
    std::string p = "rules[" + std::to_string(i) + "]";
    rbac::PolicyRule r = rbac::ruleFromJson(rules[i]);
    if (r.verbs.empty())
      errs.push_back(
          {Type::Required, p + ".verbs", json(), "verbs must contain at least one value"});
    if (!r.non_resource_urls.empty()) {
      if (namespaced) {
        errs.push_back({Type::Invalid, p + ".nonResourceURLs", r.non_resource_urls,
                        "namespaced rules cannot apply to non-resource URLs"});
      }
      if (!r.api_groups.empty() || !r.resources.empty() || !r.resource_names.empty()) {
        errs.push_back({Type::Invalid, p + ".nonResourceURLs", r.non_resource_urls,
                        "rules cannot apply to both regular resources and non-resource URLs"});
      }
      continue;
    }
    if (r.api_groups.empty()) {
      errs.push_back({Type::Required, p + ".apiGroups", json(),
                      "resource rules must supply at least one api group"});
    }
    if (r.resources.empty()) {
      errs.push_back({Type::Required, p + ".resources", json(),
                      "resource rules must supply at least one resource"});
    }
  }
}

void validateSubject(const json& s, bool namespaced, const std::string& p, FieldErrors& errs) {
  std::string kind = s.value("kind", ""), name = s.value("name", ""), g = s.value("apiGroup", "");
  if (name.empty()) errs.push_back({Type::Required, p + ".name", json(), ""});
  if (kind == "ServiceAccount") {
    if (!name.empty()) {
      if (auto m = checkDns1123Subdomain(name); !m.empty())
        errs.push_back({Type::Invalid, p + ".name", name, m});
    }
    if (!g.empty()) errs.push_back({Type::NotSupported, p + ".apiGroup", g, quotedList({""})});
    if (!namespaced && s.value("namespace", "").empty())
      errs.push_back({Type::Required, p + ".namespace", json(), ""});
  } else if (kind == "User" || kind == "Group") {
    if (g != kGroup) errs.push_back({Type::NotSupported, p + ".apiGroup", g, quotedList({kGroup})});
  } else {
    errs.push_back(
        {Type::NotSupported, p + ".kind", kind, quotedList({"ServiceAccount", "User", "Group"})});
  }
}

bool escalationAllowed(const UserInfo& u) { return u.inGroup("system:masters"); }

// ConfirmNoEscalation: the caller's RBAC rules in `ns` must cover `rules`.
Result<void> confirmNoEscalation(Registry& reg, const ResourceInfo& r, const std::string& name,
                                 const UserInfo& u, const std::string& ns,
                                 const rbac::PolicyRules& rules) {
  std::vector<std::string> errors;
  rbac::PolicyRules owner = reg.policy().rulesFor({u.name, u.groups}, ns, &errors);
  rbac::PolicyRules missing;
  if (rbac::covers(owner, rules, &missing)) return ok();
  std::vector<std::string> lines;
  for (const auto& m : missing) lines.push_back(m.compactString());
  std::sort(lines.begin(), lines.end());
  lines.erase(std::unique(lines.begin(), lines.end()), lines.end());
  std::string groups;
  for (std::size_t i = 0; i < u.groups.size(); ++i)
    groups += (i ? " " : "") + json(u.groups[i]).dump();
  std::string msg = r.qualifiedResource() + " \"" + name + "\" is forbidden: user " +
                    json(u.name).dump() + " (groups=[" + groups +
                    "]) is attempting to grant RBAC permissions not currently held:";
  for (const auto& l : lines) msg += "\n" + l;
  if (!errors.empty()) {
    msg += "; resolution errors: [";
    for (std::size_t i = 0; i < errors.size(); ++i) msg += (i ? " " : "") + errors[i];
    msg += "]";
  }
  return Error(ErrorCode::Forbidden, msg);
}

bool verbAllowed(Registry& reg, const UserInfo& u, const std::string& verb,
                 const std::string& resource, const std::string& ns, const std::string& name) {
  rbac::Attributes a;
  a.user = u.name;
  a.verb = verb;
  a.api_group = kGroup;
  a.resource = resource;
  a.ns = ns;
  a.name = name;
  return authorizeAttributes(reg, u, a).allowed;
}

class RoleStrategy : public Strategy {
 public:
  explicit RoleStrategy(Registry& reg) : reg_(reg) {}

  FieldErrors validate(const ResourceInfo& r, const json& obj, const json* old) const override {
    FieldErrors errs = metadataErrors(r, obj, old);
    validateRules(obj, r.namespaced, errs);
    const json& agg = obj.value("aggregationRule", json());
    if (!r.namespaced && agg.is_object()) {
      const json& sel = agg.value("clusterRoleSelectors", json());
      if (!sel.is_array() || sel.empty()) {
        errs.push_back({Type::Required, "aggregationRule.clusterRoleSelectors", json(),
                        "at least one clusterRoleSelector required if aggregationRule is "
                        "non-nil"});
      }
    }
    return errs;
  }
  Result<void> admitCreate(const ResourceInfo& r, json& obj, const WriteOptions& opts) override {
    return check(r, obj, opts.user, "");
  }
  Result<void> admitUpdateBy(const ResourceInfo& r, const json& obj, const json& old,
                             const WriteOptions& opts) override {
    if (obj.value("rules", json()) == old.value("rules", json()) &&
        obj.value("aggregationRule", json()) == old.value("aggregationRule", json()))
      return ok();
    return check(r, obj, opts.user, str(obj, {"metadata", "name"}));
  }

 private:
  // `request_name` is the request's object name ("" on create), as RoleEscalationAuthorized
  // asks for `escalate`.
  Result<void> check(const ResourceInfo& r, const json& obj, const UserInfo& u,
                     const std::string& request_name) {
    if (escalationAllowed(u)) return ok();
    std::string ns = r.namespaced ? str(obj, {"metadata", "namespace"}) : "";
    std::string name = str(obj, {"metadata", "name"});
    if (verbAllowed(reg_, u, "escalate", r.resource, ns, request_name)) return ok();
    SKIFF_TRY(confirmNoEscalation(reg_, r, name, u, ns,
                                  rbac::rulesFromJson(obj.value("rules", json::array()))));
    if (obj.contains("aggregationRule") && !obj["aggregationRule"].is_null()) {
      rbac::PolicyRules full{{{"*"}, {"*"}, {"*"}, {}, {}}, {{"*"}, {}, {}, {}, {"*"}}};
      if (!confirmNoEscalation(reg_, r, name, u, ns, full)) {
        return Error(ErrorCode::Forbidden,
                     r.qualifiedResource() + " \"" + name +
                         "\" is forbidden: must have cluster-admin privileges to use the "
                         "aggregationRule");
      }
    }
    return ok();
  }
  Registry& reg_;
};

class BindingStrategy : public Strategy {
 public:
  explicit BindingStrategy(Registry& reg) : reg_(reg) {}

  void defaults(const ResourceInfo& r, json& obj) const override {
    Strategy::defaults(r, obj);
    if (obj.contains("roleRef") && obj["roleRef"].is_object() &&
        obj["roleRef"].value("apiGroup", "").empty())
      obj["roleRef"]["apiGroup"] = kGroup;
    if (!obj.contains("subjects") || !obj["subjects"].is_array()) return;
    for (auto& s : obj["subjects"]) {
      if (!s.is_object() || !s.value("apiGroup", "").empty()) continue;
      std::string kind = s.value("kind", "");
      if (kind == "User" || kind == "Group") s["apiGroup"] = kGroup;
    }
  }
  FieldErrors validate(const ResourceInfo& r, const json& obj, const json* old) const override {
    FieldErrors errs = metadataErrors(r, obj, old);
    const json& ref = obj.value("roleRef", json::object());
    std::string g = ref.value("apiGroup", ""), kind = ref.value("kind", "");
    std::string name = ref.value("name", "");
    if (g != kGroup)
      errs.push_back({Type::NotSupported, "roleRef.apiGroup", g, quotedList({kGroup})});
    std::vector<std::string> kinds = r.namespaced ? std::vector<std::string>{"Role", "ClusterRole"}
                                                  : std::vector<std::string>{"ClusterRole"};
    if (std::find(kinds.begin(), kinds.end(), kind) == kinds.end())
      errs.push_back({Type::NotSupported, "roleRef.kind", kind, quotedList(kinds)});
    if (name.empty()) {
      errs.push_back({Type::Required, "roleRef.name", json(), ""});
    } else if (auto m = checkPathSegment(name); !m.empty()) {
      errs.push_back({Type::Invalid, "roleRef.name", name, m});
    }
    const json& subjects = obj.value("subjects", json::array());
    for (std::size_t i = 0; subjects.is_array() && i < subjects.size(); ++i) {
      validateSubject(subjects[i], r.namespaced, "subjects[" + std::to_string(i) + "]", errs);
    }
    if (old && old->value("roleRef", json()) != obj.value("roleRef", json())) {
      errs.push_back(
          {Type::Invalid, "roleRef", obj.value("roleRef", json()), "cannot change roleRef"});
    }
    return errs;
  }
  Result<void> admitCreate(const ResourceInfo& r, json& obj, const WriteOptions& opts) override {
    return check(r, obj, opts.user);
  }
  Result<void> admitUpdateBy(const ResourceInfo& r, const json& obj, const json& old,
                             const WriteOptions& opts) override {
    if (obj.value("subjects", json()) == old.value("subjects", json())) return ok();
    return check(r, obj, opts.user);
  }

 private:
  Result<void> check(const ResourceInfo& r, const json& obj, const UserInfo& u) {
    if (escalationAllowed(u)) return ok();
    std::string ns = r.namespaced ? str(obj, {"metadata", "namespace"}) : "";
    std::string kind = str(obj, {"roleRef", "kind"}), role = str(obj, {"roleRef", "name"});
    // BindingAuthorized: `bind` on the referenced role, checked in the binding's namespace.
    if (verbAllowed(reg_, u, "bind", kind == "Role" ? "roles" : "clusterroles", ns, role))
      return ok();
    auto rules = reg_.policy().roleRules(kind, kind == "Role" ? ns : "", role);
    if (!rules) {
      return Error(ErrorCode::BadRequest, (kind == "Role" ? "role" : "clusterrole") +
                                              std::string(".rbac.authorization.k8s.io \"") + role +
                                              "\" not found");
    }
    return confirmNoEscalation(reg_, r, str(obj, {"metadata", "name"}), u, ns, *rules);
  }
  Registry& reg_;
};

}  // namespace

StrategyPtr newReviewStrategy(Registry& registry);

void registerRbacStrategies(Registry& registry) {
  auto roles = std::make_shared<RoleStrategy>(registry);
  auto bindings = std::make_shared<BindingStrategy>(registry);
  StrategyRegistry& t = registry.strategies();
  t.add(kGroup, "roles", roles);
  t.add(kGroup, "clusterroles", roles);
  t.add(kGroup, "rolebindings", bindings);
  t.add(kGroup, "clusterrolebindings", bindings);
  StrategyPtr reviews = newReviewStrategy(registry);
  for (const char* res : {"subjectaccessreviews", "localsubjectaccessreviews",
                          "selfsubjectaccessreviews", "selfsubjectrulesreviews"}) {
    t.add("authorization.k8s.io", res, reviews);
  }
  t.add("authentication.k8s.io", "selfsubjectreviews", reviews);
}

}  // namespace skiff::master::api
