// networking.k8s.io/v1 Ingress, IngressClass and NetworkPolicy, node.k8s.io/v1 RuntimeClass:
// defaults (pkg/apis/networking/v1/defaults.go) and validation with upstream's field paths and
// messages (pkg/apis/networking/validation, pkg/apis/node/validation). Stored only: enforcing
// NetworkPolicy and routing Ingress are later issues.
#include <regex>

#include "field_checks.h"
#include "skiff/master/api/object_util.h"
#include "skiff/master/selectors.h"
#include "strategies.h"

namespace skiff::master::api {
namespace {

using json = nlohmann::json;

std::string idx(const std::string& path, std::size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

void checkSelector(FieldChecks& v, const json& sel, const std::string& path) {
  if (!sel.is_object()) return;
  auto parsed = LabelSelector::fromJson(sel);
  if (!parsed) v.invalid(path, sel, parsed.error().message());
}

// IsValidPortName: an IANA_SVC_NAME.
std::string portNameError(const std::string& name) {
  static const std::regex re("^[a-z0-9]([a-z0-9-]*[a-z0-9])?$");
  if (name.size() > 15) return "must be no more than 15 characters";
  if (!std::regex_match(name, re) || name.find("--") != std::string::npos ||
      name.find_first_of("abcdefghijklmnopqrstuvwxyz") == std::string::npos) {
    return "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)";
  }
  return "";
}

void checkServiceBackend(FieldChecks& v, const json& svc, const std::string& path) {
  if (str(svc, {"name"}).empty()) {
    v.required(path + ".name");
  } else if (auto m = checkDns1035Label(str(svc, {"name"})); !m.empty()) {
    v.invalid(path + ".name", svc["name"], m);
  }
  const json& port = at(svc, {"port"});
  bool has_name = has(port, "name") && !str(port, {"name"}).empty();
  bool has_number = has(port, "number") && at(port, {"number"}) != 0;
  if (has_name && has_number) {
    v.invalid(path + ".port", port, "cannot set both port name & port number");
  } else if (has_name) {
    if (auto m = portNameError(str(port, {"name"})); !m.empty())
      v.invalid(path + ".port.name", port["name"], m);
  } else if (has_number) {
    if (!validPort(port["number"]))
      v.invalid(path + ".port.number", port["number"], "must be between 1 and 65535, inclusive");
  } else {
    v.required(path + ".port", "port name or number is required");
  }
}

void checkBackend(FieldChecks& v, const json& b, const std::string& path) {
  bool svc = has(b, "service"), res = has(b, "resource");
  if (svc && res) {
    v.invalid(path, b, "cannot set both resource and service backends");
  } else if (svc) {
    checkServiceBackend(v, b["service"], path + ".service");
  } else if (res) {
    if (str(b, {"resource", "kind"}).empty()) v.required(path + ".resource.kind");
    if (str(b, {"resource", "name"}).empty()) v.required(path + ".resource.name");
  } else {
    v.invalid(path, b, "resource or service backend is required");
  }
}

void checkHost(FieldChecks& v, const std::string& host, const std::string& path) {
  static const std::regex ip(R"(^[0-9.]+$|:)");
  if (std::regex_search(host, ip)) {
    v.invalid(path, host, "must be a DNS name, not an IP address");
    return;
  }
  std::string h = host;
  if (h.rfind("*.", 0) == 0) h = h.substr(2);
  if (auto m = checkDns1123Subdomain(h); !m.empty()) v.invalid(path, host, m);
}

void checkPaths(FieldChecks& v, const json& http, const std::string& path) {
  const json& paths = at(http, {"paths"});
  if (!paths.is_array() || paths.empty()) {
    v.required(path + ".paths");
    return;
  }
  for (std::size_t i = 0; i < paths.size(); ++i) {
    const json& p = paths[i];
    std::string pp = idx(path + ".paths", i);
    std::string type = str(p, {"pathType"});
    std::string value = str(p, {"path"});
    if (type.empty()) {
      v.required(pp + ".pathType", "pathType must be specified");
    } else if (type == "Exact" || type == "Prefix") {
      if (value.empty() || value[0] != '/')
        v.invalid(pp + ".path", value, "must be an absolute path");
      else if (value.find("//") != std::string::npos)
        v.invalid(pp + ".path", value, "must not contain '//'");
    } else if (type == "ImplementationSpecific") {
      if (!value.empty() && value[0] != '/')
        v.invalid(pp + ".path", value, "must be an absolute path");
    } else {
      v.notSupported(pp + ".pathType", type, {"Exact", "ImplementationSpecific", "Prefix"});
    }
    checkBackend(v, at(p, {"backend"}), pp + ".backend");
  }
}

FieldErrors validateIngress(const json& obj) {
  FieldChecks v;
  const json& spec = at(obj, {"spec"});
  const json& rules = at(spec, {"rules"});
  bool no_rules = !rules.is_array() || rules.empty();
  if (no_rules && !has(spec, "defaultBackend")) {
    v.invalid("spec", json(), "either `defaultBackend` or `rules` must be specified");
  }
  if (has(spec, "defaultBackend")) checkBackend(v, spec["defaultBackend"], "spec.defaultBackend");
  if (has(spec, "ingressClassName")) {
    if (auto m = checkDns1123Subdomain(str(spec, {"ingressClassName"})); !m.empty())
      v.invalid("spec.ingressClassName", spec["ingressClassName"], m);
  }
  for (std::size_t i = 0; rules.is_array() && i < rules.size(); ++i) {
    std::string rp = idx("spec.rules", i);
    if (!str(rules[i], {"host"}).empty()) checkHost(v, str(rules[i], {"host"}), rp + ".host");
    if (has(rules[i], "http")) checkPaths(v, rules[i]["http"], rp + ".http");
  }
  const json& tls = at(spec, {"tls"});
  for (std::size_t i = 0; tls.is_array() && i < tls.size(); ++i) {
    const json& hosts = at(tls[i], {"hosts"});
    for (std::size_t j = 0; hosts.is_array() && j < hosts.size(); ++j) {
      if (hosts[j].is_string())
        checkHost(v, hosts[j].get<std::string>(), idx(idx("spec.tls", i) + ".hosts", j));
    }
  }
  return v.errs;
}

FieldErrors validateIngressClass(const json& obj, const json* old) {
  FieldChecks v;
  std::string ctrl = str(obj, {"spec", "controller"});
  static const std::regex domain_path(
      R"(^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/[^\s]*$)");
  if (ctrl.empty()) {
    v.required("spec.controller");
  } else if (ctrl.size() > 250) {
    v.errs.push_back(
        {FieldError::Type::TooLong, "spec.controller", json(), "may not be more than 250 bytes"});
  } else if (!std::regex_match(ctrl, domain_path)) {
    v.invalid("spec.controller", ctrl, "must be a domain-prefixed path (such as \"acme.io/foo\")");
  }
  if (old && str(*old, {"spec", "controller"}) != ctrl)
    v.invalid("spec.controller", ctrl, "field is immutable");
  const json& params = at(obj, {"spec", "parameters"});
  if (params.is_object()) {
    if (str(params, {"kind"}).empty()) v.required("spec.parameters.kind");
    if (str(params, {"name"}).empty()) v.required("spec.parameters.name");
    v.oneOf(params, "scope", "spec.parameters.scope", {"Cluster", "Namespace"});
    if (str(params, {"scope"}) == "Namespace" && str(params, {"namespace"}).empty())
      v.required("spec.parameters.namespace", "`parameters.scope` is set to 'Namespace'");
  }
  return v.errs;
}

void checkPolicyPeers(FieldChecks& v, const json& peers, const std::string& path) {
  for (std::size_t i = 0; peers.is_array() && i < peers.size(); ++i) {
    const json& p = peers[i];
    std::string pp = idx(path, i);
    int n = has(p, "podSelector") + has(p, "namespaceSelector") + has(p, "ipBlock");
    if (n == 0) v.required(pp, "must specify a peer");
    if (has(p, "ipBlock") && (has(p, "podSelector") || has(p, "namespaceSelector")))
      v.forbidden(pp, "may not specify both ipBlock and another peer");
    checkSelector(v, at(p, {"podSelector"}), pp + ".podSelector");
    checkSelector(v, at(p, {"namespaceSelector"}), pp + ".namespaceSelector");
    if (has(p, "ipBlock") && str(p, {"ipBlock", "cidr"}).empty()) v.required(pp + ".ipBlock.cidr");
  }
}

void checkPolicyPorts(FieldChecks& v, const json& ports, const std::string& path) {
  for (std::size_t i = 0; ports.is_array() && i < ports.size(); ++i) {
    std::string pp = idx(path, i);
    v.oneOf(ports[i], "protocol", pp + ".protocol", {"SCTP", "TCP", "UDP"});
    const json& port = at(ports[i], {"port"});
    if (port.is_number_integer() && !validPort(port))
      v.invalid(pp + ".port", port, "must be between 1 and 65535, inclusive");
    if (has(ports[i], "endPort") && !port.is_number_integer())
      v.forbidden(pp + ".endPort", "may not be specified when `port` is non-numeric");
  }
}

FieldErrors validateNetworkPolicy(const json& obj) {
  FieldChecks v;
  const json& spec = at(obj, {"spec"});
  checkSelector(v, at(spec, {"podSelector"}), "spec.podSelector");
  const json& ingress = at(spec, {"ingress"});
  for (std::size_t i = 0; ingress.is_array() && i < ingress.size(); ++i) {
    checkPolicyPorts(v, at(ingress[i], {"ports"}), idx("spec.ingress", i) + ".ports");
    checkPolicyPeers(v, at(ingress[i], {"from"}), idx("spec.ingress", i) + ".from");
  }
  const json& egress = at(spec, {"egress"});
  for (std::size_t i = 0; egress.is_array() && i < egress.size(); ++i) {
    checkPolicyPorts(v, at(egress[i], {"ports"}), idx("spec.egress", i) + ".ports");
    checkPolicyPeers(v, at(egress[i], {"to"}), idx("spec.egress", i) + ".to");
  }
  const json& types = at(spec, {"policyTypes"});
  for (std::size_t i = 0; types.is_array() && i < types.size(); ++i) {
    if (types[i] != "Ingress" && types[i] != "Egress")
      v.notSupported(idx("spec.policyTypes", i), types[i], {"Egress", "Ingress"});
  }
  if (types.is_array() && types.size() > 2)
    v.invalid("spec.policyTypes", types, "may not specify more than two policyTypes");
  return v.errs;
}

// SetDefaults_NetworkPolicy and SetDefaults_NetworkPolicyPort.
void defaultNetworkPolicy(json& obj) {
  if (!obj.contains("spec") || !obj["spec"].is_object()) obj["spec"] = json::object();
  json& spec = obj["spec"];
  if (!has(spec, "podSelector")) spec["podSelector"] = json::object();
  for (const char* dir : {"ingress", "egress"}) {
    if (!spec.contains(dir) || !spec[dir].is_array()) continue;
    for (auto& rule : spec[dir]) {
      if (!rule.is_object() || !rule.contains("ports") || !rule["ports"].is_array()) continue;
      for (auto& p : rule["ports"]) {
        if (p.is_object() && !has(p, "protocol")) p["protocol"] = "TCP";
      }
    }
  }
  if (!spec.contains("policyTypes") || !spec["policyTypes"].is_array() ||
      spec["policyTypes"].empty()) {
    json types = json::array({"Ingress"});
    if (spec.contains("egress") && spec["egress"].is_array() && !spec["egress"].empty())
      types.push_back("Egress");
    spec["policyTypes"] = types;
  }
}

FieldErrors validateRuntimeClass(const json& obj, const json* old) {
  FieldChecks v;
  std::string handler = str(obj, {"handler"});
  if (handler.empty()) {
    v.required("handler");
  } else if (auto m = checkDns1123Label(handler); !m.empty()) {
    v.invalid("handler", handler, m);
  }
  if (old && str(*old, {"handler"}) != handler) v.invalid("handler", handler, "field is immutable");
  const json& pod_fixed = at(obj, {"overhead", "podFixed"});
  if (pod_fixed.is_object()) {
    for (auto& [k, q] : pod_fixed.items()) {
      if (k != "cpu" && k != "memory" && k.rfind("hugepages-", 0) != 0)
        v.notSupported("overhead.podFixed[" + k + "]", k, {"cpu", "memory"});
    }
  }
  return v.errs;
}

class NetworkingStrategy : public Strategy {
 public:
  void defaults(const ResourceInfo& r, json& obj) const override {
    Strategy::defaults(r, obj);
    if (r.kind == "NetworkPolicy") defaultNetworkPolicy(obj);
    if (r.kind == "Ingress") {
      // SetDefaults_HTTPIngressRuleValue has none in v1; the service port keeps what was sent.
      if (!obj.contains("spec") || !obj["spec"].is_object()) obj["spec"] = json::object();
    }
  }
  FieldErrors validate(const ResourceInfo& r, const json& obj, const json* old) const override {
    FieldErrors errs = Strategy::validate(r, obj, old);
    FieldErrors more;
    if (r.kind == "Ingress") more = validateIngress(obj);
    if (r.kind == "IngressClass") more = validateIngressClass(obj, old);
    if (r.kind == "NetworkPolicy") more = validateNetworkPolicy(obj);
    if (r.kind == "RuntimeClass") more = validateRuntimeClass(obj, old);
    errs.insert(errs.end(), more.begin(), more.end());
    return errs;
  }
};

}  // namespace

StrategyPtr newNetworkingStrategy() { return std::make_shared<NetworkingStrategy>(); }

void registerExtensionStrategies(StrategyRegistry& table) {
  auto net = newNetworkingStrategy();
  for (const char* res : {"ingresses", "ingressclasses", "networkpolicies"})
    table.add("networking.k8s.io", res, net);
  table.add("node.k8s.io", "runtimeclasses", net);
  const std::string adm = "admissionregistration.k8s.io";
  table.add(adm, "mutatingwebhookconfigurations", newWebhookConfigurationStrategy(true));
  table.add(adm, "validatingwebhookconfigurations", newWebhookConfigurationStrategy(false));
  table.add("apiregistration.k8s.io", "apiservices", newAPIServiceStrategy());
}

}  // namespace skiff::master::api
