#pragma once

// An in-memory index of the RBAC objects in the store (Roles, ClusterRoles and their bindings),
// kept current by a store watch, so that an authorization decision costs the bindings of the
// requesting user and groups and not a scan of every object: upstream's RBAC authorizer reads
// the same objects through informer caches (plugin/pkg/auth/authorizer/rbac, the
// DefaultRuleResolver of pkg/registry/rbac/validation).
//
// Subjects are indexed as upstream's appliesTo matches them: User by name, Group by name,
// ServiceAccount as the user "system:serviceaccount:<namespace>:<name>" (the namespace defaults
// to the binding's). ClusterRoleBindings apply everywhere; RoleBindings only to requests in
// their namespace. A binding whose role is missing grants nothing and is reported as a
// resolution error ("RBAC: clusterrole.rbac.authorization.k8s.io \"x\" not found").
//
// Thread-safe: the store's watch handler updates under an exclusive lock; decisions take a
// shared lock and never call the store. The watch delivers every write before the write
// returns to its caller, so a binding created by a request applies to the next request.

#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "skiff/common/result.h"
#include "skiff/master/rbac/rules.h"
#include "skiff/master/store/store.h"

namespace skiff::master::rbac {

// The rbac.authorization.k8s.io objects in the store (storage_keys.h, kube-apiserver's layout):
// <root>/{roles,rolebindings}/<namespace>/<name>, <root>/{clusterroles,clusterrolebindings}/<name>.
// kStorePrefix is the default root with its slash.
inline constexpr const char* kStorePrefix = "/registry/";

struct Subject {
  std::string user;
  std::vector<std::string> groups;
};

struct Decision {
  bool allowed = false;
  // Upstream's RBAC reason: `RBAC: allowed by ClusterRoleBinding "x" of ClusterRole "y" to
  // Group "z"` when allowed; on a denial "" or "RBAC: <resolution errors>".
  std::string reason;
};

class PolicyIndex {
 public:
  PolicyIndex() = default;
  ~PolicyIndex();
  PolicyIndex(const PolicyIndex&) = delete;
  PolicyIndex& operator=(const PolicyIndex&) = delete;

  // Loads every RBAC object under `root` (the registry's storage prefix) from `store` and
  // follows its changes until destroyed.
  Result<void> follow(store::Store& store, const std::string& root = "/registry");

  // Applies one stored object (key under the root, value its JSON) or its removal. Other
  // keys are ignored. follow() calls these; tests may too.
  void put(const std::string& key, const std::string& value);
  void remove(const std::string& key);

  // RBAC's decision for `subject` doing `a`: allowed when a rule of a role bound to the user or
  // one of the groups (cluster-wide, or in a.ns) allows it.
  Decision authorize(const Subject& subject, const Attributes& a) const;
  // Every rule bound to `subject` in `ns` ("" = cluster bindings only), as RulesFor; missing
  // roles are described in `errors` (may be null).
  PolicyRules rulesFor(const Subject& subject, const std::string& ns,
                       std::vector<std::string>* errors) const;
  // The rules of Role ns/name (kind "Role") or ClusterRole name; nullopt when it does not exist.
  std::optional<PolicyRules> roleRules(const std::string& kind, const std::string& ns,
                                       const std::string& name) const;
  std::size_t bindingCount() const;

 private:
  struct Binding {
    std::string ns;  // "" = ClusterRoleBinding
    std::string name;
    std::string role_kind, role_name;
    std::vector<std::string> subject_keys;
    std::unordered_map<std::string, std::string> described;  // key -> `Group "system:masters"`
  };
  using BindingPtr = std::shared_ptr<const Binding>;
  using RulesPtr = std::shared_ptr<const PolicyRules>;

  // Calls fn(binding, rules, subject key) for each role bound to the subject (cluster bindings,
  // then those in ns); fn returns true to stop. Missing roles go to errors. Caller holds mu_.
  template <typename Fn>
  void visit(const Subject& subject, const std::string& ns, std::vector<std::string>* errors,
             Fn fn) const;
  const PolicyRules* rolesRules(const Binding& b, std::vector<std::string>* errors) const;
  void unindex(const std::string& key);

  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, RulesPtr> roles_;          // "<ns>/<name>"
  std::unordered_map<std::string, RulesPtr> cluster_roles_;  // "<name>"
  std::unordered_map<std::string, BindingPtr> bindings_;     // store key -> binding
  std::unordered_map<std::string, std::vector<BindingPtr>> cluster_by_subject_;
  std::unordered_map<std::string, std::vector<BindingPtr>> ns_by_subject_;  // "<subj>\n<ns>"
  std::vector<store::WatchPtr> watches_;
  std::string root_ = "/registry";  // set by follow() before any watch delivers
};

}  // namespace skiff::master::rbac
