// The RBAC policy index: stored Roles, ClusterRoles and bindings, indexed by subject.
#include "skiff/master/rbac/policy_index.h"

#include <algorithm>
#include <mutex>
#include <set>

#include <nlohmann/json.hpp>

namespace skiff::master::rbac {
namespace {

using json = nlohmann::json;

struct ParsedKey {
  std::string resource, ns, name;
};

const char* const kRbacResources[] = {"roles", "rolebindings", "clusterroles",
                                      "clusterrolebindings"};

// "<root>/rolebindings/<ns>/<name>" -> parts.
std::optional<ParsedKey> parseKey(const std::string& root, const std::string& key) {
  std::string p = root + "/";
  if (key.compare(0, p.size(), p) != 0) return std::nullopt;
  std::string rest = key.substr(p.size());
  auto s1 = rest.find('/');
  if (s1 == std::string::npos) return std::nullopt;
  ParsedKey k;
  k.resource = rest.substr(0, s1);
  std::string tail = rest.substr(s1 + 1);
  bool namespaced = k.resource == "roles" || k.resource == "rolebindings";
  if (namespaced) {
    auto s2 = tail.find('/');
    if (s2 == std::string::npos) return std::nullopt;
    k.ns = tail.substr(0, s2);
    k.name = tail.substr(s2 + 1);
  } else {
    k.name = tail;
  }
  return k;
}

std::string s(const json& obj, const char* k) {
  auto it = obj.find(k);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string notFound(const std::string& kind, const std::string& name) {
  return (kind == "Role" ? "role" : "clusterrole") + std::string(".rbac.authorization.k8s.io \"") +
         name + "\" not found";
}

}  // namespace

PolicyIndex::~PolicyIndex() {
  for (auto& w : watches_) w->stop();
}

Result<void> PolicyIndex::follow(store::Store& store, const std::string& root) {
  root_ = root;
  for (const char* resource : kRbacResources) {
    std::string prefix = root + "/" + resource + "/";
    auto listed = store.list(prefix);
    if (!listed) return std::move(listed).error().wrap("list rbac " + std::string(resource));
    for (const auto& kv : listed->items) put(kv.key, kv.value);
    auto w = store.watch(prefix, listed->revision, [this](const store::EventPtr& ev) {
      if (ev->type == store::EventType::Put)
        put(ev->kv.key, ev->kv.value);
      else
        remove(ev->kv.key);
    });
    if (!w) return std::move(w).error().wrap("watch rbac " + std::string(resource));
    watches_.push_back(std::move(w).value());
  }
  return ok();
}

void PolicyIndex::unindex(const std::string& key) {
  auto it = bindings_.find(key);
  if (it == bindings_.end()) return;
  BindingPtr b = it->second;
  bindings_.erase(it);
  auto& by = b->ns.empty() ? cluster_by_subject_ : ns_by_subject_;
  for (const auto& sk : b->subject_keys) {
    auto e = by.find(b->ns.empty() ? sk : sk + "\n" + b->ns);
    if (e == by.end()) continue;
    auto& v = e->second;
    v.erase(std::remove(v.begin(), v.end(), b), v.end());
    if (v.empty()) by.erase(e);
  }
}

void PolicyIndex::put(const std::string& key, const std::string& value) {
  auto k = parseKey(root_, key);
  if (!k) return;
  json obj = json::parse(value, nullptr, false);
  if (!obj.is_object()) return;
  std::unique_lock lock(mu_);
  if (k->resource == "roles" || k->resource == "clusterroles") {
    auto rules = std::make_shared<const PolicyRules>(rulesFromJson(obj.value("rules", json())));
    if (k->resource == "roles")
      roles_[k->ns + "/" + k->name] = std::move(rules);
    else
      cluster_roles_[k->name] = std::move(rules);
    return;
  }
  if (k->resource != "rolebindings" && k->resource != "clusterrolebindings") return;
  unindex(key);
  auto b = std::make_shared<Binding>();
  b->ns = k->ns;
  b->name = k->name;
  const json& ref = obj.value("roleRef", json::object());
  b->role_kind = s(ref, "kind");
  b->role_name = s(ref, "name");
  std::set<std::string> keys;
  for (const auto& sub : obj.value("subjects", json::array())) {
    if (!sub.is_object()) continue;
    std::string kind = s(sub, "kind"), name = s(sub, "name"), key;
    if (kind == "User") key = "u:" + name;
    if (kind == "Group") key = "g:" + name;
    if (kind == "ServiceAccount") {
      std::string ns = s(sub, "namespace").empty() ? k->ns : s(sub, "namespace");
      if (!ns.empty()) key = "u:system:serviceaccount:" + ns + ":" + name;
      name += "/" + ns;
    }
    if (key.empty()) continue;
    keys.insert(key);
    b->described.emplace(key, kind + " \"" + name + "\"");
  }
  b->subject_keys.assign(keys.begin(), keys.end());
  auto& by = b->ns.empty() ? cluster_by_subject_ : ns_by_subject_;
  for (const auto& sk : b->subject_keys) by[b->ns.empty() ? sk : sk + "\n" + b->ns].push_back(b);
  bindings_[key] = std::move(b);
}

void PolicyIndex::remove(const std::string& key) {
  auto k = parseKey(root_, key);
  if (!k) return;
  std::unique_lock lock(mu_);
  if (k->resource == "roles") roles_.erase(k->ns + "/" + k->name);
  if (k->resource == "clusterroles") cluster_roles_.erase(k->name);
  if (k->resource == "rolebindings" || k->resource == "clusterrolebindings") unindex(key);
}

const PolicyRules* PolicyIndex::rolesRules(const Binding& b,
                                           std::vector<std::string>* errors) const {
  if (b.role_kind == "Role") {
    auto it = roles_.find(b.ns + "/" + b.role_name);
    if (it != roles_.end()) return it->second.get();
  } else if (b.role_kind == "ClusterRole") {
    auto it = cluster_roles_.find(b.role_name);
    if (it != cluster_roles_.end()) return it->second.get();
  }
  if (errors) errors->push_back(notFound(b.role_kind, b.role_name));
  return nullptr;
}

template <typename Fn>
void PolicyIndex::visit(const Subject& subject, const std::string& ns,
                        std::vector<std::string>* errors, Fn fn) const {
  auto each = [&](const std::string& sk) {
    if (auto it = cluster_by_subject_.find(sk); it != cluster_by_subject_.end()) {
      for (const auto& b : it->second) {
        const PolicyRules* rules = rolesRules(*b, errors);
        if (rules && fn(*b, *rules, sk)) return true;
      }
    }
    if (ns.empty()) return false;
    if (auto it = ns_by_subject_.find(sk + "\n" + ns); it != ns_by_subject_.end()) {
      for (const auto& b : it->second) {
        const PolicyRules* rules = rolesRules(*b, errors);
        if (rules && fn(*b, *rules, sk)) return true;
      }
    }
    return false;
  };
  if (each("u:" + subject.user)) return;
  for (const auto& g : subject.groups) {
    if (each("g:" + g)) return;
  }
}

Decision PolicyIndex::authorize(const Subject& subject, const Attributes& a) const {
  std::shared_lock lock(mu_);
  Decision d;
  std::vector<std::string> errors;
  visit(subject, a.ns, &errors,
        [&](const Binding& b, const PolicyRules& rules, const std::string& sk) {
          d.allowed = rulesAllow(a, rules);
          if (d.allowed) {
            auto it = b.described.find(sk);
            d.reason = "RBAC: allowed by " +
                       (b.ns.empty() ? "ClusterRoleBinding \"" + b.name
                                     : "RoleBinding \"" + b.name + "/" + b.ns) +
                       "\" of " + b.role_kind + " \"" + b.role_name + "\" to " +
                       (it == b.described.end() ? sk : it->second);
          }
          return d.allowed;
        });
  if (!d.allowed && !errors.empty()) {
    // utilerrors.NewAggregate: one message alone, several as [a, b] without repeats.
    std::vector<std::string> uniq;
    for (auto& e : errors) {
      if (std::find(uniq.begin(), uniq.end(), e) == uniq.end()) uniq.push_back(e);
    }
    std::string joined;
    for (std::size_t i = 0; i < uniq.size(); ++i) joined += (i ? ", " : "") + uniq[i];
    d.reason = "RBAC: " + (uniq.size() == 1 ? joined : "[" + joined + "]");
  }
  return d;
}

PolicyRules PolicyIndex::rulesFor(const Subject& subject, const std::string& ns,
                                  std::vector<std::string>* errors) const {
  std::shared_lock lock(mu_);
  PolicyRules out;
  visit(subject, ns, errors, [&](const Binding&, const PolicyRules& rules, const std::string&) {
    out.insert(out.end(), rules.begin(), rules.end());
    return false;
  });
  return out;
}

std::optional<PolicyRules> PolicyIndex::roleRules(const std::string& kind, const std::string& ns,
                                                  const std::string& name) const {
  std::shared_lock lock(mu_);
  if (kind == "Role") {
    auto it = roles_.find(ns + "/" + name);
    if (it != roles_.end()) return *it->second;
  } else if (kind == "ClusterRole") {
    auto it = cluster_roles_.find(name);
    if (it != cluster_roles_.end()) return *it->second;
  }
  return std::nullopt;
}

std::size_t PolicyIndex::bindingCount() const {
  std::shared_lock lock(mu_);
  return bindings_.size();
}

}  // namespace skiff::master::rbac
