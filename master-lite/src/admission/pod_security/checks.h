#pragma once

// The check table behind evaluatePod (k8s.io/pod-security-admission policy/check_*.go): each
// check has an ID, a level and versioned implementations; a restricted check may override
// (replace) baseline checks from its version on. Shared by the check files and policy.cc.

#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "skiff/master/admission/pod_security_policy.h"

namespace skiff::master::admission::checks {

using json = nlohmann::json;
using CheckFn = CheckResult (*)(const json& meta, const json& spec);

struct VersionedCheck {
  int min_minor;  // v1.<min_minor> is the first version it applies to
  CheckFn fn;
  std::vector<std::string> overrides;  // baseline check IDs this one replaces
};

struct Check {
  std::string id;
  Level level;
  std::vector<VersionedCheck> versions;  // strictly increasing min_minor
};

// Sorted by ID (upstream evaluates baseline checks by ID, then restricted checks by ID).
const std::vector<Check>& baselineChecks();
const std::vector<Check>& restrictedChecks();

// --- helpers shared by the check files ---

// obj[key] or a null value when obj is not an object or has no such key.
const json& field(const json& obj, const char* key);
bool isTrue(const json& v);
bool isFalse(const json& v);
// Calls fn(container) for initContainers, containers and ephemeralContainers, in that order.
template <typename Fn>
void visitContainers(const json& spec, Fn&& fn) {
  for (const char* list : {"initContainers", "containers", "ephemeralContainers"}) {
    const json& cs = field(spec, list);
    if (!cs.is_array()) continue;
    for (const json& c : cs) fn(c);
  }
}
std::string nameOf(const json& container);
// `"a", "b"`
std::string joinQuote(const std::vector<std::string>& items);
std::string joinQuote(const std::set<std::string>& items);
std::string join(const std::vector<std::string>& items, const char* sep);
const char* pluralize(const char* singular, const char* plural, std::size_t n);
// `container "a"` / `containers "a", "b"`
std::string containersPhrase(const std::vector<std::string>& names);
// spec.os.name == "windows"
bool windowsPod(const json& spec);
// spec.hostUsers == false
bool userNamespacePod(const json& spec);
// Go's %q for the strings these messages quote.
std::string goQuote(const std::string& s);

CheckResult allow();
CheckResult deny(std::string reason, std::string detail);

}  // namespace skiff::master::admission::checks
