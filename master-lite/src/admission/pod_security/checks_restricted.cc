// The restricted Pod Security checks (pod-security-admission policy/check_*.go, level
// restricted), the seccomp check shared with baseline, and the helpers every check uses.
#include <algorithm>
#include <cstdio>

#include "checks.h"

namespace skiff::master::admission::checks {

const json& field(const json& obj, const char* key) {
  static const json null_value;
  if (!obj.is_object()) return null_value;
  auto it = obj.find(key);
  return it == obj.end() ? null_value : *it;
}

bool isTrue(const json& v) { return v.is_boolean() && v.get<bool>(); }
bool isFalse(const json& v) { return v.is_boolean() && !v.get<bool>(); }

std::string nameOf(const json& o) {
  const json& n = field(o, "name");
  return n.is_string() ? n.get<std::string>() : "";
}

std::string join(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? sep : "") + items[i];
  return out;
}

std::string joinQuote(const std::vector<std::string>& items) {
  if (items.empty()) return "";
  return "\"" + join(items, "\", \"") + "\"";
}

std::string joinQuote(const std::set<std::string>& items) {
  return joinQuote(std::vector<std::string>(items.begin(), items.end()));
}

const char* pluralize(const char* singular, const char* plural, std::size_t n) {
  return n == 1 ? singular : plural;
}

std::string containersPhrase(const std::vector<std::string>& names) {
  return std::string(pluralize("container", "containers", names.size())) + " " + joinQuote(names);
}

bool windowsPod(const json& spec) {
  const json& n = field(field(spec, "os"), "name");
  return n.is_string() && n.get<std::string>() == "windows";
}

bool userNamespacePod(const json& spec) { return isFalse(field(spec, "hostUsers")); }

std::string goQuote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char ch : s) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += static_cast<char>(ch);
    } else if (ch == '\n') {
      out += "\\n";
    } else if (ch == '\t') {
      out += "\\t";
    } else if (ch < 0x20 || ch == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", ch);
      out += buf;
    } else {
      out += static_cast<char>(ch);
    }
  }
  return out + "\"";
}

CheckResult allow() { return CheckResult{}; }
CheckResult deny(std::string reason, std::string detail) {
  return CheckResult{false, std::move(reason), std::move(detail)};
}

