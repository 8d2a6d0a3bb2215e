#include "skiff/agent/config.h"

#include <cctype>
#include <set>
#include <sstream>

#include "skiff/common/file.h"
#include "skiff/common/yaml.h"
#include "skiff/hostinfo/resource_flags.h"

namespace skiff::agent {

using nlohmann::json;

namespace {
std::vector<std::string> splitComma(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, ',')) {
    auto b = part.find_first_not_of(" \t");
    auto e = part.find_last_not_of(" \t");
    if (b == std::string::npos) continue;
    out.push_back(part.substr(b, e - b + 1));
  }
  return out;
}

}  // namespace

Result<std::map<std::string, std::string>> parseKeyValueList(const std::string& text,
                                                             const std::string& flag) {
  std::map<std::string, std::string> out;
  for (const auto& term : splitComma(text)) {
    auto eq = term.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Error(ErrorCode::Invalid,
                   "parse " + flag + ": '" + term + "' is not of the form key=value");
    }
    out[term.substr(0, eq)] = term.substr(eq + 1);
  }
  return out;
}

Result<std::chrono::seconds> parseGoDuration(const std::string& text, const std::string& what) {
  auto bad = [&] {
    return Error(ErrorCode::Invalid,
                 "parse " + what + ": invalid duration '" + text + "' (use e.g. 30s, 5m0s, 1h)");
  };
  if (text.empty()) return bad();
  if (text == "0") return std::chrono::seconds(0);
  double total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
      ++i;
    if (i == start) return bad();
    double v = std::strtod(text.substr(start, i - start).c_str(), nullptr);
    std::size_t ustart = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string unit = text.substr(ustart, i - ustart);
    if (unit == "h")
      total += v * 3600;
    else if (unit == "m")
      total += v * 60;
    else if (unit == "s")
      total += v;
    else if (unit == "ms")
      total += v / 1e3;
    else if (unit == "us" || unit == "µs")
      total += v / 1e6;
    else if (unit == "ns")
      total += v / 1e9;
    else
      return bad();
  }
  return std::chrono::seconds(static_cast<int64_t>(total));
}

Result<std::map<std::string, std::string>> parseEvictionThresholds(const std::string& text,
                                                                   const std::string& flag) {
  SKIFF_ASSIGN_OR_RETURN(auto thresholds, hostinfo::splitEvictionFlag(text, flag));
  SKIFF_TRY(hostinfo::parseEvictionThresholdMap(thresholds, flag));
  return thresholds;
}

Result<std::vector<json>> parseTaints(const std::string& text) {
  std::vector<json> out;
  for (const auto& term : splitComma(text)) {
    auto colon = term.rfind(':');
    if (colon == std::string::npos) {
      return Error(ErrorCode::Invalid,
                   "parse --register-with-taints: '" + term + "' has no effect (key=value:Effect)");
    }
    std::string kv = term.substr(0, colon), effect = term.substr(colon + 1);
    if (effect != "NoSchedule" && effect != "PreferNoSchedule" && effect != "NoExecute") {
      return Error(ErrorCode::Invalid, "parse --register-with-taints: invalid taint effect '" +
                                           effect +
                                           "', must be NoSchedule, PreferNoSchedule or "
                                           "NoExecute");
    }
    json t = {{"effect", effect}};
    auto eq = kv.find('=');
    t["key"] = kv.substr(0, eq);
    if (eq != std::string::npos) t["value"] = kv.substr(eq + 1);
    if (t["key"].get<std::string>().empty()) {
      return Error(ErrorCode::Invalid, "parse --register-with-taints: empty key in '" + term + "'");
    }
    out.push_back(std::move(t));
  }
  return out;
}

Result<void> validateNodeLabels(const std::map<std::string, std::string>& labels) {
  // kubelet's allowed kubernetes.io labels (cmd/kubelet/app/options/options.go).
  static const std::set<std::string> kAllowed = {"kubernetes.io/hostname",
                                                 "kubernetes.io/instance-type",
                                                 "kubernetes.io/os",
                                                 "kubernetes.io/arch",
                                                 "beta.kubernetes.io/instance-type",
                                                 "beta.kubernetes.io/os",
                                                 "beta.kubernetes.io/arch",
                                                 "failure-domain.beta.kubernetes.io/zone",
                                                 "failure-domain.beta.kubernetes.io/region",
                                                 "topology.kubernetes.io/zone",
                                                 "topology.kubernetes.io/region",
                                                 "node.kubernetes.io/instance-type"};
  for (const auto& [k, v] : labels) {
    auto slash = k.find('/');
    std::string prefix = slash == std::string::npos ? "" : k.substr(0, slash);
    bool k8s_ns = prefix == "kubernetes.io" || prefix.ends_with(".kubernetes.io") ||
                  prefix == "k8s.io" || prefix.ends_with(".k8s.io");
    bool allowed_ns = prefix == "kubelet.kubernetes.io" ||
                      prefix.ends_with(".kubelet.kubernetes.io") ||
                      prefix == "node.kubernetes.io" || prefix.ends_with(".node.kubernetes.io");
    if (k8s_ns && !allowed_ns && !kAllowed.count(k)) {
      return Error(ErrorCode::Invalid,
                   "unknown 'kubernetes.io' or 'k8s.io' labels specified with "
                   "--node-labels: [" +
                       k + "]");
    }
    if (v.size() > 63) {
      return Error(ErrorCode::Invalid, "invalid node label '" + k + "': value longer than 63");
    }
  }
  return ok();
}

