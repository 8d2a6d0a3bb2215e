#include "skiff/agent/resources.h"

#include <algorithm>
#include <cmath>

namespace skiff::agent {

using nlohmann::json;

namespace {

// Splits "1.5Gi" into number and suffix and returns the value in base units as a double.
Result<double> parseQuantity(const std::string& q) {
  if (q.empty()) return Error(ErrorCode::Invalid, "parse quantity: empty");
  std::size_t i = 0;
  if (q[i] == '+' || q[i] == '-') ++i;
  while (i < q.size() && (std::isdigit(static_cast<unsigned char>(q[i])) || q[i] == '.')) ++i;
  std::string num = q.substr(0, i), suffix = q.substr(i);
  if (num.empty() || num == "." || num == "+" || num == "-") {
    return Error(ErrorCode::Invalid, "parse quantity '" + q + "': no number");
  }
  double v = std::strtod(num.c_str(), nullptr);
  static const std::pair<const char*, double> kSuffixes[] = {{"", 1},
                                                             {"n", 1e-9},
                                                             {"u", 1e-6},
                                                             {"m", 1e-3},
                                                             {"k", 1e3},
                                                             {"M", 1e6},
                                                             {"G", 1e9},
                                                             {"T", 1e12},
                                                             {"P", 1e15},
                                                             {"E", 1e18},
                                                             {"Ki", 1024.0},
                                                             {"Mi", 1048576.0},
                                                             {"Gi", 1073741824.0},
                                                             {"Ti", 1099511627776.0},
                                                             {"Pi", 1125899906842624.0},
                                                             {"Ei", 1152921504606846976.0}};
  for (const auto& [s, mult] : kSuffixes) {
    if (suffix == s) return v * mult;
  }
  if (!suffix.empty() && (suffix[0] == 'e' || suffix[0] == 'E')) {
    char* end = nullptr;
    long exp = std::strtol(suffix.c_str() + 1, &end, 10);
    if (end != nullptr && *end == '\0' && suffix.size() > 1) return v * std::pow(10.0, exp);
  }
  return Error(ErrorCode::Invalid, "parse quantity '" + q + "': unknown suffix '" + suffix + "'");
}

std::string quantityString(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number()) return v.dump();
  return "";
}

PodResources fromMap(const json& container, const char* which) {
  PodResources r;
  if (!container.contains("resources") || !container["resources"].contains(which)) return r;
  const json& m = container["resources"][which];
  if (m.contains("cpu")) r.cpu_milli = parseMilliCpu(quantityString(m["cpu"])).value_or(0);
  if (m.contains("memory")) r.memory_bytes = parseBytes(quantityString(m["memory"])).value_or(0);
  return r;
}

bool hasKey(const json& container, const char* which, const char* res) {
  return container.contains("resources") && container["resources"].contains(which) &&
         container["resources"][which].contains(res);
}

}  // namespace

Result<int64_t> parseMilliCpu(const std::string& q) {
  SKIFF_ASSIGN_OR_RETURN(double v, parseQuantity(q));
  return static_cast<int64_t>(std::ceil(v * 1000 - 1e-9));
}

Result<int64_t> parseBytes(const std::string& q) {
  SKIFF_ASSIGN_OR_RETURN(double v, parseQuantity(q));
  return static_cast<int64_t>(std::ceil(v - 1e-9));
}

Result<int64_t> parseCount(const std::string& q) { return parseBytes(q); }

PodResources containerRequests(const json& container) {
  PodResources r = fromMap(container, "requests");
  PodResources l = fromMap(container, "limits");
  // A limit without a request defaults the request to the limit (API defaulting).
  if (!hasKey(container, "requests", "cpu")) r.cpu_milli = l.cpu_milli;
  if (!hasKey(container, "requests", "memory")) r.memory_bytes = l.memory_bytes;
  return r;
}

PodResources containerLimits(const json& container) { return fromMap(container, "limits"); }

PodResources podRequests(const json& pod) {
  PodResources sum, init_max;
  const json& spec = pod.value("spec", json::object());
  for (const auto& c : spec.value("containers", json::array())) {
    auto r = containerRequests(c);
    sum.cpu_milli += r.cpu_milli;
    sum.memory_bytes += r.memory_bytes;
  }
  for (const auto& c : spec.value("initContainers", json::array())) {
    auto r = containerRequests(c);
    // Sidecars (restartPolicy: Always) keep running, so they add to the sum.
    if (c.value("restartPolicy", "") == "Always") {
      sum.cpu_milli += r.cpu_milli;
      sum.memory_bytes += r.memory_bytes;
      continue;
    }
    init_max.cpu_milli = std::max(init_max.cpu_milli, r.cpu_milli);
    init_max.memory_bytes = std::max(init_max.memory_bytes, r.memory_bytes);
  }
  if (spec.contains("overhead")) {
    const json& o = spec["overhead"];
    if (o.contains("cpu")) sum.cpu_milli += parseMilliCpu(quantityString(o["cpu"])).value_or(0);
    if (o.contains("memory"))
      sum.memory_bytes += parseBytes(quantityString(o["memory"])).value_or(0);
  }
  return {std::max(sum.cpu_milli, init_max.cpu_milli),
          std::max(sum.memory_bytes, init_max.memory_bytes)};
}

std::string qosClass(const json& pod) {
  const json& spec = pod.value("spec", json::object());
  bool any = false, guaranteed = true;
  auto visit = [&](const json& c) {
    for (const char* res : {"cpu", "memory"}) {
      bool req = hasKey(c, "requests", res), lim = hasKey(c, "limits", res);
      if (req || lim) any = true;
      if (!lim) {
        guaranteed = false;
        continue;
      }
      if (req) {
        std::string a = quantityString(c["resources"]["requests"][res]);
        std::string b = quantityString(c["resources"]["limits"][res]);
        auto pa = std::string(res) == "cpu" ? parseMilliCpu(a) : parseBytes(a);
        auto pb = std::string(res) == "cpu" ? parseMilliCpu(b) : parseBytes(b);
        if (!pa || !pb || *pa != *pb) guaranteed = false;
      }
    }
  };
  for (const auto& c : spec.value("containers", json::array())) visit(c);
  for (const auto& c : spec.value("initContainers", json::array())) visit(c);
  if (!any) return "BestEffort";
  return guaranteed ? "Guaranteed" : "Burstable";
}

int64_t milliCpuToShares(int64_t milli) {
  if (milli == 0) return 2;
  return std::max<int64_t>(2, milli * 1024 / 1000);
}

int64_t milliCpuToQuota(int64_t milli, int64_t period) {
  if (milli == 0) return 0;
  return std::max<int64_t>(1000, milli * period / 1000);
}

int64_t oomScoreAdjust(const json& pod, const json& container, int64_t memory_capacity) {
  // Node-critical pods (system-node-critical priority and above) are treated as Guaranteed.
  const json& spec = pod.value("spec", json::object());
  if (spec.contains("priority") && spec["priority"].is_number_integer() &&
      spec["priority"].get<int64_t>() >= 2000001000) {
    return -997;
  }
  std::string qos = qosClass(pod);
  if (qos == "Guaranteed") return -997;
  if (qos == "BestEffort") return 1000;
  int64_t req = containerRequests(container).memory_bytes;
  if (memory_capacity <= 0) return 999;
  int64_t adj = 1000 - (1000 * req) / memory_capacity;
  return std::clamp<int64_t>(adj, 3, 999);
}

}  // namespace skiff::agent
