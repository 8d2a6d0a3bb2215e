// The PodSecurity plugin's configuration (AdmissionConfiguration -> PodSecurityConfiguration,
// pod-security-admission admission/api), and the pod spec of the objects it looks at
// (DefaultPodSpecExtractor, isSignificantPodUpdate).
#include <filesystem>
#include <regex>
#include <set>

#include "checks.h"
#include "skiff/common/file.h"
#include "skiff/common/yaml.h"
#include "skiff/master/admission/pod_security.h"

namespace skiff::master::admission {
namespace {

using json = nlohmann::json;
using checks::field;

Result<std::vector<std::string>> stringList(const json& obj, const char* key) {
  std::vector<std::string> out;
  const json& v = field(obj, key);
  if (v.is_null()) return out;
  if (!v.is_array())
    return Error(ErrorCode::Invalid, std::string("exemptions.") + key + ": must be a list");
  for (const json& s : v) {
    if (!s.is_string())
      return Error(ErrorCode::Invalid, std::string("exemptions.") + key + ": must be strings");
    out.push_back(s.get<std::string>());
  }
  return out;
}

bool dnsLabel(const std::string& s) {
  static const std::regex re("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$");
  return s.size() <= 63 && std::regex_match(s, re);
}

bool dnsSubdomain(const std::string& s) {
  static const std::regex re("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$");
  return s.size() <= 253 && std::regex_match(s, re);
}

// Validation of one exemption list: names valid for their kind, no duplicates.
void validateList(const std::vector<std::string>& list, const std::string& path,
                  bool (*valid)(const std::string&), const char* invalid_detail,
                  std::vector<std::string>& errs) {
  std::set<std::string> seen;
  for (std::size_t i = 0; i < list.size(); ++i) {
    std::string p = path + "[" + std::to_string(i) + "]";
    if (!valid(list[i])) {
      errs.push_back(p + ": Invalid value: " + checks::goQuote(list[i]) + ": " + invalid_detail);
    } else if (!seen.insert(list[i]).second) {
      errs.push_back(p + ": Duplicate value: " + checks::goQuote(list[i]));
    }
  }
}

void parseDefault(const json& defaults, const char* key, const char* version_key, LevelVersion& lv,
                  std::vector<std::string>& errs) {
  const json& l = field(defaults, key);
  const json& v = field(defaults, version_key);
  std::string ls = l.is_string() ? l.get<std::string>() : "privileged";
  std::string vs = v.is_string() ? v.get<std::string>() : "latest";
  if (ls.empty()) ls = "privileged";
  if (vs.empty()) vs = "latest";
  if (!parseLevel(ls, lv.level))
    errs.push_back(std::string("defaults.") + key + ": Invalid value: " + checks::goQuote(ls) +
                   ": must be one of privileged, baseline, restricted");
  if (!parseVersion(vs, lv.version))
    errs.push_back(std::string("defaults.") + version_key +
                   ": Invalid value: " + checks::goQuote(vs) + ": must be \"latest\" or \"v1.x\"");
}

}  // namespace

Result<PodSecurityConfig> parsePodSecurityConfiguration(const json& obj) {
  if (!obj.is_object())
    return Error(ErrorCode::Invalid, "PodSecurityConfiguration must be an object");
  std::string kind = obj.value("kind", "PodSecurityConfiguration");
  if (kind != "PodSecurityConfiguration")
    return Error(ErrorCode::Invalid, "expected kind PodSecurityConfiguration, got '" + kind + "'");
  PodSecurityConfig cfg;
  std::vector<std::string> errs;
  const json& d = field(obj, "defaults");
  parseDefault(d, "enforce", "enforce-version", cfg.defaults.enforce, errs);
  parseDefault(d, "warn", "warn-version", cfg.defaults.warn, errs);
  parseDefault(d, "audit", "audit-version", cfg.defaults.audit, errs);
  const json& ex = field(obj, "exemptions");
  SKIFF_ASSIGN_OR_RETURN(cfg.exempt_namespaces, stringList(ex, "namespaces"));
  SKIFF_ASSIGN_OR_RETURN(cfg.exempt_runtime_classes, stringList(ex, "runtimeClasses"));
  SKIFF_ASSIGN_OR_RETURN(cfg.exempt_usernames, stringList(ex, "usernames"));
  validateList(cfg.exempt_namespaces, "exemptions.namespaces", dnsLabel,
               "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
               "'-', and must start and end with an alphanumeric character",
               errs);
  validateList(cfg.exempt_runtime_classes, "exemptions.runtimeClasses", dnsSubdomain,
               "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
               "characters, '-' or '.', and must start and end with an alphanumeric character",
               errs);
  validateList(
      cfg.exempt_usernames, "exemptions.usernames", [](const std::string& s) { return !s.empty(); },
      "username must not be empty", errs);
  if (!errs.empty()) {
    std::string msg = errs.size() == 1 ? errs[0] : "[" + checks::join(errs, ", ") + "]";
    return Error(ErrorCode::Invalid, "invalid PodSecurityConfiguration: " + msg);
  }
  return cfg;
}

Result<PodSecurityConfig> loadAdmissionConfiguration(const std::string& path) {
  SKIFF_ASSIGN_OR_RETURN(std::string text, readFile(path));
  auto doc = yamlToJson(text);
  if (!doc) return doc.error().wrap("parse admission configuration '" + path + "'");
  if (doc->value("kind", "") != "AdmissionConfiguration")
    return Error(ErrorCode::Invalid,
                 "admission configuration '" + path + "': kind must be AdmissionConfiguration");
  const json& plugins = field(*doc, "plugins");
  if (plugins.is_array()) {
    for (const json& p : plugins) {
      if (p.value("name", "") != "PodSecurity") continue;
      json conf = field(p, "configuration");
      if (conf.is_null() && field(p, "path").is_string()) {
        std::filesystem::path file = p["path"].get<std::string>();
        if (file.is_relative()) file = std::filesystem::path(path).parent_path() / file;
        SKIFF_ASSIGN_OR_RETURN(std::string inner, readFile(file.string()));
        auto parsed = yamlToJson(inner);
        if (!parsed) return parsed.error().wrap("parse '" + file.string() + "'");
        conf = std::move(parsed).value();
      }
      auto cfg = parsePodSecurityConfiguration(conf);
      if (!cfg) return cfg.error().wrap("admission configuration '" + path + "'");
      return cfg;
    }
  }
  return PodSecurityConfig{};
}

bool extractPodSpec(const std::string& group, const std::string& resource, const json& obj,
                    json& metadata, json& spec) {
  const json* tmpl = nullptr;
  if (group.empty() && resource == "pods") {
    metadata = field(obj, "metadata");
    spec = field(obj, "spec");
    return true;
  }
  if (group.empty() && resource == "podtemplates") {
    tmpl = &field(obj, "template");
  } else if ((group.empty() && resource == "replicationcontrollers") ||
             (group == "apps" && (resource == "replicasets" || resource == "deployments" ||
                                  resource == "statefulsets" || resource == "daemonsets")) ||
             (group == "batch" && resource == "jobs")) {
    tmpl = &field(field(obj, "spec"), "template");
  } else if (group == "batch" && resource == "cronjobs") {
    tmpl = &field(field(field(field(obj, "spec"), "jobTemplate"), "spec"), "template");
  }
  if (!tmpl || !tmpl->is_object()) return false;
  metadata = field(*tmpl, "metadata");
  spec = field(*tmpl, "spec");
  return true;
}

namespace {

std::string imageOf(const json& c) {
  const json& i = field(c, "image");
  return i.is_string() ? i.get<std::string>() : "";
}

bool listChanged(const json& a, const json& b) {
  std::size_t na = a.is_array() ? a.size() : 0, nb = b.is_array() ? b.size() : 0;
  if (na != nb) return true;
  for (std::size_t i = 0; i < na; ++i)
    if (imageOf(a[i]) != imageOf(b[i])) return true;
  return false;
}

}  // namespace

bool significantPodUpdate(const json& pod, const json& old_pod) {
  const json& spec = field(pod, "spec");
  const json& old = field(old_pod, "spec");
  if (listChanged(field(spec, "containers"), field(old, "containers")) ||
      listChanged(field(spec, "initContainers"), field(old, "initContainers")))
    return true;
  const json& eph = field(spec, "ephemeralContainers");
  if (!eph.is_array()) return false;
  const json& old_eph = field(old, "ephemeralContainers");
  for (const json& c : eph) {
    const json* match = nullptr;
    if (old_eph.is_array()) {
      for (const json& oc : old_eph)
        if (checks::nameOf(oc) == checks::nameOf(c)) match = &oc;
    }
    if (!match || imageOf(*match) != imageOf(c)) return true;
  }
  return false;
}

}  // namespace skiff::master::admission
