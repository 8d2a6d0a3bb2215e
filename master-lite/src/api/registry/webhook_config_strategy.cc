// admissionregistration.k8s.io/v1 Validating/MutatingWebhookConfiguration and
// apiregistration.k8s.io/v1 APIService: defaults (admissionregistration/v1/defaults.go,
// kube-aggregator's apiregistration/v1/defaults.go) and validation with upstream's messages
// (admissionregistration/validation, kube-aggregator apiregistration/validation).
#include <set>

#include "field_checks.h"
#include "registry_internal.h"
#include "skiff/master/api/object_util.h"
#include "skiff/master/selectors.h"
#include "strategies.h"

namespace skiff::master::api {
namespace {

using json = nlohmann::json;

std::string idx(const std::string& path, std::size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

// SetDefaults_ValidatingWebhook / SetDefaults_MutatingWebhook / SetDefaults_Rule /
// SetDefaults_ServiceReference.
void defaultWebhook(json& w, bool mutating) {
  if (!w.is_object()) return;
  setIfMissing(w, "failurePolicy", "Fail");
  setIfMissing(w, "matchPolicy", "Equivalent");
  setIfMissing(w, "namespaceSelector", json::object());
  setIfMissing(w, "objectSelector", json::object());
  setIfMissing(w, "timeoutSeconds", 10);
  if (mutating) setIfMissing(w, "reinvocationPolicy", "Never");
  if (w.contains("rules") && w["rules"].is_array()) {
    for (auto& rule : w["rules"]) {
      if (rule.is_object()) setIfMissing(rule, "scope", "*");
    }
  }
  if (w.contains("clientConfig") && w["clientConfig"].is_object() &&
      w["clientConfig"].contains("service") && w["clientConfig"]["service"].is_object()) {
    setIfMissing(w["clientConfig"]["service"], "port", 443);
  }
}

void requiredList(FieldChecks& v, const json& rule, const char* key, const std::string& path) {
  const json& l = at(rule, {key});
  if (!l.is_array() || l.empty()) v.required(path + "." + key);
}

void checkRules(FieldChecks& v, const json& rules, const std::string& path) {
  for (std::size_t i = 0; rules.is_array() && i < rules.size(); ++i) {
    const json& r = rules[i];
    std::string rp = idx(path, i);
    requiredList(v, r, "operations", rp);
    requiredList(v, r, "apiGroups", rp);
    requiredList(v, r, "apiVersions", rp);
    requiredList(v, r, "resources", rp);
    const json& ops = at(r, {"operations"});
    for (std::size_t j = 0; ops.is_array() && j < ops.size(); ++j) {
      static const std::set<std::string> ok{"*", "CREATE", "UPDATE", "DELETE", "CONNECT"};
      if (!ops[j].is_string() || !ok.count(ops[j].get<std::string>()))
        v.notSupported(idx(rp + ".operations", j), ops[j],
                       {"*", "CONNECT", "CREATE", "DELETE", "UPDATE"});
    }
    const json& res = at(r, {"resources"});
    for (std::size_t j = 0; res.is_array() && j < res.size(); ++j) {
      if (res[j] == "")
        v.required(idx(rp + ".resources", j));
      else if (res.size() > 1 && res[j] == "*")
        v.invalid(rp + ".resources", res, "if '*' is present, must not specify other resources");
    }
    v.oneOf(r, "scope", rp + ".scope", {"*", "Cluster", "Namespaced"});
  }
}

void checkClientConfig(FieldChecks& v, const json& cc, const std::string& path) {
  bool url = has(cc, "url"), svc = has(cc, "service");
  if (url == svc) {
    v.required(path, "exactly one of url or service is required");
    return;
  }
  if (url) {
    std::string u = str(cc, {"url"});
    if (u.rfind("https://", 0) != 0) {
      v.invalid(path + ".url", u, "'https' is the only allowed URL scheme");
    } else if (u.find('#') != std::string::npos) {
      v.invalid(path + ".url", u, "fragments are not permitted in the URL");
    } else if (u.find('?') != std::string::npos) {
      v.invalid(path + ".url", u, "query parameters are not permitted in the URL");
    } else if (u.size() <= 8 || u[8] == '/') {
      v.invalid(path + ".url", u, "host must be specified");
    }
    return;
  }
  const json& s = cc["service"];
  if (str(s, {"name"}).empty()) v.required(path + ".service.name", "service name is required");
  if (str(s, {"namespace"}).empty())
    v.required(path + ".service.namespace", "service namespace is required");
  std::string p = str(s, {"path"});
  if (!p.empty() && p[0] != '/') v.invalid(path + ".service.path", p, "must start with a '/'");
  if (has(s, "port") && !validPort(s["port"]))
    v.invalid(path + ".service.port", s["port"], "port is not valid: must be between 1 and 65535");
}

void checkWebhook(FieldChecks& v, const json& w, const std::string& path, bool mutating) {
  std::string name = str(w, {"name"});
  if (name.empty()) {
    v.required(path + ".name");
  } else if (auto m = checkDns1123Subdomain(name); !m.empty()) {
    v.invalid(path + ".name", name, m);
  } else if (std::count(name.begin(), name.end(), '.') < 2) {
    v.invalid(path + ".name", name,
              "should be a domain with at least three segments separated by dots");
  }
  checkRules(v, at(w, {"rules"}), path + ".rules");
  v.oneOf(w, "failurePolicy", path + ".failurePolicy", {"Fail", "Ignore"});
  v.oneOf(w, "matchPolicy", path + ".matchPolicy", {"Equivalent", "Exact"});
  if (!has(w, "sideEffects")) {
    v.required(path + ".sideEffects", "must specify one of None, NoneOnDryRun");
  } else {
    v.oneOf(w, "sideEffects", path + ".sideEffects", {"None", "NoneOnDryRun"});
  }
  const json& t = at(w, {"timeoutSeconds"});
  if (t.is_number_integer() && (t.get<long long>() < 1 || t.get<long long>() > 30))
    v.invalid(path + ".timeoutSeconds", t, "the timeout value must be between 1 and 30 seconds");
  const json& versions = at(w, {"admissionReviewVersions"});
  if (!versions.is_array() || versions.empty()) {
    v.required(path + ".admissionReviewVersions", "must specify one of v1, v1beta1");
  } else {
    bool known = false;
    for (const auto& x : versions) known = known || x == "v1" || x == "v1beta1";
    if (!known)
      v.invalid(path + ".admissionReviewVersions", versions,
                "must include at least one of v1, v1beta1");
  }
  for (const char* sel : {"namespaceSelector", "objectSelector"}) {
    if (!has(w, sel)) continue;
    auto parsed = LabelSelector::fromJson(w[sel]);
    if (!parsed) v.invalid(path + "." + sel, w[sel], parsed.error().message());
  }
  if (mutating)
    v.oneOf(w, "reinvocationPolicy", path + ".reinvocationPolicy", {"IfNeeded", "Never"});
  checkClientConfig(v, at(w, {"clientConfig"}), path + ".clientConfig");
  const json& conds = at(w, {"matchConditions"});
  for (std::size_t i = 0; conds.is_array() && i < conds.size(); ++i) {
    if (str(conds[i], {"name"}).empty()) v.required(idx(path + ".matchConditions", i) + ".name");
    if (str(conds[i], {"expression"}).empty())
      v.required(idx(path + ".matchConditions", i) + ".expression");
  }
}

FieldErrors validateWebhookConfiguration(const json& obj, bool mutating) {
  FieldChecks v;
  const json& hooks = at(obj, {"webhooks"});
  std::set<std::string> names;
  for (std::size_t i = 0; hooks.is_array() && i < hooks.size(); ++i) {
    std::string path = idx("webhooks", i);
    checkWebhook(v, hooks[i], path, mutating);
    std::string name = str(hooks[i], {"name"});
    if (!name.empty() && !names.insert(name).second) v.duplicate(path + ".name", name);
  }
  return v.errs;
}

// matchConditions are CEL expressions, which skiff cannot evaluate: the configuration is
// accepted, the client is told, and the webhook is called as if they matched.
void warnMatchConditions(const json& obj, const WriteOptions& opts) {
  if (!opts.notes) return;
  const json& hooks = at(obj, {"webhooks"});
  for (std::size_t i = 0; hooks.is_array() && i < hooks.size(); ++i) {
    const json& conds = at(hooks[i], {"matchConditions"});
    if (!conds.is_array() || conds.empty()) continue;
    std::string names;
    for (const auto& c : conds) names += (names.empty() ? "" : ", ") + str(c, {"name"});
    opts.notes->warnings.push_back(
        idx("webhooks", i) + ".matchConditions: skiff does not evaluate CEL; webhook \"" +
        str(hooks[i], {"name"}) + "\" is called as if these conditions matched: " + names);
  }
}

class WebhookConfigurationStrategy : public Strategy {
 public:
  explicit WebhookConfigurationStrategy(bool mutating) : mutating_(mutating) {}
  void defaults(const ResourceInfo& r, json& obj) const override {
    Strategy::defaults(r, obj);
    if (!obj.contains("webhooks") || !obj["webhooks"].is_array()) return;
    for (auto& w : obj["webhooks"]) defaultWebhook(w, mutating_);
  }
  FieldErrors validate(const ResourceInfo& r, const json& obj, const json* old) const override {
    FieldErrors errs = Strategy::validate(r, obj, old);
    FieldErrors more = validateWebhookConfiguration(obj, mutating_);
    errs.insert(errs.end(), more.begin(), more.end());
    return errs;
  }
  Result<void> admitCreate(const ResourceInfo&, json& obj, const WriteOptions& opts) override {
    warnMatchConditions(obj, opts);
    return ok();
  }
  Result<void> admitUpdateBy(const ResourceInfo&, const json& obj, const json&,
                             const WriteOptions& opts) override {
    warnMatchConditions(obj, opts);
    return ok();
  }
  // Upstream bumps generation when webhooks change (there is no spec).
  void prepareForUpdate(const ResourceInfo& r, json& obj, const json& old) const override {
    Strategy::prepareForUpdate(r, obj, old);
    long long gen = at(old, {"metadata", "generation"}).is_number_integer()
                        ? old["metadata"]["generation"].get<long long>()
                        : 1;
    if (at(obj, {"webhooks"}) != at(old, {"webhooks"})) ++gen;
    obj["metadata"]["generation"] = gen;
  }

 private:
  bool mutating_;
};

FieldErrors validateAPIService(const json& obj) {
  FieldChecks v;
  const json& spec = at(obj, {"spec"});
  std::string group = str(spec, {"group"}), version = str(spec, {"version"});
  std::string name = str(obj, {"metadata", "name"});
  std::string required_name = version + "." + group;
  if (!name.empty() && name != required_name)
    v.invalid("metadata.name", name,
              "must be `spec.version+\".\"+spec.group`: " + json(required_name).dump());
  if (group.empty() && version != "v1")
    v.required("spec.group", "only v1 may have an empty group and it better be legacy kube");
  if (!group.empty()) {
    if (auto m = checkDns1123Subdomain(group); !m.empty()) v.invalid("spec.group", group, m);
  }
  if (auto m = checkDns1035Label(version); !m.empty()) v.invalid("spec.version", version, m);
  auto prio = [&](const char* key, long long max, const char* msg) {
    long long p = at(spec, {key}).is_number_integer() ? spec[key].get<long long>() : 0;
    if (p <= 0 || p > max) v.invalid(std::string("spec.") + key, p, msg);
  };
  prio("groupPriorityMinimum", 20000, "must be positive and less than 20000");
  prio("versionPriority", 1000, "must be positive and less than 1000");
  bool insecure = at(spec, {"insecureSkipTLSVerify"}) == true;
  std::string ca = str(spec, {"caBundle"});
  if (!has(spec, "service")) {
    if (!ca.empty())
      v.invalid("spec.caBundle", std::to_string(ca.size() * 3 / 4) + " bytes",
                "local APIServices may not have a caBundle");
    if (insecure)
      v.invalid("spec.insecureSkipTLSVerify", true,
                "local APIServices may not have insecureSkipTLSVerify");
    return v.errs;
  }
  if (str(spec, {"service", "namespace"}).empty()) v.required("spec.service.namespace");
  if (str(spec, {"service", "name"}).empty()) v.required("spec.service.name");
  const json& port = at(spec, {"service", "port"});
  if (!validPort(port))
    v.invalid("spec.service.port", port,
              "port is not valid: must be between 1 and 65535, inclusive");
  if (insecure && !ca.empty())
    v.invalid("spec.insecureSkipTLSVerify", true, "may not be true if caBundle is present");
  return v.errs;
}

class APIServiceStrategy : public Strategy {
 public:
  void defaults(const ResourceInfo& r, json& obj) const override {
    Strategy::defaults(r, obj);
    json& spec = specForDefaults(obj);
    if (spec.contains("service") && spec["service"].is_object())
      setIfMissing(spec["service"], "port", 443);
  }
  FieldErrors validate(const ResourceInfo& r, const json& obj, const json* old) const override {
    FieldErrors errs = Strategy::validate(r, obj, old);
    FieldErrors more = validateAPIService(obj);
    errs.insert(errs.end(), more.begin(), more.end());
    return errs;
  }
  // A local APIService (no service) is served by this server: Available at once, as the
  // aggregator's availability controller reports it.
  void prepareForCreate(const ResourceInfo& r, json& obj) const override {
    Strategy::prepareForCreate(r, obj);
    if (!has(at(obj, {"spec"}), "service")) {
      obj["status"]["conditions"] =
          json::array({{{"type", "Available"},
                        {"status", "True"},
                        {"lastTransitionTime", nowString()},
                        {"reason", "Local"},
                        {"message", "Local APIServices are always available"}}});
    }
  }

  // apiServerStatusStrategy resets all metadata on /status.
  json prepareForStatusUpdate(const ResourceInfo&, const json& obj,
                              const json& old) const override {
    return statusOnly(obj, old);
  }
};

}  // namespace

StrategyPtr newWebhookConfigurationStrategy(bool mutating) {
  return std::make_shared<WebhookConfigurationStrategy>(mutating);
}
StrategyPtr newAPIServiceStrategy() { return std::make_shared<APIServiceStrategy>(); }

}  // namespace skiff::master::api
