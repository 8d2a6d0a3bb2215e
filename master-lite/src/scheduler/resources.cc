#include "skiff/master/scheduler/resources.h"

#include <algorithm>
#include <cctype>
#include <cmath>

namespace skiff::master {

std::optional<std::int64_t> parseQuantityMilli(const std::string& text) {
  if (text.empty() || text.size() > 64) return std::nullopt;
  std::size_t i = 0;
  bool neg = false;
  if (text[i] == '+' || text[i] == '-') {
    neg = text[i] == '-';
    ++i;
  }
  std::size_t num_start = i;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
    ++i;
  }
  if (i == num_start) return std::nullopt;
  std::string number = text.substr(num_start, i - num_start);
  if (std::count(number.begin(), number.end(), '.') > 1) return std::nullopt;
  std::string suffix = text.substr(i);
  long double mult = 1;
  if (suffix.empty()) {
    mult = 1;
  } else if (suffix == "m") {
    mult = 1e-3L;
  } else if (suffix == "n") {
    mult = 1e-9L;
  } else if (suffix == "u") {
    mult = 1e-6L;
  } else if (suffix == "k") {
    mult = 1e3L;
  } else if (suffix == "M") {
    mult = 1e6L;
  } else if (suffix == "G") {
    mult = 1e9L;
  } else if (suffix == "T") {
    mult = 1e12L;
  } else if (suffix == "P") {
    mult = 1e15L;
  } else if (suffix == "E") {
    mult = 1e18L;
  } else if (suffix == "Ki") {
    mult = 1024.0L;
  } else if (suffix == "Mi") {
    mult = 1048576.0L;
  } else if (suffix == "Gi") {
    mult = 1073741824.0L;
  } else if (suffix == "Ti") {
    mult = 1099511627776.0L;
  } else if (suffix == "Pi") {
    mult = 1125899906842624.0L;
  } else if (suffix == "Ei") {
    mult = 1152921504606846976.0L;
  } else if (suffix[0] == 'e' || suffix[0] == 'E') {
    std::string exp = suffix.substr(1);
    if (exp.empty()) return std::nullopt;
    std::size_t j = (exp[0] == '+' || exp[0] == '-') ? 1 : 0;
    if (j == exp.size()) return std::nullopt;
    for (; j < exp.size(); ++j) {
      if (!std::isdigit(static_cast<unsigned char>(exp[j]))) return std::nullopt;
    }
    int e = std::stoi(exp);
    if (e > 18 || e < -9) return std::nullopt;
    mult = std::pow(10.0L, e);
  } else {
    return std::nullopt;
  }
  long double v = std::stold(number) * mult * 1000.0L;
  if (v > 9.2e18L) return std::nullopt;
  // Round up like resource.Quantity.MilliValue() does for sub-milli fractions.
  auto milli = static_cast<std::int64_t>(std::ceil(v - 1e-6L));
  return neg ? -milli : milli;
}

std::optional<std::int64_t> parseQuantityMilliJson(const json& value) {
  if (value.is_string()) return parseQuantityMilli(value.get<std::string>());
  if (value.is_number_integer()) return value.get<std::int64_t>() * 1000;
  if (value.is_number()) return static_cast<std::int64_t>(std::ceil(value.get<double>() * 1000));
  return std::nullopt;
}

ResourceList parseResourceList(const json& list) {
  ResourceList out;
  if (!list.is_object()) return out;
  for (auto it = list.begin(); it != list.end(); ++it) {
    if (auto q = parseQuantityMilliJson(it.value())) out[it.key()] = *q;
  }
  return out;
}

namespace {

ResourceList containerRequests(const json& c) {
  ResourceList req;
  if (!c.is_object()) return req;
  auto res = c.find("resources");
  if (res == c.end() || !res->is_object()) return req;
  if (auto r = res->find("requests"); r != res->end()) req = parseResourceList(*r);
  if (auto l = res->find("limits"); l != res->end()) {
    for (const auto& [k, v] : parseResourceList(*l))
      req.emplace(k, v);  // requests default to limits
  }
  return req;
}

ResourceList computeRequests(const json& pod, bool non_zero) {
  ResourceList total;
  const json& spec = pod.contains("spec") ? pod["spec"] : json::object();
  if (auto cs = spec.find("containers"); cs != spec.end() && cs->is_array()) {
    for (const auto& c : *cs) {
      ResourceList r = containerRequests(c);
      if (non_zero) {
        r.emplace("cpu", 100);                            // 100m
        r.emplace("memory", 200LL * 1024 * 1024 * 1000);  // 200Mi
      }
      for (const auto& [k, v] : r) total[k] += v;
    }
  }
  if (auto ics = spec.find("initContainers"); ics != spec.end() && ics->is_array()) {
    for (const auto& c : *ics) {
      for (const auto& [k, v] : containerRequests(c)) total[k] = std::max(total[k], v);
    }
  }
  if (auto oh = spec.find("overhead"); oh != spec.end()) {
    for (const auto& [k, v] : parseResourceList(*oh)) total[k] += v;
  }
  return total;
}

}  // namespace

ResourceList podRequests(const json& pod) { return computeRequests(pod, false); }
ResourceList podNonZeroRequests(const json& pod) { return computeRequests(pod, true); }

}  // namespace skiff::master
