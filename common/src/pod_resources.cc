#include "skiff/common/pod_resources.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "skiff/common/quantity.h"

namespace skiff {

using nlohmann::json;

namespace {

const json& member(const json& obj, const char* key) {
  static const json kNull;
  if (!obj.is_object()) return kNull;
  auto it = obj.find(key);
  return it == obj.end() ? kNull : *it;
}

void addTo(MilliResourceList& total, const MilliResourceList& add) {
  for (const auto& [name, v] : add) total[name] += v;
}

void maxInto(MilliResourceList& total, const MilliResourceList& other) {
  for (const auto& [name, v] : other) total[name] = std::max(total[name], v);
}

bool isSidecar(const json& container) {
  const json& policy = member(container, "restartPolicy");
  return policy.is_string() && policy.get_ref<const std::string&>() == "Always";
}

MilliResourceList computeRequests(const json& pod, bool non_zero) {
  const json& spec = member(pod, "spec");
  MilliResourceList sum;
  const json& containers = member(spec, "containers");
  if (containers.is_array()) {
    for (const auto& c : containers) {
      MilliResourceList r = containerRequests(c);
      if (non_zero) {
        r.emplace("cpu", 100);                            // 100m
        r.emplace("memory", 200LL * 1024 * 1024 * 1000);  // 200Mi
      }
      addTo(sum, r);
    }
  }
  MilliResourceList sidecars, init_max;
  const json& inits = member(spec, "initContainers");
  if (inits.is_array()) {
    for (const auto& c : inits) {
      MilliResourceList r = containerRequests(c);
      if (isSidecar(c)) {
        addTo(sum, r);
        addTo(sidecars, r);
        r = sidecars;
      } else {
        addTo(r, sidecars);
      }
      maxInto(init_max, r);
    }
  }
  maxInto(sum, init_max);
  addTo(sum, parseMilliResourceList(member(spec, "overhead")));
  return sum;
}

}  // namespace

std::optional<std::int64_t> quantityMilli(const json& value) {
  if (value.is_string()) {
    auto q = Quantity::parse(value.get_ref<const std::string&>());
    if (!q) return std::nullopt;
    return q->milliValue();
  }
  if (value.is_number_integer()) {
    auto v = value.get<std::int64_t>();
    constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max() / 1000;
    if (v > kMax || v < -kMax) return std::nullopt;
    return v * 1000;
  }
  if (value.is_number()) {
    double v = value.get<double>() * 1000;
    if (!std::isfinite(v) || std::fabs(v) > 9.2e18) return std::nullopt;
    return static_cast<std::int64_t>(v < 0 ? std::floor(v) : std::ceil(v));
  }
  return std::nullopt;
}

std::optional<std::int64_t> quantityValue(const json& value) {
  if (value.is_string()) {
    auto q = Quantity::parse(value.get_ref<const std::string&>());
    if (!q) return std::nullopt;
    return q->value();
  }
  if (value.is_number_integer()) return value.get<std::int64_t>();
  if (value.is_number()) {
    double v = value.get<double>();
    if (!std::isfinite(v) || std::fabs(v) > 9.2e18) return std::nullopt;
    return static_cast<std::int64_t>(v < 0 ? std::floor(v) : std::ceil(v));
  }
  return std::nullopt;
}

MilliResourceList parseMilliResourceList(const json& list) {
  MilliResourceList out;
  if (!list.is_object()) return out;
  for (auto it = list.begin(); it != list.end(); ++it) {
    if (auto q = quantityMilli(it.value())) out[it.key()] = *q;
  }
  return out;
}

MilliResourceList containerRequests(const json& container) {
  const json& res = member(container, "resources");
  MilliResourceList req = parseMilliResourceList(member(res, "requests"));
  for (const auto& [name, v] : containerLimits(container)) req.emplace(name, v);
  return req;
}

MilliResourceList containerLimits(const json& container) {
  return parseMilliResourceList(member(member(container, "resources"), "limits"));
}

MilliResourceList podRequests(const json& pod) { return computeRequests(pod, false); }
MilliResourceList podNonZeroRequests(const json& pod) { return computeRequests(pod, true); }

QosClass podQosClass(const json& pod) {
  static const char* const kQosResources[] = {"cpu", "memory"};
  const json& spec = member(pod, "spec");
  MilliResourceList requests, limits;
  bool guaranteed = true;
  auto visit = [&](const json& c) {
    MilliResourceList req = containerRequests(c), lim = containerLimits(c);
    int limited = 0;
    for (const char* name : kQosResources) {
      if (auto it = req.find(name); it != req.end() && it->second > 0) requests[name] += it->second;
      if (auto it = lim.find(name); it != lim.end() && it->second > 0) {
        limits[name] += it->second;
        ++limited;
      }
    }
    if (limited != 2) guaranteed = false;
  };
  for (const char* key : {"initContainers", "containers"}) {
    const json& list = member(spec, key);
    if (list.is_array()) {
      for (const auto& c : list) visit(c);
    }
  }
  if (requests.empty() && limits.empty()) return QosClass::BestEffort;
  if (guaranteed && requests == limits) return QosClass::Guaranteed;
  return QosClass::Burstable;
}

const char* qosClassName(QosClass qos) {
  static const char* const kNames[] = {"Guaranteed", "Burstable", "BestEffort"};
  return kNames[static_cast<std::size_t>(qos)];
}

}  // namespace skiff