namespace {

const json& securityContext(const json& o) { return field(o, "securityContext"); }

CheckResult allowPrivilegeEscalation1_8(const json&, const json& spec) {
  std::vector<std::string> bad;
  visitContainers(spec, [&](const json& c) {
    if (!isFalse(field(securityContext(c), "allowPrivilegeEscalation"))) bad.push_back(nameOf(c));
  });
  if (bad.empty()) return allow();
  return deny("allowPrivilegeEscalation != false",
              containersPhrase(bad) + " must set securityContext.allowPrivilegeEscalation=false");
}

CheckResult allowPrivilegeEscalation1_25(const json& meta, const json& spec) {
  if (windowsPod(spec)) return allow();
  return allowPrivilegeEscalation1_8(meta, spec);
}

CheckResult capabilitiesRestricted1_22(const json&, const json& spec) {
  std::vector<std::string> missing_drop, adding;
  std::set<std::string> forbidden;
  visitContainers(spec, [&](const json& c) {
    const json& caps = field(securityContext(c), "capabilities");
    if (!caps.is_object()) {
      missing_drop.push_back(nameOf(c));
      return;
    }
    bool dropped_all = false;
    const json& drop = field(caps, "drop");
    if (drop.is_array()) {
      for (const json& d : drop) dropped_all = dropped_all || (d.is_string() && d == "ALL");
    }
    if (!dropped_all) missing_drop.push_back(nameOf(c));
    bool added = false;
    const json& add = field(caps, "add");
    if (add.is_array()) {
      for (const json& a : add) {
        std::string s = a.is_string() ? a.get<std::string>() : a.dump();
        if (s != "NET_BIND_SERVICE") {
          added = true;
          forbidden.insert(s);
        }
      }
    }
    if (added) adding.push_back(nameOf(c));
  });
  std::vector<std::string> details;
  if (!missing_drop.empty())
    details.push_back(containersPhrase(missing_drop) +
                      " must set securityContext.capabilities.drop=[\"ALL\"]");
  if (!adding.empty())
    details.push_back(containersPhrase(adding) + " must not include " + joinQuote(forbidden) +
                      " in securityContext.capabilities.add");
  if (details.empty()) return allow();
  return deny("unrestricted capabilities", join(details, "; "));
}

CheckResult capabilitiesRestricted1_25(const json& meta, const json& spec) {
  if (windowsPod(spec)) return allow();
  return capabilitiesRestricted1_22(meta, spec);
}

CheckResult restrictedVolumes(const json&, const json& spec) {
  static const std::vector<std::string> allowed = {
      "configMap", "csi",   "downwardAPI",           "emptyDir",
      "ephemeral", "image", "persistentVolumeClaim", "projected",
      "secret"};
  // Upstream's order of the restricted sources, for the type it reports.
  static const std::vector<std::string> restricted = {"hostPath",
                                                      "gcePersistentDisk",
                                                      "awsElasticBlockStore",
                                                      "gitRepo",
                                                      "nfs",
                                                      "iscsi",
                                                      "glusterfs",
                                                      "rbd",
                                                      "flexVolume",
                                                      "cinder",
                                                      "cephfs",
                                                      "flocker",
                                                      "fc",
                                                      "azureFile",
                                                      "vsphereVolume",
                                                      "quobyte",
                                                      "azureDisk",
                                                      "photonPersistentDisk",
                                                      "portworxVolume",
                                                      "scaleIO",
                                                      "storageos"};
  std::vector<std::string> bad;
  std::set<std::string> types;
  const json& vols = field(spec, "volumes");
  if (!vols.is_array()) return allow();
  for (const json& v : vols) {
    auto has = [&](const std::string& k) { return !field(v, k.c_str()).is_null(); };
    if (std::any_of(allowed.begin(), allowed.end(), has)) continue;
    bad.push_back(nameOf(v));
    auto it = std::find_if(restricted.begin(), restricted.end(), has);
    types.insert(it == restricted.end() ? "unknown" : *it);
  }
  if (bad.empty()) return allow();
  return deny("restricted volume types",
              std::string(pluralize("volume", "volumes", bad.size())) + " " + joinQuote(bad) + " " +
                  pluralize("uses", "use", bad.size()) + " " +
                  pluralize("restricted volume type", "restricted volume types", types.size()) +
                  " " + joinQuote(types));
}

CheckResult runAsNonRoot1_0(const json&, const json& spec) {
  std::vector<std::string> setters, explicit_bad, implicit_bad;
  bool pod_non_root = false;
  const json& pod = field(securityContext(spec), "runAsNonRoot");
  if (isFalse(pod)) setters.push_back("pod");
  if (isTrue(pod)) pod_non_root = true;
  visitContainers(spec, [&](const json& c) {
    const json& v = field(securityContext(c), "runAsNonRoot");
    if (v.is_boolean()) {
      if (!v.get<bool>()) explicit_bad.push_back(nameOf(c));
    } else if (!pod_non_root) {
      implicit_bad.push_back(nameOf(c));
    }
  });
  if (!explicit_bad.empty()) setters.push_back(containersPhrase(explicit_bad));
  if (!setters.empty())
    return deny("runAsNonRoot != true",
                join(setters, " and ") + " must not set securityContext.runAsNonRoot=false");
  if (!implicit_bad.empty())
    return deny("runAsNonRoot != true", "pod or " + containersPhrase(implicit_bad) +
                                            " must set securityContext.runAsNonRoot=true");
  return allow();
}

CheckResult runAsNonRoot1_35(const json& meta, const json& spec) {
  if (userNamespacePod(spec)) return allow();
  return runAsNonRoot1_0(meta, spec);
}

bool rootUser(const json& sc) {
  const json& v = field(sc, "runAsUser");
  return v.is_number_integer() && v.get<long long>() == 0;
}

CheckResult runAsUser1_23(const json&, const json& spec) {
  std::vector<std::string> setters, bad;
  if (rootUser(securityContext(spec))) setters.push_back("pod");
  visitContainers(spec, [&](const json& c) {
    if (rootUser(securityContext(c))) bad.push_back(nameOf(c));
  });
  if (!bad.empty()) setters.push_back(containersPhrase(bad));
  if (setters.empty()) return allow();
  return deny("runAsUser=0", join(setters, " and ") + " must not set runAsUser=0");
}

CheckResult runAsUser1_35(const json& meta, const json& spec) {
  if (userNamespacePod(spec)) return allow();
  return runAsUser1_23(meta, spec);
}

bool validSeccomp(const json& profile) {
  const json& t = field(profile, "type");
  return t.is_string() && (t == "Localhost" || t == "RuntimeDefault");
}

std::string seccompType(const json& profile) {
  const json& t = field(profile, "type");
  return t.is_string() ? t.get<std::string>() : "";
}

// The seccomp check from v1.19: explicit bad types always fail; with `require`, a container
// without a profile (and no pod-level one) fails too (restricted).
CheckResult seccomp(const json& spec, bool require) {
  std::vector<std::string> setters, explicit_bad, implicit_bad;
  std::set<std::string> values;
  bool pod_set = false;
  const json& pod = field(securityContext(spec), "seccompProfile");
  if (pod.is_object()) {
    if (!validSeccomp(pod)) {
      setters.push_back("pod");
      values.insert(seccompType(pod));
    } else {
      pod_set = true;
    }
  }
  visitContainers(spec, [&](const json& c) {
    const json& p = field(securityContext(c), "seccompProfile");
    if (p.is_object()) {
      if (!validSeccomp(p)) {
        explicit_bad.push_back(nameOf(c));
        values.insert(seccompType(p));
      }
    } else if (!pod_set) {
      implicit_bad.push_back(nameOf(c));
    }
  });
  if (!explicit_bad.empty()) setters.push_back(containersPhrase(explicit_bad));
  if (!setters.empty())
    return deny("seccompProfile", join(setters, " and ") +
                                      " must not set securityContext.seccompProfile.type to " +
                                      joinQuote(values));
  if (require && !implicit_bad.empty())
    return deny("seccompProfile",
                "pod or " + containersPhrase(implicit_bad) +
                    " must set securityContext.seccompProfile.type to \"RuntimeDefault\" or "
                    "\"Localhost\"");
  return allow();
}

CheckResult seccompRestricted1_19(const json&, const json& spec) { return seccomp(spec, true); }

CheckResult seccompRestricted1_25(const json& meta, const json& spec) {
  if (windowsPod(spec)) return allow();
  return seccompRestricted1_19(meta, spec);
}

}  // namespace

