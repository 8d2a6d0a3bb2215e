// HorizontalPodAutoscaler (autoscaling/v2, also served as autoscaling/v1) and LimitRange
// strategies: pkg/apis/autoscaling/v2 defaults and validation, and the v1 <-> v2 conversion of
// pkg/apis/autoscaling/v1/conversion.go without its annotations (v1 shows and sets the CPU
// utilization target; the rest of a v2 object is not visible through v1).
#include "registry_internal.h"
#include "skiff/master/api/object_util.h"
#include "skiff/master/quota/limit_range.h"
#include "strategies.h"

namespace skiff::master::api {
namespace {

json cpuUtilizationMetric(const json& percent) {
  return {
      {"type", "Resource"},
      {"resource",
       {{"name", "cpu"}, {"target", {{"type", "Utilization"}, {"averageUtilization", percent}}}}}};
}

// The CPU utilization of a v2 metric list (spec.metrics target / status.currentMetrics current).
json cpuUtilization(const json& metrics, const char* which) {
  for (const auto& m : metrics.is_array() ? metrics : json::array()) {
    if (m.value("type", "") != "Resource" || str(m, {"resource", "name"}) != "cpu") continue;
    const json& v = at(m, {"resource", which, "averageUtilization"});
    if (v.is_number_integer()) return v;
  }
  return json();
}

// autoscaling/v1 -> v2 (the stored form).
void fromV1(json& obj) {
  json& spec = obj["spec"];
  if (spec.is_object() && spec.contains("targetCPUUtilizationPercentage")) {
    spec["metrics"] = json::array({cpuUtilizationMetric(spec["targetCPUUtilizationPercentage"])});
    spec.erase("targetCPUUtilizationPercentage");
  }
  if (obj.contains("status") && obj["status"].is_object()) {
    json& st = obj["status"];
    if (st.contains("currentCPUUtilizationPercentage")) {
      st["currentMetrics"] = json::array(
          {{{"type", "Resource"},
            {"resource",
             {{"name", "cpu"},
              {"current", {{"averageUtilization", st["currentCPUUtilizationPercentage"]}}}}}}});
      st.erase("currentCPUUtilizationPercentage");
    }
  }
}

// What autoscaling/v1 shows of a v2 object's spec and status: the CPU utilization of the metric
// list (under v1's own field); the list and the v2-only field beside it are dropped.
struct V1View {
  const char* part;
  const char* metrics;
  const char* which;  // the metric's target or current value
  const char* v1_field;
  const char* dropped;
};
constexpr V1View kV1Views[] = {
    {"spec", "metrics", "target", "targetCPUUtilizationPercentage", "behavior"},
    {"status", "currentMetrics", "current", "currentCPUUtilizationPercentage", "conditions"},
};

// v2 -> autoscaling/v1, for reads through v1.
void toV1(json& obj) {
  for (const V1View& v : kV1Views) {
    if (!obj.contains(v.part) || !obj[v.part].is_object()) continue;
    json& part = obj[v.part];
    json cpu = cpuUtilization(part.value(v.metrics, json()), v.which);
    part.erase(v.metrics);
    part.erase(v.dropped);
    if (!cpu.is_null()) part[v.v1_field] = cpu;
  }
}

void addError(FieldErrors& errs, FieldError::Type t, std::string field, json bad,
              std::string detail) {
  errs.push_back(FieldError{t, std::move(field), std::move(bad), std::move(detail)});
}

class HpaStrategy : public Strategy {
 public:
  void defaults(const ResourceInfo& r, json& obj) const override {
    Strategy::defaults(r, obj);
    if (r.version == "v1") fromV1(obj);
    json& spec = specForDefaults(obj);
    if (!spec.contains("minReplicas")) spec["minReplicas"] = 1;
    if (!spec.contains("metrics") || !spec["metrics"].is_array() || spec["metrics"].empty())
      spec["metrics"] = json::array({cpuUtilizationMetric(80)});
  }

  FieldErrors validate(const ResourceInfo& r, const json& obj, const json* old) const override {
    FieldErrors errs = Strategy::validate(r, obj, old);
    using T = FieldError::Type;
    const json& ref = at(obj, {"spec", "scaleTargetRef"});
    if (str(ref, {"kind"}).empty())
      addError(errs, T::Required, "spec.scaleTargetRef.kind", json(), "");
    if (str(ref, {"name"}).empty())
      addError(errs, T::Required, "spec.scaleTargetRef.name", json(), "");
    const json& min = at(obj, {"spec", "minReplicas"});
    const json& max = at(obj, {"spec", "maxReplicas"});
    if (min.is_number_integer() && min.get<long long>() < 1)
      addError(errs, T::Invalid, "spec.minReplicas", min, "must be greater than or equal to 1");
    if (!max.is_number_integer() || max.get<long long>() < 1) {
      addError(errs, T::Invalid, "spec.maxReplicas", max.is_null() ? json(0) : max,
               "must be greater than 0");
    } else if (min.is_number_integer() && max.get<long long>() < min.get<long long>()) {
      addError(errs, T::Invalid, "spec.maxReplicas", max,
               "must be greater than or equal to `minReplicas`");
    }
    return errs;
  }

  json prepareForStatusUpdate(const ResourceInfo& r, const json& obj,
                              const json& old) const override {
    json next = Strategy::prepareForStatusUpdate(r, obj, old);
    if (r.version == "v1") fromV1(next);
    return next;
  }
};

class LimitRangeStrategy : public Strategy {
 public:
  void defaults(const ResourceInfo& r, json& obj) const override {
    Strategy::defaults(r, obj);
    json& limits = obj["spec"]["limits"];
    if (!limits.is_array()) return;
    for (auto& item : limits) quota::defaultLimitRangeItem(item);
  }
};

}  // namespace

json hpaToV1(json obj) {
  toV1(obj);
  return obj;
}

void registerPolicyStrategies(StrategyRegistry& table) {
  table.add("autoscaling", "horizontalpodautoscalers", std::make_shared<HpaStrategy>());
  table.add("", "limitranges", std::make_shared<LimitRangeStrategy>());
}

}  // namespace skiff::master::api