namespace {

// The KubeletConfiguration fields, each optional: absent leaves `out` as it is.
Result<void> readStringMap(const json& doc, const char* key,
                           std::map<std::string, std::string>& out) {
  if (!doc.contains(key)) return ok();
  if (!doc[key].is_object())
    return Error(ErrorCode::Invalid, std::string("kubelet config: ") + key + " must be a map");
  out.clear();
  for (const auto& [k, v] : doc[key].items()) {
    out[k] = v.is_string() ? v.get<std::string>() : v.dump();
  }
  return ok();
}

Result<void> readInt(const json& doc, const char* key, int& out) {
  if (!doc.contains(key)) return ok();
  if (!doc[key].is_number_integer())
    return Error(ErrorCode::Invalid, std::string("kubelet config: ") + key + " must be an integer");
  out = doc[key].get<int>();
  return ok();
}

Result<void> readString(const json& doc, const char* key, std::string& out) {
  if (!doc.contains(key)) return ok();
  if (!doc[key].is_string())
    return Error(ErrorCode::Invalid, std::string("kubelet config: ") + key + " must be a string");
  out = doc[key].get<std::string>();
  return ok();
}

// A list of strings; entries that are not strings are skipped.
Result<void> readStringList(const json& doc, const char* key, std::vector<std::string>& out) {
  if (!doc.contains(key)) return ok();
  if (!doc[key].is_array())
    return Error(ErrorCode::Invalid, std::string("kubelet config: ") + key + " must be a list");
  out.clear();
  for (const auto& v : doc[key]) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return ok();
}

// The kubelet API, healthz, static pods, DNS domain, TLS and service proxy fields.
Result<void> applyServingFields(const json& doc, AgentConfig& cfg) {
  SKIFF_TRY(readInt(doc, "maxPods", cfg.max_pods));
  SKIFF_TRY(readInt(doc, "port", cfg.port));
  SKIFF_TRY(readInt(doc, "healthzPort", cfg.healthz_port));
  SKIFF_TRY(readInt(doc, "nodeLeaseDurationSeconds", cfg.node_lease_duration_seconds));
  SKIFF_TRY(readString(doc, "address", cfg.address));
  SKIFF_TRY(readString(doc, "healthzBindAddress", cfg.healthz_bind_address));
  SKIFF_TRY(readString(doc, "staticPodPath", cfg.pod_manifest_path));
  SKIFF_TRY(
      readString(doc, "imageImportDir", cfg.image_import_dir));  // skiff's own (k3s: agent/images)
  SKIFF_TRY(readString(doc, "clusterDomain", cfg.cluster_domain));
  SKIFF_TRY(readString(doc, "resolvConf", cfg.resolv_conf));
  SKIFF_TRY(readString(doc, "tlsCertFile", cfg.tls_cert_file));
  SKIFF_TRY(readString(doc, "tlsPrivateKeyFile", cfg.tls_private_key_file));
  SKIFF_TRY(readString(doc, "proxyMode", cfg.proxy_mode));  // skiff's own: kube-proxy's `mode`
  SKIFF_TRY(readString(doc, "ipvsScheduler", cfg.ipvs_scheduler));  // kube-proxy's `ipvs.scheduler`
  SKIFF_TRY(readStringList(doc, "nodePortAddresses", cfg.nodeport_addresses));
  return ok();
}

// Reserved resources, eviction and image garbage collection.
Result<void> applyResourceFields(const json& doc, AgentConfig& cfg) {
  SKIFF_TRY(readStringMap(doc, "kubeReserved", cfg.kube_reserved));
  SKIFF_TRY(hostinfo::parseReservedMap(cfg.kube_reserved, "kubeReserved"));
  SKIFF_TRY(readStringMap(doc, "systemReserved", cfg.system_reserved));
  SKIFF_TRY(hostinfo::parseReservedMap(cfg.system_reserved, "systemReserved"));
  if (doc.contains("evictionHard")) {
    SKIFF_TRY(readStringMap(doc, "evictionHard", cfg.eviction_hard));
    SKIFF_TRY(hostinfo::parseEvictionThresholdMap(cfg.eviction_hard, "evictionHard"));
  }
  if (doc.contains("evictionSoft")) {
    SKIFF_TRY(readStringMap(doc, "evictionSoft", cfg.eviction_soft));
    SKIFF_TRY(hostinfo::parseEvictionThresholdMap(cfg.eviction_soft, "evictionSoft"));
  }
  SKIFF_TRY(readStringMap(doc, "evictionSoftGracePeriod", cfg.eviction_soft_grace_period));
  SKIFF_TRY(readStringMap(doc, "evictionMinimumReclaim", cfg.eviction_minimum_reclaim));
  if (doc.contains("evictionMaxPodGracePeriod")) {
    int v = 0;
    SKIFF_TRY(readInt(doc, "evictionMaxPodGracePeriod", v));
    if (v < 0)
      return Error(ErrorCode::Invalid,
                   "kubelet config: evictionMaxPodGracePeriod must not be negative");
    cfg.eviction_max_pod_grace_period = std::chrono::seconds(v);
  }
  SKIFF_TRY(readInt(doc, "imageGCHighThresholdPercent", cfg.image_gc.high_threshold_percent));
  SKIFF_TRY(readInt(doc, "imageGCLowThresholdPercent", cfg.image_gc.low_threshold_percent));
  if (doc.contains("imageMinimumGCAge")) {
    std::string d;
    SKIFF_TRY(readString(doc, "imageMinimumGCAge", d));
    SKIFF_ASSIGN_OR_RETURN(cfg.image_gc.min_age, parseGoDuration(d, "imageMinimumGCAge"));
  }
  if (doc.contains("evictionPressureTransitionPeriod")) {
    std::string d;
    SKIFF_TRY(readString(doc, "evictionPressureTransitionPeriod", d));
    SKIFF_ASSIGN_OR_RETURN(cfg.eviction_pressure_transition_period,
                           parseGoDuration(d, "evictionPressureTransitionPeriod"));
  }
  return ok();
}

// clusterDNS and the client CA of the kubelet API.
Result<void> applyDnsAndAuthFields(const json& doc, AgentConfig& cfg) {
  SKIFF_TRY(readStringList(doc, "clusterDNS", cfg.cluster_dns));
  if (doc.contains("authentication") && doc["authentication"].contains("x509")) {
    SKIFF_TRY(readString(doc, "clientCAFile", cfg.client_ca_file));
    const auto& x = doc["authentication"]["x509"];
    if (x.contains("clientCAFile") && x["clientCAFile"].is_string()) {
      cfg.client_ca_file = x["clientCAFile"].get<std::string>();
    }
  }
  return ok();
}

// The checks on the configuration as a whole.
Result<void> validateKubeletConfiguration(const AgentConfig& cfg) {
  if (cfg.max_pods <= 0) return Error(ErrorCode::Invalid, "kubelet config: maxPods must be > 0");
  if (cfg.proxy_mode != "auto" && cfg.proxy_mode != "iptables" && cfg.proxy_mode != "nftables" &&
      cfg.proxy_mode != "ipvs") {
    return Error(ErrorCode::Invalid,
                 "kubelet config: proxyMode must be iptables, nftables, ipvs or auto, not '" +
                     cfg.proxy_mode + "'");
  }
  if (cfg.ipvs_scheduler.empty()) {
    return Error(ErrorCode::Invalid, "kubelet config: ipvsScheduler must not be empty");
  }
  return ok();
}

}  // namespace

Result<void> applyKubeletConfiguration(const json& doc, AgentConfig& cfg) {
  if (!doc.is_object()) return Error(ErrorCode::Invalid, "kubelet config: not a mapping");
  std::string kind = doc.value("kind", "KubeletConfiguration");
  if (kind != "KubeletConfiguration") {
    return Error(ErrorCode::Invalid, "kubelet config: kind '" + kind +
                                         "' is not "
                                         "KubeletConfiguration");
  }
  SKIFF_TRY(applyServingFields(doc, cfg));
  SKIFF_TRY(applyResourceFields(doc, cfg));
  SKIFF_TRY(applyDnsAndAuthFields(doc, cfg));
  return validateKubeletConfiguration(cfg);
}

Result<void> applyConfigFile(const std::string& path, AgentConfig& cfg) {
  auto text = readFile(path, 1u << 20);
  if (!text) return std::move(text).error().wrap("load kubelet config");
  auto doc = yamlToJson(*text);
  if (!doc) return std::move(doc).error().wrap("load kubelet config '" + path + "'");
  auto r = applyKubeletConfiguration(*doc, cfg);
  if (!r) return std::move(r).error().wrap("load kubelet config '" + path + "'");
  return ok();
}

}  // namespace skiff::agent
