#include "skiff/hostinfo/resource_flags.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "skiff/common/split_list.h"
#include "text.h"

namespace skiff::hostinfo {
namespace {

// Signals kubelet 1.32 accepts (pkg/kubelet/eviction/api/types.go).
constexpr std::string_view kSignals[] = {
    "memory.available",      "allocatableMemory.available", "nodefs.available",
    "nodefs.inodesFree",     "imagefs.available",           "imagefs.inodesFree",
    "containerfs.available", "containerfs.inodesFree",      "pid.available",
};

Error flagError(std::string_view flag, std::string_view item, const std::string& why) {
  return Error(ErrorCode::Invalid,
               "invalid " + std::string(flag) + " '" + std::string(item) + "': " + why);
}

// Splits "a,b,,c" into non-empty items, as the kubelet map flags do.
std::vector<std::string_view> splitItems(std::string_view value) {
  std::vector<std::string_view> out = splitAt(value, ',');
  std::erase(out, std::string_view());
  return out;
}

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

// "signal<value,..." as (signal, value) pairs in the order given; malformed pairs and duplicate
// signals refused.
Result<std::vector<std::pair<std::string, std::string>>> splitEvictionItems(std::string_view value,
                                                                            std::string_view flag) {
  std::vector<std::pair<std::string, std::string>> out;
  for (std::string_view item : splitItems(value)) {
    const std::size_t lt = item.find('<');
    if (lt == std::string_view::npos) {
      return flagError(flag, item, "malformed pair, expect string<string");
    }
    std::string signal(detail::trim(item.substr(0, lt)));
    for (const auto& seen : out) {
      if (seen.first == signal) {
        return flagError(flag, item, "found duplicate eviction threshold for signal " + signal);
      }
    }
    out.emplace_back(std::move(signal), std::string(detail::trim(item.substr(lt + 1))));
  }
  return out;
}

}  // namespace

Result<ResourceList> parseReservedFlag(std::string_view value, std::string_view flag) {
  std::map<std::string, std::string> pairs;
  for (std::string_view item : splitItems(value)) {
    const std::size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      return flagError(flag, item, "malformed pair, expect string=string");
    }
    pairs[std::string(detail::trim(item.substr(0, eq)))] = detail::trim(item.substr(eq + 1));
  }
  return parseReservedMap(pairs, flag);
}

Result<ResourceList> parseReservedMap(const std::map<std::string, std::string>& pairs,
                                      std::string_view flag) {
  ResourceList out;
  for (const auto& [key, v] : pairs) {
    const std::string item = key + "=" + v;
    if (key != kResourceCpu && key != kResourceMemory && key != kResourceEphemeralStorage &&
        key != kResourcePid) {
      return flagError(flag, item, "cannot reserve " + quoted(key) + " resource");
    }
    auto q = Quantity::parse(v);
    if (!q) {
      return flagError(flag, item,
                       "failed to parse quantity " + quoted(v) + " for " + quoted(key) +
                           " resource: " + q.error().message());
    }
    if (q->sign() < 0) {
      return flagError(flag, item,
                       "resource quantity for " + quoted(key) + " cannot be negative: " + v);
    }
    out[key] = *q;
  }
  return out;
}

Result<std::map<std::string, std::string>> splitEvictionFlag(std::string_view value,
                                                             std::string_view flag) {
  SKIFF_ASSIGN_OR_RETURN(auto items, splitEvictionItems(value, flag));
  return std::map<std::string, std::string>(items.begin(), items.end());
}

Result<std::optional<EvictionThreshold>> parseEvictionThreshold(const std::string& signal,
                                                                std::string_view v,
                                                                std::string_view flag) {
  const std::string item = signal + "<" + std::string(v);
  bool known = false;
  for (auto s : kSignals) known = known || s == signal;
  if (!known) return flagError(flag, item, "unsupported eviction signal " + signal);
  if (v.ends_with("%")) {
    if (v == "0%" || v == "100%")
      return std::optional<EvictionThreshold>();  // kubelet ignores both
    std::string number(v);
    while (!number.empty() && number.back() == '%') number.pop_back();
    // strconv.ParseFloat(s, 32): the whole string must be a number.
    char* end = nullptr;
    errno = 0;
    const double parsed = number.empty() ? NAN : std::strtod(number.c_str(), &end);
    if (number.empty() || end != number.c_str() + number.size() || errno == ERANGE ||
        !std::isfinite(parsed) || number.find_first_of("xXpP") != std::string::npos) {
      return flagError(flag, item, "invalid percentage " + quoted(v));
    }
    const float percentage = static_cast<float>(parsed) / 100.0f;
    if (percentage < 0) {
      return flagError(
          flag, item,
          "eviction percentage threshold " + signal + " must be >= 0%: " + std::string(v));
    }
    if (percentage > 1) {
      return flagError(
          flag, item,
          "eviction percentage threshold " + signal + " must be <= 100%: " + std::string(v));
    }
    return std::optional<EvictionThreshold>(EvictionThreshold{signal, std::nullopt, percentage});
  }
  auto q = Quantity::parse(v);
  if (!q) return flagError(flag, item, q.error().message());
  if (q->sign() <= 0) {
    return flagError(flag, item,
                     "eviction threshold " + signal + " must be positive: " + q->toString());
  }
  return std::optional<EvictionThreshold>(EvictionThreshold{signal, *q, 0});
}

Result<std::vector<EvictionThreshold>> parseEvictionThresholdMap(
    const std::map<std::string, std::string>& thresholds, std::string_view flag) {
  std::vector<EvictionThreshold> out;
  for (const auto& [signal, v] : thresholds) {
    SKIFF_ASSIGN_OR_RETURN(auto t, parseEvictionThreshold(signal, v, flag));
    if (t) out.push_back(std::move(*t));
  }
  return out;
}

Result<std::vector<EvictionThreshold>> parseEvictionThresholds(std::string_view value,
                                                               std::string_view flag) {
  SKIFF_ASSIGN_OR_RETURN(auto items, splitEvictionItems(value, flag));
  std::vector<EvictionThreshold> out;
  for (const auto& [signal, v] : items) {
    SKIFF_ASSIGN_OR_RETURN(auto t, parseEvictionThreshold(signal, v, flag));
    if (t) out.push_back(std::move(*t));
  }
  return out;
}

std::vector<EvictionThreshold> defaultEvictionHard() {
  return std::move(parseEvictionThresholds(kDefaultEvictionHard)).value();
}

}  // namespace skiff::hostinfo
