#include "skiff/master/api/validation.h"

#include <regex>
#include <set>

#include "skiff/common/enum_names.h"
#include "skiff/master/api/object_util.h"
#include "skiff/master/selectors.h"

namespace skiff::master::api {
namespace {

using Type = FieldError::Type;

// How Go's %v/%q print a bad value in "Invalid value: <v>".
std::string goValue(const json& v) {
  if (v.is_string()) return json(v.get<std::string>()).dump();
  if (v.is_null()) return "null";
  if (v.is_object() && !v.empty()) {
    std::string out = "map[string]string{";
    bool first = true;
    for (auto& [k, x] : v.items()) {
      if (!first) out += ", ";
      first = false;
      out += json(k).dump() + ":" + (x.is_string() ? json(x.get<std::string>()).dump() : x.dump());
    }
    return out + "}";
  }
  return v.dump();
}

class V {
 public:
  FieldErrors errs;
  void required(const std::string& f, const std::string& detail = "") {
    errs.push_back({Type::Required, f, json(), detail});
  }
  void invalid(const std::string& f, const json& v, const std::string& detail) {
    errs.push_back({Type::Invalid, f, v, detail});
  }
  void notSupported(const std::string& f, const json& v, std::vector<std::string> supported) {
    std::string d = "supported values: ";
    for (std::size_t i = 0; i < supported.size(); ++i) {
      d += (i ? ", " : "") + json(supported[i]).dump();
    }
    errs.push_back({Type::NotSupported, f, v, d});
  }
  void duplicate(const std::string& f, const json& v) {
    errs.push_back({Type::Duplicate, f, v, ""});
  }
  void forbidden(const std::string& f, const std::string& d) {
    errs.push_back({Type::Forbidden, f, json(), d});
  }
};

bool present(const json& o, const char* k) {
  return o.is_object() && o.contains(k) && !o[k].is_null();
}

void validateLabels(V& v, const json& labels, const std::string& path) {
  if (!labels.is_object()) return;
  static const std::regex value_re("^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$");
  for (auto& [k, x] : labels.items()) {
    std::string name = k;
    auto slash = k.find('/');
    if (slash != std::string::npos) {
      std::string prefix = k.substr(0, slash);
      name = k.substr(slash + 1);
      if (auto m = checkDns1123Subdomain(prefix); !m.empty()) {
        v.invalid(path, k, "prefix part " + m);
        continue;
      }
    }
    static const std::regex name_re("^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$");
    if (name.size() > 63 || !std::regex_match(name, name_re)) {
      v.invalid(
          path, k,
          "name part must consist of alphanumeric characters, '-', '_' or '.', and must "
          "start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
          "'123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')");
      continue;
    }
    if (!x.is_string()) {
      v.invalid(path + "[" + k + "]", x, "label values must be strings");
      continue;
    }
    std::string val = x.get<std::string>();
    if (val.size() > 63 || !std::regex_match(val, value_re)) {
      v.invalid(path, val,
                "a valid label must be an empty string or consist of alphanumeric characters, "
                "'-', '_' or '.', and must start and end with an alphanumeric character (e.g. "
                "'MyValue',  or 'my_value',  or '12345', regex used for validation is "
                "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')");
    }
  }
}

void validateMeta(V& v, const ResourceInfo& r, const json& meta) {
  std::string name = meta.value("name", "");
  if (name.empty()) {
    v.required("metadata.name", "name or generateName is required");
  } else {
    std::string m;
    if (r.kind == "Namespace") {
      m = checkDns1123Label(name);
    } else if (r.kind == "Service") {
      m = checkDns1035Label(name);
    } else {
      m = checkDns1123Subdomain(name);
    }
    if (!m.empty()) v.invalid("metadata.name", name, m);
  }
  if (meta.contains("labels")) validateLabels(v, meta["labels"], "metadata.labels");
  if (meta.contains("annotations") && meta["annotations"].is_object()) {
    std::size_t total = 0;
    for (auto& [k, x] : meta["annotations"].items()) {
      if (!x.is_string())
        v.invalid("metadata.annotations", k, "annotation values must be strings");
      else
        total += k.size() + x.get<std::string>().size();
    }
    if (total > 256 * 1024) {
      v.errs.push_back(
          {Type::TooLong, "metadata.annotations", json(), "may not be more than 262144 bytes"});
    }
  }
}

// A container's or Service's port at `f`: its number under `key` (containerPort, port), required
// and in 1..65535, and its protocol (default TCP), which is returned.
std::string validatePortAndProtocol(V& v, const json& p, const std::string& f, const char* key) {
  const std::string number = f + "." + key;
  if (!p.contains(key)) {
    v.required(number);
  } else if (!p[key].is_number_integer() || p[key].get<long long>() < 1 ||
             p[key].get<long long>() > 65535) {
    v.invalid(number, p[key], "must be between 1 and 65535, inclusive");
  }
  std::string proto = p.value("protocol", "TCP");
  if (proto != "TCP" && proto != "UDP" && proto != "SCTP") {
    v.notSupported(f + ".protocol", proto, {"SCTP", "TCP", "UDP"});
  }
  return proto;
}

void validatePorts(V& v, const json& ports, const std::string& path) {
  if (!ports.is_array()) return;
  for (std::size_t i = 0; i < ports.size(); ++i) {
    const json& p = ports[i];
    std::string f = path + "[" + std::to_string(i) + "]";
    validatePortAndProtocol(v, p, f, "containerPort");
  }
}

void validateContainers(V& v, const json& cs, const std::string& path, bool required,
                        std::set<std::string>& names) {
  if (!cs.is_array() || cs.empty()) {
    if (required) v.required(path);
    return;
  }
  for (std::size_t i = 0; i < cs.size(); ++i) {
    const json& c = cs[i];
    std::string f = path + "[" + std::to_string(i) + "]";
    if (!c.is_object()) {
      v.invalid(f, c, "must be an object");
      continue;
    }
    std::string name = c.value("name", "");
    if (name.empty()) {
      v.required(f + ".name");
    } else if (auto m = checkDns1123Label(name); !m.empty()) {
      v.invalid(f + ".name", name, m);
    } else if (!names.insert(name).second) {
      v.duplicate(f + ".name", name);
    }
    if (c.value("image", "").empty()) v.required(f + ".image");
    std::string pp = c.value("imagePullPolicy", "IfNotPresent");
    if (pp != "Always" && pp != "IfNotPresent" && pp != "Never") {
      v.notSupported(f + ".imagePullPolicy", pp, {"Always", "IfNotPresent", "Never"});
    }
    validatePorts(v, c.value("ports", json::array()), f + ".ports");
    if (c.contains("env") && c["env"].is_array()) {
      for (std::size_t j = 0; j < c["env"].size(); ++j) {
        if (c["env"][j].value("name", "").empty()) {
          v.required(f + ".env[" + std::to_string(j) + "].name");
        }
      }
    }
  }
}

void validatePodSpec(V& v, const json& spec, const std::string& path,
                     const std::vector<std::string>& restart_policies = {}) {
  if (!spec.is_object()) {
    v.required(path.empty() ? "spec" : path);
    return;
  }
  std::set<std::string> names;
  validateContainers(v, spec.value("containers", json::array()), path + ".containers", true, names);
  validateContainers(v, spec.value("initContainers", json::array()), path + ".initContainers",
                     false, names);
  std::string rp = spec.value("restartPolicy", "Always");
  if (rp != "Always" && rp != "OnFailure" && rp != "Never") {
    v.notSupported(path + ".restartPolicy", rp, {"Always", "Never", "OnFailure"});
  } else if (!restart_policies.empty() &&
             std::find(restart_policies.begin(), restart_policies.end(), rp) ==
                 restart_policies.end()) {
    v.notSupported(path + ".restartPolicy", rp, restart_policies);
  }
  std::string dp = spec.value("dnsPolicy", "ClusterFirst");
  if (dp != "ClusterFirst" && dp != "ClusterFirstWithHostNet" && dp != "Default" && dp != "None") {
    v.notSupported(path + ".dnsPolicy", dp,
                   {"ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"});
  }
  if (spec.contains("volumes") && spec["volumes"].is_array()) {
    std::set<std::string> vnames;
    for (std::size_t i = 0; i < spec["volumes"].size(); ++i) {
      std::string n = spec["volumes"][i].value("name", "");
      std::string f = path + ".volumes[" + std::to_string(i) + "].name";
      if (n.empty())
        v.required(f);
      else if (auto m = checkDns1123Label(n); !m.empty())
        v.invalid(f, n, m);
      else if (!vnames.insert(n).second)
        v.duplicate(f, n);
    }
  }
  if (spec.contains("terminationGracePeriodSeconds") &&
      spec["terminationGracePeriodSeconds"].is_number_integer() &&
      spec["terminationGracePeriodSeconds"].get<long long>() < 0) {
    v.invalid(path + ".terminationGracePeriodSeconds", spec["terminationGracePeriodSeconds"],
              "must be greater than or equal to 0");
  }
}

void validateNonNegative(V& v, const json& spec, const char* key, const std::string& path) {
  if (!spec.contains(key) || spec[key].is_null()) return;
  if (!spec[key].is_number_integer()) {
    v.invalid(path, spec[key], "must be an integer");
  } else if (spec[key].get<long long>() < 0) {
    v.invalid(path, spec[key], "must be greater than or equal to 0");
  }
}

void validateWorkload(V& v, const ResourceInfo& r, const json& obj) {
  const json& spec = obj.value("spec", json());
  if (!spec.is_object()) {
    v.required("spec");
    return;
  }
  bool rc = r.kind == "ReplicationController";
  if (r.kind != "DaemonSet") validateNonNegative(v, spec, "replicas", "spec.replicas");
  const json& sel = spec.value("selector", json());
  if (!rc) {
    if (!present(spec, "selector")) {
      v.required("spec.selector");
    } else {
      auto parsed = LabelSelector::fromJson(sel);
      if (!parsed) {
        v.invalid("spec.selector", sel, parsed.error().message());
      } else if (parsed->empty()) {
        v.invalid("spec.selector", sel, "empty selector is invalid for deployment");
      } else {
        const json& labels = at(spec, {"template", "metadata", "labels"});
        if (!parsed->matches(labels)) {
          v.invalid("spec.template.metadata.labels", labels,
                    "`selector` does not match template `labels`");
        }
      }
    }
  }
  if (!present(spec, "template")) {
    v.required("spec.template");
    return;
  }
  validateLabels(v, at(spec, {"template", "metadata", "labels"}), "spec.template.metadata.labels");
  validatePodSpec(v, at(spec, {"template", "spec"}), "spec.template.spec", {"Always"});
  if (r.kind == "Deployment") {
    const json& strategy = spec.value("strategy", json());
    std::string t =
        strategy.is_object() ? strategy.value("type", "RollingUpdate") : "RollingUpdate";
    if (t != "RollingUpdate" && t != "Recreate") {
      v.notSupported("spec.strategy.type", t, {"Recreate", "RollingUpdate"});
    } else if (t == "Recreate" && strategy.contains("rollingUpdate")) {
      v.forbidden("spec.strategy.rollingUpdate",
                  "may not be specified when strategy `type` is 'Recreate'");
    }
    validateNonNegative(v, spec, "revisionHistoryLimit", "spec.revisionHistoryLimit");
    validateNonNegative(v, spec, "minReadySeconds", "spec.minReadySeconds");
  }
}

void validateService(V& v, const json& obj) {
  const json& spec = obj.value("spec", json::object());
  std::string type = spec.value("type", "ClusterIP");
  static const std::vector<std::string> types{"ClusterIP", "ExternalName", "LoadBalancer",
                                              "NodePort"};
  if (std::find(types.begin(), types.end(), type) == types.end()) {
    v.notSupported("spec.type", type, types);
  }
  const json& ports = spec.value("ports", json::array());
  bool headless = spec.value("clusterIP", "") == "None";
  if (type == "ExternalName") {
    if (spec.value("externalName", "").empty()) v.required("spec.externalName");
  } else if ((!ports.is_array() || ports.empty()) && !headless) {
    v.required("spec.ports");
  }
  if (!ports.is_array()) return;
  std::set<std::string> names;
  std::set<std::string> keys;
  for (std::size_t i = 0; i < ports.size(); ++i) {
    const json& p = ports[i];
    std::string f = "spec.ports[" + std::to_string(i) + "]";
    if (ports.size() > 1 && p.value("name", "").empty()) v.required(f + ".name");
    if (!p.value("name", "").empty() && !names.insert(p.value("name", "")).second) {
      v.duplicate(f + ".name", p["name"]);
    }
    std::string proto = validatePortAndProtocol(v, p, f, "port");
    std::string key = p.value("port", json(0)).dump() + "/" + proto;
    if (!keys.insert(key).second)
      v.duplicate(f, json{{"port", p.value("port", json(0))}, {"protocol", proto}});
    if (p.contains("nodePort") && (type == "ClusterIP" || type == "ExternalName") &&
        p["nodePort"].is_number_integer() && p["nodePort"].get<long long>() != 0) {
      v.forbidden(f + ".nodePort", "may not be used when `type` is '" + type + "'");
    }
  }
}

void validateDataKeys(V& v, const json& data, const std::string& path, bool base64) {
  if (!data.is_object()) return;
  static const std::regex key_re("^[-._a-zA-Z0-9]+$");
  static const std::regex b64_re("^[A-Za-z0-9+/]*={0,2}$");
  for (auto& [k, x] : data.items()) {
    if (k.size() > 253 || !std::regex_match(k, key_re)) {
      v.invalid(path, k,
                "a valid config key must consist of alphanumeric characters, '-', '_' or '.' "
                "(e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is "
                "'[-._a-zA-Z0-9]+')");
    }
    if (!x.is_string()) {
      v.invalid(path + "[" + k + "]", x, "must be a string");
    } else if (base64 && (x.get<std::string>().size() % 4 != 0 ||
                          !std::regex_match(x.get<std::string>(), b64_re))) {
      v.invalid(path + "[" + k + "]", "<secret contents redacted>", "illegal base64 data");
    }
  }
}

}  // namespace

std::string FieldError::causeMessage() const {
  switch (type) {
    case Type::Required:
      return detail.empty() ? "Required value" : "Required value: " + detail;
    case Type::Invalid:
      return "Invalid value: " + goValue(bad_value) + (detail.empty() ? "" : ": " + detail);
    case Type::NotSupported:
      return "Unsupported value: " + goValue(bad_value) + (detail.empty() ? "" : ": " + detail);
    case Type::Duplicate:
      return "Duplicate value: " + goValue(bad_value);
    case Type::Forbidden:
      return detail.empty() ? "Forbidden" : "Forbidden: " + detail;
    case Type::TooLong:
      return "Too long: " + detail;
    case Type::TooMany:
      return "Too many: " + goValue(bad_value) + ": " + detail;
  }
  return "";
}

std::string FieldError::message() const { return field + ": " + causeMessage(); }

std::string FieldError::reason() const {
  static constexpr EnumName<Type> kReasons[] = {{Type::Required, "FieldValueRequired"},
                                                {Type::Invalid, "FieldValueInvalid"},
                                                {Type::NotSupported, "FieldValueNotSupported"},
                                                {Type::Duplicate, "FieldValueDuplicate"},
                                                {Type::Forbidden, "FieldValueForbidden"},
                                                {Type::TooLong, "FieldValueTooLong"},
                                                {Type::TooMany, "FieldValueTooMany"}};
  return nameOf(kReasons, type, "");
}

namespace {

// Pod updates may change only a few fields (image, activeDeadlineSeconds, tolerations).
void validatePodUpdate(V& v, const json& obj, const json& old) {
  json a = obj.value("spec", json::object()), b = old.value("spec", json::object());
  for (json* s : {&a, &b}) {
    s->erase("tolerations");
    s->erase("activeDeadlineSeconds");
    s->erase("terminationGracePeriodSeconds");
    s->erase("schedulingGates");
    if (s->contains("containers") && (*s)["containers"].is_array()) {
      for (auto& c : (*s)["containers"]) {
        if (c.is_object()) c.erase("image");
      }
    }
    if (s->contains("initContainers") && (*s)["initContainers"].is_array()) {
      for (auto& c : (*s)["initContainers"]) {
        if (c.is_object()) c.erase("image");
      }
    }
  }
  if (a != b) {
    v.forbidden("spec",
                "pod updates may not change fields other than "
                "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec."
                "activeDeadlineSeconds`,`spec.tolerations` (only additions to existing "
                "tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if "
                "it was previously negative)");
  }
}

// The selector of a workload is immutable (apps/v1; a Deployment's in every version).
void validateWorkloadUpdate(V& v, const ResourceInfo& r, const json& obj, const json* old) {
  const std::string& k = r.kind;
  if (old && k != "ReplicationController" && present(at(*old, {"spec"}), "selector") &&
      at(obj, {"spec", "selector"}) != at(*old, {"spec", "selector"}) && k != "Deployment" &&
      r.version == "v1") {
    v.invalid("spec.selector", at(obj, {"spec", "selector"}), "field is immutable");
  }
  if (old && k == "Deployment" && at(obj, {"spec", "selector"}) != at(*old, {"spec", "selector"})) {
    v.invalid("spec.selector", at(obj, {"spec", "selector"}), "field is immutable");
  }
}

void validateJob(V& v, const json& obj) {
  const json& spec = obj.value("spec", json());
  if (!spec.is_object()) {
    v.required("spec");
  } else {
    validateNonNegative(v, spec, "parallelism", "spec.parallelism");
    validateNonNegative(v, spec, "completions", "spec.completions");
    validateNonNegative(v, spec, "backoffLimit", "spec.backoffLimit");
    if (!present(spec, "template"))
      v.required("spec.template");
    else
      validatePodSpec(v, at(spec, {"template", "spec"}), "spec.template.spec",
                      {"OnFailure", "Never"});
  }
}

void validateCronJob(V& v, const json& obj) {
  const json& spec = obj.value("spec", json());
  if (!spec.is_object()) {
    v.required("spec");
  } else {
    if (spec.value("schedule", "").empty()) v.required("spec.schedule");
    std::string cp = spec.value("concurrencyPolicy", "Allow");
    if (cp != "Allow" && cp != "Forbid" && cp != "Replace") {
      v.notSupported("spec.concurrencyPolicy", cp, {"Allow", "Forbid", "Replace"});
    }
    if (!present(at(spec, {"jobTemplate"}), "spec"))
      v.required("spec.jobTemplate.spec");
    else
      validatePodSpec(v, at(spec, {"jobTemplate", "spec", "template", "spec"}),
                      "spec.jobTemplate.spec.template.spec", {"OnFailure", "Never"});
  }
}

// A Service's clusterIP may not change once set (unless it becomes an ExternalName).
void validateServiceUpdate(V& v, const json& obj, const json& old) {
  std::string oldip = str(old, {"spec", "clusterIP"});
  std::string newip = str(obj, {"spec", "clusterIP"});
  if (!oldip.empty() && !newip.empty() && newip != oldip &&
      str(obj, {"spec", "type"}) != "ExternalName") {
    v.invalid("spec.clusterIPs[0]", json::array({newip}), "may not change once set");
  }
}

}  // namespace

FieldErrors validateObject(const ResourceInfo& r, const json& obj, const json* old) {
  V v;
  validateMeta(v, r, obj.value("metadata", json::object()));
  const std::string& k = r.kind;
  if (k == "Pod") {
    validatePodSpec(v, obj.value("spec", json()), "spec");
    if (old) validatePodUpdate(v, obj, *old);
  } else if (k == "Deployment" || k == "ReplicaSet" || k == "StatefulSet" || k == "DaemonSet" ||
             k == "ReplicationController") {
    validateWorkload(v, r, obj);
    validateWorkloadUpdate(v, r, obj, old);
  } else if (k == "Job") {
    validateJob(v, obj);
  } else if (k == "CronJob") {
    validateCronJob(v, obj);
  } else if (k == "Service") {
    validateService(v, obj);
    if (old) validateServiceUpdate(v, obj, *old);
  } else if (k == "ConfigMap") {
    validateDataKeys(v, obj.value("data", json::object()), "data", false);
    validateDataKeys(v, obj.value("binaryData", json::object()), "binaryData", true);
  } else if (k == "Secret") {
    validateDataKeys(v, obj.value("data", json::object()), "data", true);
    if (old && old->value("type", "Opaque") != obj.value("type", "Opaque")) {
      v.invalid("type", obj.value("type", ""), "field is immutable");
    }
  } else if (k == "PriorityClass") {
    // ValidatePriorityClassUpdate: value and preemptionPolicy are immutable.
    if (old && old->value("value", json()) != obj.value("value", json()))
      v.forbidden("value", "may not be changed in an update.");
    if (old && old->value("preemptionPolicy", json()) != obj.value("preemptionPolicy", json()))
      v.invalid("preemptionPolicy", obj.value("preemptionPolicy", json()), "field is immutable");
  } else if (k == "PodTemplate") {
    if (!present(obj, "template")) {
      v.required("template");
    } else {
      validateLabels(v, at(obj, {"template", "metadata", "labels"}), "template.metadata.labels");
      validatePodSpec(v, at(obj, {"template", "spec"}), "template.spec");
    }
  } else if (k == "Lease") {
    validateNonNegative(v, obj.value("spec", json::object()), "leaseDurationSeconds",
                        "spec.leaseDurationSeconds");
  }
  return v.errs;
}

Error invalidError(const ResourceInfo& r, const std::string& name, const FieldErrors& errs) {
  std::string msg = r.qualifiedKind() + " \"" + name + "\" is invalid: ";
  if (errs.size() == 1) {
    msg += errs[0].message();
  } else {
    msg += "[";
    for (std::size_t i = 0; i < errs.size(); ++i) msg += (i ? ", " : "") + errs[i].message();
    msg += "]";
  }
  return Error(ErrorCode::Invalid, msg);
}

}  // namespace skiff::master::api
