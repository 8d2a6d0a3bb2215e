// The horizontal pod autoscaler's arithmetic (controllers/hpa.h), after
// pkg/controller/podautoscaler/replica_calculator.go and horizontal.go of Kubernetes 1.32.
#include <algorithm>
#include <cmath>

#include "skiff/master/controllers/hpa.h"

namespace skiff::master::hpa {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::system_clock;

Rules rulesOf(const json& r, Rules d) {
  if (!r.is_object()) return d;
  if (r.contains("stabilizationWindowSeconds") && r["stabilizationWindowSeconds"].is_number())
    d.window_seconds = r["stabilizationWindowSeconds"].get<std::int32_t>();
  if (r.contains("selectPolicy") && r["selectPolicy"].is_string())
    d.select = r["selectPolicy"].get<std::string>();
  if (r.contains("policies") && r["policies"].is_array() && !r["policies"].empty()) {
    d.policies.clear();
    for (const auto& p : r["policies"]) {
      d.policies.push_back(
          {p.value("type", "") == "Percent", p.value("value", 0), p.value("periodSeconds", 15)});
    }
  }
  return d;
}

// Replicas at the start of `period` seconds, from the scale events within it.
std::int32_t replicasAtPeriodStart(std::int32_t current, const std::deque<Sample>& events,
                                   std::int32_t period, Clock::time_point now, int sign) {
  std::int32_t changed = 0;
  for (const auto& e : events) {
    if (e.at + std::chrono::seconds(period) > now) changed += e.replicas;
  }
  return current - sign * changed;
}

}  // namespace

Result<Recommendation> replicasFor(std::int32_t current, const std::vector<PodSample>& pods,
                                   const std::string& resource,
                                   std::optional<std::int32_t> target_utilization,
                                   std::optional<std::int64_t> target_average_milli) {
  std::int64_t usage = 0, request = 0;
  std::int32_t with_metrics = 0, missing = 0, unready = 0;
  for (const auto& p : pods) {
    if (!p.has_metrics) {
      ++missing;
      continue;
    }
    if (!p.ready && resource == "cpu") {
      ++unready;
      continue;
    }
    if (target_utilization && p.request_milli <= 0) {
      return Error(ErrorCode::Invalid, "missing request for " + resource + " in pod " + p.name);
    }
    usage += p.usage_milli;
    request += p.request_milli;
    ++with_metrics;
  }
  if (with_metrics == 0) {
    return Error(ErrorCode::Unavailable, "unable to get metrics for resource " + resource +
                                             ": no metrics returned from resource metrics API");
  }
  Recommendation out;
  out.average_milli = usage / with_metrics;
  double ratio = 0;
  if (target_utilization) {
    out.utilization = static_cast<std::int32_t>(usage * 100 / request);
    ratio = static_cast<double>(out.utilization) / *target_utilization;
  } else {
    ratio =
        static_cast<double>(usage) / (static_cast<double>(*target_average_milli) * with_metrics);
  }
  bool rebalance_unready = unready > 0 && ratio > 1.0;
  if (!rebalance_unready && missing == 0) {
    if (std::abs(1.0 - ratio) <= kTolerance) {
      out.replicas = current;
      return out;
    }
    out.replicas = static_cast<std::int32_t>(std::ceil(ratio * with_metrics));
    return out;
  }
  // Missing pods: 100 % of their request (the target when above 100 %) when scaling down, 0 when
  // scaling up; unready pods 0.
  std::int64_t u = usage, rq = request;
  for (const auto& p : pods) {
    bool skip_unready = p.has_metrics && !p.ready && resource == "cpu";
    if (!p.has_metrics) {
      rq += p.request_milli;
      if (ratio < 1.0) {
        u += target_utilization
                 ? p.request_milli * std::max<std::int64_t>(100, *target_utilization) / 100
                 : *target_average_milli;
      }
    } else if (skip_unready && rebalance_unready) {
      rq += p.request_milli;
    }
  }
  std::int32_t n = with_metrics + missing + (rebalance_unready ? unready : 0);
  double new_ratio =
      target_utilization
          // NOLINTNEXTLINE(bugprone-integer-division): whole percent, as upstream's int32 ratio.
          ? (rq > 0 ? static_cast<double>(u * 100 / rq) / *target_utilization : 0)
          : static_cast<double>(u) / (static_cast<double>(*target_average_milli) * n);
  if (std::abs(1.0 - new_ratio) <= kTolerance || (ratio < 1.0 && new_ratio > 1.0) ||
      (ratio > 1.0 && new_ratio < 1.0)) {
    out.replicas = current;
    return out;
  }
  auto r = static_cast<std::int32_t>(std::ceil(new_ratio * n));
  if ((new_ratio < 1.0 && r > current) || (new_ratio > 1.0 && r < current)) r = current;
  out.replicas = r;
  return out;
}

