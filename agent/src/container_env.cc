#include "skiff/agent/container_env.h"

#include <algorithm>
#include <cctype>

#include "skiff/agent/resources.h"
#include "skiff/agent/tls_util.h"

namespace skiff::agent {

using nlohmann::json;

std::string expandVars(const std::string& in, const std::map<std::string, std::string>& vars) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '$' || i + 1 >= in.size()) {
      out.push_back(in[i]);
      continue;
    }
    char next = in[i + 1];
    if (next == '$') {  // $$ escapes
      out.push_back('$');
      ++i;
    } else if (next == '(') {
      auto close = in.find(')', i + 2);
      if (close == std::string::npos) {
        out.append(in, i, std::string::npos);
        break;
      }
      std::string name = in.substr(i + 2, close - i - 2);
      auto it = vars.find(name);
      if (it != vars.end()) {
        out += it->second;
      } else {
        out += "$(" + name + ")";
      }
      i = close;
    } else {
      out.push_back('$');
    }
  }
  return out;
}

namespace {

std::string envName(const std::string& service) {
  std::string n;
  for (char c : service) n.push_back(c == '-' ? '_' : static_cast<char>(std::toupper(c)));
  return n;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(c));
  return s;
}

std::string quantityText(const json& v) {
  return v.is_string() ? v.get<std::string>() : v.is_number() ? v.dump() : "";
}

}  // namespace

EnvList serviceEnv(const std::vector<json>& services) {
  EnvList out;
  for (const auto& svc : services) {
    const json& spec = svc.value("spec", json::object());
    std::string ip = spec.value("clusterIP", "");
    if (ip.empty() || ip == "None") continue;
    std::string name = envName(svc["metadata"].value("name", ""));
    const json& ports = spec.value("ports", json::array());
    if (ports.empty()) continue;
    out.emplace_back(name + "_SERVICE_HOST", ip);
    out.emplace_back(name + "_SERVICE_PORT", std::to_string(ports[0].value("port", 0)));
    for (const auto& p : ports) {
      if (p.contains("name") && !p["name"].get<std::string>().empty()) {
        out.emplace_back(name + "_SERVICE_PORT_" + envName(p["name"]),
                         std::to_string(p.value("port", 0)));
      }
    }
    // Docker-link style variables, first port first.
    std::string proto0 = lower(ports[0].value("protocol", "TCP"));
    out.emplace_back(name + "_PORT",
                     proto0 + "://" + ip + ":" + std::to_string(ports[0].value("port", 0)));
    for (const auto& p : ports) {
      std::string proto = p.value("protocol", "TCP");
      std::string port = std::to_string(p.value("port", 0));
      std::string prefix = name + "_PORT_" + port + "_" + proto;
      out.emplace_back(prefix, lower(proto) + "://" + ip + ":" + port);
      out.emplace_back(prefix + "_PROTO", lower(proto));
      out.emplace_back(prefix + "_PORT", port);
      out.emplace_back(prefix + "_ADDR", ip);
    }
  }
  return out;
}

Result<std::string> podFieldValue(const json& pod, const std::string& path, const EnvContext& ctx) {
  const json& md = pod.value("metadata", json::object());
  auto mapKey = [&](const std::string& prefix, const char* field) -> std::optional<std::string> {
    if (path.rfind(prefix, 0) != 0) return std::nullopt;
    std::string key = path.substr(prefix.size());
    if (key.size() < 4 || key.front() != '\'' || key[key.size() - 2] != '\'' || key.back() != ']') {
      return std::nullopt;
    }
    key = key.substr(1, key.size() - 3);
    const json& m = md.value(field, json::object());
    return m.contains(key) && m[key].is_string() ? m[key].get<std::string>() : "";
  };
  if (path == "metadata.name") return md.value("name", "");
  if (path == "metadata.namespace") return md.value("namespace", "");
  if (path == "metadata.uid") return md.value("uid", "");
  if (auto v = mapKey("metadata.labels[", "labels")) return *v;
  if (auto v = mapKey("metadata.annotations[", "annotations")) return *v;
  if (path == "metadata.labels" || path == "metadata.annotations") {
    std::string out;
    const json m = md.value(path.substr(9), json::object());  // items() only references
    for (const auto& [k, v] : m.items()) {
      out += k + "=\"" + (v.is_string() ? v.get<std::string>() : v.dump()) + "\"\n";
    }
    return out;
  }
  const json& spec = pod.value("spec", json::object());
  if (path == "spec.nodeName") return spec.value("nodeName", ctx.node_name);
  if (path == "spec.serviceAccountName") return spec.value("serviceAccountName", "default");
  if (path == "status.hostIP" || path == "status.hostIPs") return ctx.host_ip;
  if (path == "status.podIP" || path == "status.podIPs") return ctx.pod_ip;
  return Error(ErrorCode::Invalid, "unsupported fieldRef '" + path + "'");
}

