// The baseline Pod Security checks (pod-security-admission policy/check_*.go, level baseline):
// the same fields, versions, reasons and details as upstream.
#include <algorithm>

#include "checks.h"

namespace skiff::master::admission::checks {
namespace {

const json& securityContext(const json& o) { return field(o, "securityContext"); }

CheckResult privileged(const json&, const json& spec) {
  std::vector<std::string> bad;
  visitContainers(spec, [&](const json& c) {
    if (isTrue(field(securityContext(c), "privileged"))) bad.push_back(nameOf(c));
  });
  if (bad.empty()) return allow();
  return deny("privileged",
              containersPhrase(bad) + " must not set securityContext.privileged=true");
}

const std::set<std::string>& defaultCapabilities() {
  static const std::set<std::string> caps = {
      "AUDIT_WRITE",      "CHOWN",   "DAC_OVERRIDE", "FOWNER",  "FSETID", "KILL",      "MKNOD",
      "NET_BIND_SERVICE", "SETFCAP", "SETGID",       "SETPCAP", "SETUID", "SYS_CHROOT"};
  return caps;
}

CheckResult capabilitiesBaseline(const json&, const json& spec) {
  std::vector<std::string> bad;
  std::set<std::string> caps;
  visitContainers(spec, [&](const json& c) {
    const json& add = field(field(securityContext(c), "capabilities"), "add");
    if (!add.is_array()) return;
    bool valid = true;
    for (const json& cap : add) {
      std::string s = cap.is_string() ? cap.get<std::string>() : cap.dump();
      if (!defaultCapabilities().count(s)) {
        valid = false;
        caps.insert(s);
      }
    }
    if (!valid) bad.push_back(nameOf(c));
  });
  if (bad.empty()) return allow();
  return deny("non-default capabilities", containersPhrase(bad) + " must not include " +
                                              joinQuote(caps) +
                                              " in securityContext.capabilities.add");
}

CheckResult hostNamespaces(const json&, const json& spec) {
  std::vector<std::string> set;
  if (isTrue(field(spec, "hostNetwork"))) set.push_back("hostNetwork=true");
  if (isTrue(field(spec, "hostPID"))) set.push_back("hostPID=true");
  if (isTrue(field(spec, "hostIPC"))) set.push_back("hostIPC=true");
  if (set.empty()) return allow();
  return deny("host namespaces", join(set, ", "));
}

CheckResult hostPathVolumes(const json&, const json& spec) {
  std::vector<std::string> bad;
  const json& vols = field(spec, "volumes");
  if (vols.is_array()) {
    for (const json& v : vols) {
      if (!field(v, "hostPath").is_null()) bad.push_back(nameOf(v));
    }
  }
  if (bad.empty()) return allow();
  return deny("hostPath volumes",
              std::string(pluralize("volume", "volumes", bad.size())) + " " + joinQuote(bad));
}

CheckResult hostPorts(const json&, const json& spec) {
  std::vector<std::string> bad;
  std::set<std::string> ports;  // sorted as strings, as upstream's sets.String
  visitContainers(spec, [&](const json& c) {
    const json& list = field(c, "ports");
    if (!list.is_array()) return;
    bool valid = true;
    for (const json& p : list) {
      const json& hp = field(p, "hostPort");
      if (hp.is_number_integer() && hp.get<long long>() != 0) {
        valid = false;
        ports.insert(std::to_string(hp.get<long long>()));
      }
    }
    if (!valid) bad.push_back(nameOf(c));
  });
  if (bad.empty()) return allow();
  std::vector<std::string> port_list(ports.begin(), ports.end());
  return deny("hostPort", containersPhrase(bad) + " " + pluralize("uses", "use", bad.size()) + " " +
                              pluralize("hostPort", "hostPorts", ports.size()) + " " +
                              join(port_list, ", "));
}

// The host of an httpGet or tcpSocket handler, "" when none.
void forbiddenHosts(const json& handler, std::set<std::string>& out, bool& found) {
  for (const char* kind : {"httpGet", "tcpSocket"}) {
    const json& host = field(field(handler, kind), "host");
    if (host.is_string() && !host.get<std::string>().empty()) {
      out.insert(host.get<std::string>());
      found = true;
    }
  }
}

CheckResult hostProbesAndHostLifecycle(const json&, const json& spec) {
  std::set<std::string> bad, hosts;
  visitContainers(spec, [&](const json& c) {
    bool found = false;
    for (const char* p : {"livenessProbe", "readinessProbe", "startupProbe"})
      forbiddenHosts(field(c, p), hosts, found);
    for (const char* h : {"postStart", "preStop"})
      forbiddenHosts(field(field(c, "lifecycle"), h), hosts, found);
    if (found) bad.insert(nameOf(c));
  });
  if (bad.empty()) return allow();
  return deny("probe or lifecycle host",
              std::string(pluralize("container", "containers", bad.size())) + " " + joinQuote(bad) +
                  " " + pluralize("uses", "use", bad.size()) + " " +
                  pluralize("probe or lifecycle host", "probe or lifecycle hosts", hosts.size()) +
                  " " + joinQuote(hosts));
}

CheckResult seLinux(const json& spec, const std::set<std::string>& allowed_types) {
  std::vector<std::string> setters, bad_containers;
  std::set<std::string> bad_types;
  bool set_user = false, set_role = false;
  auto valid = [&](const json& opts) {
    bool ok = true;
    std::string type =
        field(opts, "type").is_string() ? field(opts, "type").get<std::string>() : "";
    if (!allowed_types.count(type)) {
      ok = false;
      bad_types.insert(type);
    }
    for (auto [key, flag] : {std::pair{"user", &set_user}, std::pair{"role", &set_role}}) {
      const json& v = field(opts, key);
      if (v.is_string() && !v.get<std::string>().empty()) {
        ok = false;
        *flag = true;
      }
    }
    return ok;
  };
  const json& pod_opts = field(securityContext(spec), "seLinuxOptions");
  if (pod_opts.is_object() && !valid(pod_opts)) setters.push_back("pod");
  visitContainers(spec, [&](const json& c) {
    const json& opts = field(securityContext(c), "seLinuxOptions");
    if (opts.is_object() && !valid(opts)) bad_containers.push_back(nameOf(c));
  });
  if (!bad_containers.empty()) setters.push_back(containersPhrase(bad_containers));
  if (setters.empty()) return allow();
  std::vector<std::string> data;
  if (!bad_types.empty())
    data.push_back(std::string(pluralize("type", "types", bad_types.size())) + " " +
                   joinQuote(bad_types));
  if (set_user) data.push_back("user may not be set");
  if (set_role) data.push_back("role may not be set");
  return deny("seLinuxOptions",
              join(setters, " and ") +
                  " set forbidden securityContext.seLinuxOptions: " + join(data, "; "));
}

CheckResult seLinuxOptions1_0(const json&, const json& spec) {
  static const std::set<std::string> types = {"", "container_t", "container_init_t",
                                              "container_kvm_t"};
  return seLinux(spec, types);
}

CheckResult seLinuxOptions1_31(const json&, const json& spec) {
  static const std::set<std::string> types = {"", "container_t", "container_init_t",
                                              "container_kvm_t", "container_engine_t"};
  return seLinux(spec, types);
}

CheckResult procMount1_0(const json&, const json& spec) {
  std::vector<std::string> bad;
  std::set<std::string> types;
  visitContainers(spec, [&](const json& c) {
    const json& pm = field(securityContext(c), "procMount");
    if (pm.is_null()) return;
    std::string s = pm.is_string() ? pm.get<std::string>() : pm.dump();
    if (s != "Default") {
      bad.push_back(nameOf(c));
      types.insert(s);
    }
  });
  if (bad.empty()) return allow();
  return deny("procMount", containersPhrase(bad) + " must not set securityContext.procMount to " +
                               joinQuote(types));
}

CheckResult procMount1_35(const json& meta, const json& spec) {
  if (userNamespacePod(spec)) return allow();
  return procMount1_0(meta, spec);
}

bool validSeccompAnnotation(const std::string& v) {
  return v == "runtime/default" || v == "docker/default" || v.rfind("localhost/", 0) == 0;
}

CheckResult seccompBaseline1_0(const json& meta, const json& spec) {
  static const std::string pod_key = "seccomp.security.alpha.kubernetes.io/pod";
  static const std::string container_prefix = "container.seccomp.security.alpha.kubernetes.io/";
  const json& ann = field(meta, "annotations");
  std::set<std::string> forbidden;
  auto checkKey = [&](const std::string& key) {
    const json& v = field(ann, key.c_str());
    if (v.is_string() && !validSeccompAnnotation(v.get<std::string>()))
      forbidden.insert(key + "=" + goQuote(v.get<std::string>()));
  };
  checkKey(pod_key);
  visitContainers(spec, [&](const json& c) { checkKey(container_prefix + nameOf(c)); });
  if (forbidden.empty()) return allow();
  std::vector<std::string> list(forbidden.begin(), forbidden.end());
  return deny("seccompProfile", std::string("forbidden ") +
                                    pluralize("annotation", "annotations", list.size()) + " " +
                                    join(list, ", "));
}

CheckResult sysctls(const json& spec, const std::set<std::string>& allowed) {
  std::vector<std::string> bad;
  const json& list = field(securityContext(spec), "sysctls");
  if (list.is_array()) {
    for (const json& s : list) {
      std::string name = nameOf(s);
      if (!allowed.count(name)) bad.push_back(name);
    }
  }
  if (bad.empty()) return allow();
  return deny("forbidden sysctls", join(bad, ", "));
}

std::set<std::string> sysctlsAllowed(int minor) {
  std::set<std::string> s = {"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range",
                             "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range",
                             "net.ipv4.ip_unprivileged_port_start"};
  if (minor >= 27) s.insert("net.ipv4.ip_local_reserved_ports");
  if (minor >= 29) {
    s.insert({"net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout",
              "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes"});
  }
  if (minor >= 32) s.insert({"net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"});
  if (minor >= 37) s.insert({"net.ipv4.tcp_slow_start_after_idle", "net.ipv4.tcp_notsent_lowat"});
  return s;
}

template <int Minor>
CheckResult sysctlsAt(const json&, const json& spec) {
  static const std::set<std::string> allowed = sysctlsAllowed(Minor);
  return sysctls(spec, allowed);
}

CheckResult windowsHostProcess(const json&, const json& spec) {
  std::vector<std::string> setters, bad;
  auto hostProcess = [](const json& o) {
    return isTrue(field(field(securityContext(o), "windowsOptions"), "hostProcess"));
  };
  visitContainers(spec, [&](const json& c) {
    if (hostProcess(c)) bad.push_back(nameOf(c));
  });
  if (hostProcess(spec)) setters.push_back("pod");
  if (!bad.empty()) setters.push_back(containersPhrase(bad));
  if (setters.empty()) return allow();
  return deny("hostProcess", join(setters, " and ") +
                                 " must not set securityContext.windowsOptions.hostProcess=true");
}

bool allowedAppArmorType(const json& t) {
  return t.is_string() &&
         (t.get<std::string>() == "RuntimeDefault" || t.get<std::string>() == "Localhost");
}

std::string typeString(const json& t) { return t.is_string() ? t.get<std::string>() : ""; }

CheckResult appArmorProfile(const json& meta, const json& spec) {
  static const std::string prefix = "container.apparmor.security.beta.kubernetes.io/";
  std::vector<std::string> setters, bad;
  std::set<std::string> values;
  const json& pod_profile = field(securityContext(spec), "appArmorProfile");
  if (pod_profile.is_object() && !allowedAppArmorType(field(pod_profile, "type"))) {
    setters.push_back("pod");
    values.insert(typeString(field(pod_profile, "type")));
  }
  visitContainers(spec, [&](const json& c) {
    const json& p = field(securityContext(c), "appArmorProfile");
    if (p.is_object() && !allowedAppArmorType(field(p, "type"))) {
      bad.push_back(nameOf(c));
      values.insert(typeString(field(p, "type")));
    }
  });
  if (!bad.empty()) setters.push_back(containersPhrase(bad));
  std::vector<std::string> value_list(values.begin(), values.end()), annotations;
  const json& ann = field(meta, "annotations");
  if (ann.is_object()) {
    for (auto it = ann.begin(); it != ann.end(); ++it) {
      std::string v = it.value().is_string() ? it.value().get<std::string>() : "";
      bool ok = v.empty() || v == "runtime/default" || v.rfind("localhost/", 0) == 0;
      if (it.key().rfind(prefix, 0) == 0 && !ok) annotations.push_back(it.key() + "=" + goQuote(v));
    }
  }
  if (!annotations.empty()) {
    std::sort(annotations.begin(), annotations.end());
    value_list.insert(value_list.end(), annotations.begin(), annotations.end());
    setters.push_back(pluralize("annotation", "annotations", annotations.size()));
  }
  if (setters.empty()) return allow();
  return deny(
      pluralize("forbidden AppArmor profile", "forbidden AppArmor profiles", value_list.size()),
      join(setters, " and ") + " must not set AppArmor profile type to " + joinQuote(value_list));
}

}  // namespace

// CheckResult for seccompProfile_baseline at v1.19+ lives with the restricted variant it shares
// its message shape with (checks_restricted.cc).
CheckResult seccompBaseline1_19(const json& meta, const json& spec);

const std::vector<Check>& baselineChecks() {
  static const std::vector<Check> checks = {
      {"appArmorProfile", Level::Baseline, {{0, appArmorProfile, {}}}},
      {"capabilities_baseline", Level::Baseline, {{0, capabilitiesBaseline, {}}}},
      {"hostNamespaces", Level::Baseline, {{0, hostNamespaces, {}}}},
      {"hostPathVolumes", Level::Baseline, {{0, hostPathVolumes, {}}}},
      {"hostPorts", Level::Baseline, {{0, hostPorts, {}}}},
      {"hostProbesAndHostLifecycle", Level::Baseline, {{34, hostProbesAndHostLifecycle, {}}}},
      {"privileged", Level::Baseline, {{0, privileged, {}}}},
      {"procMount", Level::Baseline, {{0, procMount1_0, {}}, {35, procMount1_35, {}}}},
      {"seLinuxOptions",
       Level::Baseline,
       {{0, seLinuxOptions1_0, {}}, {31, seLinuxOptions1_31, {}}}},
      {"seccompProfile_baseline",
       Level::Baseline,
       {{0, seccompBaseline1_0, {}}, {19, seccompBaseline1_19, {}}}},
      {"sysctls",
       Level::Baseline,
       {{0, sysctlsAt<0>, {}},
        {27, sysctlsAt<27>, {}},
        {29, sysctlsAt<29>, {}},
        {32, sysctlsAt<32>, {}},
        {37, sysctlsAt<37>, {}}}},
      {"windowsHostProcess", Level::Baseline, {{0, windowsHostProcess, {}}}},
  };
  return checks;
}

// procMount at restricted (v1.35+) is the v1.0 baseline check without the user-namespace
// relaxation.
CheckResult procMountStrict(const json& meta, const json& spec) { return procMount1_0(meta, spec); }

}  // namespace skiff::master::admission::checks