CheckResult seccompBaseline1_19(const json&, const json& spec) { return seccomp(spec, false); }
CheckResult procMountStrict(const json& meta, const json& spec);

const std::vector<Check>& restrictedChecks() {
  static const std::vector<Check> checks = {
      {"allowPrivilegeEscalation",
       Level::Restricted,
       {{8, allowPrivilegeEscalation1_8, {}}, {25, allowPrivilegeEscalation1_25, {}}}},
      {"capabilities_restricted",
       Level::Restricted,
       {{22, capabilitiesRestricted1_22, {"capabilities_baseline"}},
        {25, capabilitiesRestricted1_25, {"capabilities_baseline"}}}},
      {"procMount_restricted", Level::Restricted, {{35, procMountStrict, {"procMount"}}}},
      {"restrictedVolumes", Level::Restricted, {{0, restrictedVolumes, {"hostPathVolumes"}}}},
      {"runAsNonRoot", Level::Restricted, {{0, runAsNonRoot1_0, {}}, {35, runAsNonRoot1_35, {}}}},
      {"runAsUser", Level::Restricted, {{23, runAsUser1_23, {}}, {35, runAsUser1_35, {}}}},
      {"seccompProfile_restricted",
       Level::Restricted,
       {{19, seccompRestricted1_19, {"seccompProfile_baseline"}},
        {25, seccompRestricted1_25, {"seccompProfile_baseline"}}}},
  };
  return checks;
}

}  // namespace skiff::master::admission::checks