Result<std::string> resourceFieldValue(const json& container, const json& ref,
                                       const EnvContext& ctx) {
  std::string res = ref.value("resource", "");
  std::string divisor = ref.contains("divisor") ? quantityText(ref["divisor"]) : "";
  const json& r = container.value("resources", json::object());
  auto from = [&](const char* which, const char* name) -> std::string {
    if (r.contains(which) && r[which].contains(name)) return quantityText(r[which][name]);
    return "";
  };
  if (res == "limits.cpu" || res == "requests.cpu") {
    std::string q = from(res == "limits.cpu" ? "limits" : "requests", "cpu");
    int64_t milli = q.empty() ? (res == "limits.cpu" ? ctx.node_allocatable_milli_cpu : 0)
                              : quantityMilli(json(q)).value_or(0);
    int64_t div = divisor.empty() ? 1000 : quantityMilli(json(divisor)).value_or(1000);
    if (div <= 0) div = 1000;
    return std::to_string((milli + div - 1) / div);  // kubelet rounds up
  }
  if (res == "limits.memory" || res == "requests.memory" || res == "limits.ephemeral-storage" ||
      res == "requests.ephemeral-storage") {
    bool lim = res.rfind("limits", 0) == 0;
    std::string name = res.substr(res.find('.') + 1);
    std::string q = from(lim ? "limits" : "requests", name.c_str());
    int64_t bytes = q.empty() ? (lim && name == "memory" ? ctx.node_allocatable_memory : 0)
                              : quantityValue(json(q)).value_or(0);
    int64_t div = divisor.empty() ? 1 : quantityValue(json(divisor)).value_or(1);
    if (div <= 0) div = 1;
    return std::to_string((bytes + div - 1) / div);
  }
  return Error(ErrorCode::Invalid, "unsupported resourceFieldRef '" + res + "'");
}

namespace {

// The container's variables in definition order; a later definition replaces an earlier one in
// place. `defined` is what $(VAR) references expand to.
struct EnvBuilder {
  EnvList out;
  std::map<std::string, std::string> defined;