Behavior behaviorOf(const json& spec) {
  Behavior b;
  b.up = {0, "Max", {{true, 100, 15}, {false, 4, 15}}};
  b.down = {300, "Max", {{true, 100, 15}}};
  const json& beh = spec.is_object() ? spec.value("behavior", json()) : json();
  if (beh.is_object()) {
    b.up = rulesOf(beh.value("scaleUp", json()), b.up);
    b.down = rulesOf(beh.value("scaleDown", json()), b.down);
  }
  return b;
}

Decision normalize(std::int32_t current, std::int32_t desired, std::int32_t min, std::int32_t max,
                   const Behavior& b, std::deque<Sample>& recs, const std::deque<Sample>& ups,
                   const std::deque<Sample>& downs, Clock::time_point now) {
  Decision d;
  // Stabilization (stabilizeRecommendationWithBehaviors).
  std::int32_t up_rec = desired, down_rec = desired;
  auto longest = std::max(b.up.window_seconds, b.down.window_seconds);
  while (!recs.empty() && recs.front().at + std::chrono::seconds(longest) < now) recs.pop_front();
  for (const auto& r : recs) {
    if (r.at + std::chrono::seconds(b.up.window_seconds) > now)
      up_rec = std::min(up_rec, r.replicas);
    if (r.at + std::chrono::seconds(b.down.window_seconds) > now)
      down_rec = std::max(down_rec, r.replicas);
  }
  recs.push_back({now, desired});
  std::int32_t stabilized = current;
  if (stabilized < up_rec) stabilized = up_rec;
  if (stabilized > down_rec) stabilized = down_rec;
  if (stabilized != desired) {
    d.able_reason = "ScaleDownStabilized";
    d.able_message =
        "recent recommendations were higher than current one, applying the highest recent "
        "recommendation";
    if (stabilized < desired) {
      d.able_reason = "ScaleUpStabilized";
      d.able_message =
          "recent recommendations were lower than current one, applying the lowest recent "
          "recommendation";
    }
  } else {
    d.able_reason = "ReadyForNewScale";
    d.able_message = "recommended size matches current size";
  }
  // Rate limits (convertDesiredReplicasWithBehaviorRate).
  std::int32_t lo = min, hi = max;
  std::int32_t result = stabilized;
  if (stabilized > current) {
    std::int32_t limit = b.up.select == "Min" ? INT32_MAX : INT32_MIN;
    for (const auto& p : b.up.policies) {
      std::int32_t start = replicasAtPeriodStart(current, ups, p.period_seconds, now, 1);
      std::int32_t v = p.percent
                           ? static_cast<std::int32_t>(std::ceil(start * (1.0 + p.value / 100.0)))
                           : start + p.value;
      limit = b.up.select == "Min" ? std::min(limit, v) : std::max(limit, v);
    }
    if (b.up.select == "Disabled") limit = current;
    if (limit < hi) {
      if (result > limit) {
        d.limited = true;
        d.limited_reason = "ScaleUpLimit";
        d.limited_message =
            "the desired replica count is increasing faster than the maximum scale rate";
      }
      hi = limit;
    }
  } else if (stabilized < current) {
    std::int32_t limit = b.down.select == "Min" ? INT32_MIN : INT32_MAX;
    for (const auto& p : b.down.policies) {
      std::int32_t start = replicasAtPeriodStart(current, downs, p.period_seconds, now, -1);
      std::int32_t v = p.percent
                           ? static_cast<std::int32_t>(std::ceil(start * (1.0 - p.value / 100.0)))
                           : start - p.value;
      limit = b.down.select == "Min" ? std::max(limit, v) : std::min(limit, v);
    }
    if (b.down.select == "Disabled") limit = current;
    if (limit > lo) {
      if (result < limit) {
        d.limited = true;
        d.limited_reason = "ScaleDownLimit";
        d.limited_message =
            "the desired replica count is decreasing faster than the maximum scale rate";
      }
      lo = limit;
    }
  }
  if (result > hi) {
    result = hi;
    if (!d.limited) {
      d.limited = true;
      d.limited_reason = "TooManyReplicas";
      d.limited_message = "the desired replica count is more than the maximum replica count";
    }
  }
  if (result < lo) {
    result = lo;
    if (!d.limited) {
      d.limited = true;
      d.limited_reason = "TooFewReplicas";
      d.limited_message = "the desired replica count is less than the minimum replica count";
    }
  }
  if (!d.limited) {
    d.limited_reason = "DesiredWithinRange";
    d.limited_message = "the desired count is within the acceptable range";
  }
  d.replicas = result;
  return d;
}

}  // namespace skiff::master::hpa