  void set(const std::string& k, const std::string& v) {
    auto it = std::find_if(out.begin(), out.end(), [&](const auto& p) { return p.first == k; });
    if (it != out.end()) {
      it->second = v;
    } else {
      out.emplace_back(k, v);
    }
    defined[k] = v;
  }
};

// envFrom: every key of a ConfigMap or Secret, with the prefix.
Result<void> addEnvFrom(const json& container, const std::string& ns, ObjectSource& objects,
                        EnvBuilder& env) {
  for (const auto& from : container.value("envFrom", json::array())) {
    std::string prefix = from.value("prefix", "");
    bool is_cm = from.contains("configMapRef");
    const json& ref = is_cm ? from["configMapRef"] : from.value("secretRef", json::object());
    std::string name = ref.value("name", "");
    bool optional = ref.value("optional", false);
    auto obj = is_cm ? objects.configMap(ns, name) : objects.secret(ns, name);
    if (!obj) {
      if (optional && obj.error().is(ErrorCode::NotFound)) continue;
      return Error(ErrorCode::Invalid,
                   std::string(is_cm ? "configmap" : "secret") + " \"" + name + "\" not found");
    }
    const json data = obj->value("data", json::object());  // items() only references
    for (const auto& [k, v] : data.items()) {
      std::string value = v.is_string() ? v.get<std::string>() : "";
      if (!is_cm) {
        auto dec = base64Decode(value);
        if (!dec)
          return Error(ErrorCode::Invalid, "secret \"" + name + "\" key " + k + ": bad base64");
        value = *dec;
      }
      env.set(prefix + k, value);
    }
  }
  return ok();
}

// A variable from a key of a ConfigMap or Secret (configMapKeyRef / secretKeyRef).
Result<void> addKeyRefVar(const std::string& name, const json& vf, const std::string& ns,
                          ObjectSource& objects, EnvBuilder& env) {
  bool is_cm = vf.contains("configMapKeyRef");
  const json& ref = is_cm ? vf["configMapKeyRef"] : vf["secretKeyRef"];
  std::string oname = ref.value("name", ""), key = ref.value("key", "");
  bool optional = ref.value("optional", false);
  auto obj = is_cm ? objects.configMap(ns, oname) : objects.secret(ns, oname);
  if (!obj) {
    if (optional && obj.error().is(ErrorCode::NotFound)) return ok();
    return Error(ErrorCode::Invalid,
                 std::string(is_cm ? "configmap" : "secret") + " \"" + oname + "\" not found");
  }
  const json& data = obj->value("data", json::object());
  if (!data.contains(key)) {
    if (optional) return ok();
    return Error(ErrorCode::Invalid, "couldn't find key " + key + " in " +
                                         (is_cm ? "ConfigMap " : "Secret ") + ns + "/" + oname);
  }
  std::string value = data[key].is_string() ? data[key].get<std::string>() : "";
  if (!is_cm) {
    auto dec = base64Decode(value);
    if (!dec) return Error(ErrorCode::Invalid, "secret \"" + oname + "\": bad base64");
    value = *dec;
  }
  env.set(name, value);
  return ok();
}

// env: literal values (with $(VAR) expansion) and valueFrom references.
Result<void> addEnvVars(const json& pod, const json& container, const std::string& ns,
                        ObjectSource& objects, const EnvContext& ctx, EnvBuilder& env) {
  for (const auto& e : container.value("env", json::array())) {
    std::string name = e.value("name", "");
    if (e.contains("value")) {
      env.set(name, expandVars(e["value"].get<std::string>(), env.defined));
      continue;
    }
    if (!e.contains("valueFrom")) {
      env.set(name, "");
      continue;
    }
    const json& vf = e["valueFrom"];
    if (vf.contains("fieldRef")) {
      SKIFF_ASSIGN_OR_RETURN(auto v,
                             podFieldValue(pod, vf["fieldRef"].value("fieldPath", ""), ctx));
      env.set(name, v);
    } else if (vf.contains("resourceFieldRef")) {
      const json& ref = vf["resourceFieldRef"];
      const json* target = &container;
      std::string cname = ref.value("containerName", "");
      if (!cname.empty()) {
        if (pod["spec"].contains("containers")) {
          for (const auto& c : pod["spec"]["containers"]) {
            if (c.value("name", "") == cname) target = &c;
          }
        }
      }
      SKIFF_ASSIGN_OR_RETURN(auto v, resourceFieldValue(*target, ref, ctx));
      env.set(name, v);
    } else if (vf.contains("configMapKeyRef") || vf.contains("secretKeyRef")) {
      SKIFF_TRY(addKeyRefVar(name, vf, ns, objects, env));
    }
  }
  return ok();
}

// Service links: the Docker-link variables of the namespace's services, not overriding any
// variable already defined.
void addServiceEnv(const json& pod, const std::string& ns, ObjectSource& objects, EnvBuilder& env) {
  if (pod["spec"].value("enableServiceLinks", true)) {
    auto svcs = objects.services(ns);
    if (svcs) {
      for (const auto& [k, v] : serviceEnv(*svcs)) {
        if (!env.defined.count(k)) env.out.emplace_back(k, v);
      }
    }
  } else {
    // The kubernetes service's variables are always there (kubelet: masterServices).
    auto svcs = objects.services(ns);
    if (svcs) {
      std::vector<json> only;
      for (const auto& s : *svcs) {
        if (s["metadata"].value("name", "") == "kubernetes" &&
            s["metadata"].value("namespace", "") == "default") {
          only.push_back(s);
        }
      }
      for (const auto& [k, v] : serviceEnv(only)) {
        if (!env.defined.count(k)) env.out.emplace_back(k, v);
      }
    }
  }
}

}  // namespace
Result<EnvList> buildContainerEnv(const json& pod, const json& container, ObjectSource& objects,
                                  const EnvContext& ctx) {
  std::string ns = pod["metadata"].value("namespace", "default");
  EnvBuilder env;
  SKIFF_TRY(addEnvFrom(container, ns, objects, env));
  SKIFF_TRY(addEnvVars(pod, container, ns, objects, ctx, env));
  addServiceEnv(pod, ns, objects, env);
  return std::move(env.out);
}

}  // namespace skiff::agent
