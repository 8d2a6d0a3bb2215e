// The horizontal pod autoscaler controller (pkg/controller/podautoscaler/horizontal.go): every
// 15 s each HorizontalPodAutoscaler reads its target's scale and its pods' resource metrics
// (metrics.k8s.io, served by skiff-master), computes the replica count its metrics ask for
// (hpa_math.cc), stabilizes and rate-limits it by spec.behavior, writes spec.replicas of the
// target and reports currentMetrics, the AbleToScale/ScalingActive/ScalingLimited conditions
// and events as upstream.
#include <map>
#include <mutex>

#include "skiff/common/log.h"
#include "skiff/common/pod_resources.h"
#include "skiff/common/quantity.h"
#include "skiff/master/controllers/controllers.h"
#include "skiff/master/controllers/hpa.h"
#include "skiff/master/informer/event_recorder.h"
#include "skiff/master/informer/meta.h"
#include "skiff/master/selectors.h"
#include "util.h"

namespace skiff::master {
namespace {

const GroupVersionResource kHpas{"autoscaling", "v2", "horizontalpodautoscalers"};
const GroupVersionResource kPodMetrics{"metrics.k8s.io", "v1beta1", "pods"};
constexpr auto kSyncPeriod = std::chrono::seconds(15);

struct MetricResult {
  std::int32_t replicas = 0;
  json current;      // a status.currentMetrics entry
  std::string what;  // "cpu resource utilization (percentage of request)"
};

class HpaController : public RecordingController {
 public:
  HpaController(ApiClient& client, std::shared_ptr<Clock> clock)
      : RecordingController("horizontal-pod-autoscaler", client, std::move(clock),
                            "horizontal-pod-autoscaler") {}

  void registerHandlers(SharedInformers& inf) override {
    inf.get(kHpas).addEventHandlers({
        .on_add = [this](const json& o) { queue().add(meta::key(o)); },
        .on_update =
            [this](const json& o, const json& n) {
              if (meta::at(o, {"spec"}) != meta::at(n, {"spec"})) queue().add(meta::key(n));
            },
        .on_delete = [this](const json& o) { forget(meta::key(o)); },
    });
  }

  Result<void> sync(const std::string& key) override {
    SKIFF_ASSIGN_OR_RETURN(std::optional<json> got, ctl::getIfExists(client_, kHpas, key));
    if (!got) return {};
    json hpa = std::move(*got);
    hpa["kind"] = "HorizontalPodAutoscaler";
    hpa["apiVersion"] = "autoscaling/v2";
    queue().addAfter(key, kSyncPeriod);
    return reconcile(key, hpa);
  }

 private:
  Result<void> reconcile(const std::string& key, const json& hpa) {
    TimePoint now = clock().now();
    std::string ns = meta::ns(hpa);
    json status = hpa.value("status", json::object());
    json conds = status.value("conditions", json::array());
    const json& ref = meta::at(hpa, {"spec", "scaleTargetRef"});
    auto target_gvr = ctl::gvrForKind(ref.value("apiVersion", ""), ref.value("kind", ""));
    // The target's Scale, as upstream's scale client (the role: get/update */scale).
    std::optional<GroupVersionResource> scale_gvr = target_gvr;
    if (scale_gvr) scale_gvr->resource += "/scale";
    Result<json> target =
        scale_gvr ? client_.get(*scale_gvr, ns, ref.value("name", ""))
                  : Result<json>(Error(ErrorCode::NotFound,
                                       "no scale subresource for " + ref.value("kind", "")));
    if (!target) {
      std::string msg = "the HPA controller was unable to get the target's current scale: " +
                        target.error().message();
      recorder_.event(hpa, "Warning", "FailedGetScale", target.error().message());
      ctl::setCondition(conds, ctl::condition("AbleToScale", "False", "FailedGetScale", msg, now));
      return writeStatus(hpa, status, conds);
    }
    ctl::setCondition(conds, ctl::condition("AbleToScale", "True", "SucceededGetScale",
                                            "the HPA controller was able to get the target's "
                                            "current scale",
                                            now));
    auto current = static_cast<std::int32_t>(meta::integer(*target, {"spec", "replicas"}, 1));
    auto min = static_cast<std::int32_t>(meta::integer(hpa, {"spec", "minReplicas"}, 1));
    auto max = static_cast<std::int32_t>(meta::integer(hpa, {"spec", "maxReplicas"}, 1));
    status["currentReplicas"] = current;
    status["observedGeneration"] = meta::generation(hpa);
    if (current == 0 && min != 0) {
      ctl::setCondition(conds, ctl::condition("ScalingActive", "False", "ScalingDisabled",
                                              "scaling is disabled since the replica count of "
                                              "the target is zero",
                                              now));
      status["desiredReplicas"] = 0;
      return writeStatus(hpa, status, conds);
    }
    auto rec = computeMetrics(hpa, *target, current, status);
    if (!rec) {
      recorder_.event(hpa, "Warning", "FailedGetResourceMetric", rec.error().message());
      recorder_.event(hpa, "Warning", "FailedComputeMetricsReplicas",
                      "invalid metrics (1 invalid out of 1), first error is: failed to get " +
                          rec.error().message());
      ctl::setCondition(conds, ctl::condition("ScalingActive", "False", "FailedGetResourceMetric",
                                              "the HPA was unable to compute the replica count: " +
                                                  rec.error().message(),
                                              now));
      status["desiredReplicas"] = current;
      return writeStatus(hpa, status, conds);
    }
    ctl::setCondition(conds, ctl::condition("ScalingActive", "True", "ValidMetricFound",
                                            "the HPA was able to successfully calculate a replica "
                                            "count from " +
                                                rec->what,
                                            now));
    hpa::Decision d = decide(key, hpa, current, rec->replicas, min, max, now);
    ctl::setCondition(conds, ctl::condition("ScalingLimited", d.limited ? "True" : "False",
                                            d.limited_reason, d.limited_message, now));
    if (d.replicas != current) {
      json scale = *target;
      scale["spec"]["replicas"] = d.replicas;
      auto w = client_.update(*target_gvr, ns, scale, "scale");
      if (!w) {
        recorder_.event(
            hpa, "Warning", "FailedRescale",
            "New size: " + std::to_string(d.replicas) + "; error: " + w.error().message());
        ctl::setCondition(conds, ctl::condition("AbleToScale", "False", "FailedUpdateScale",
                                                "the HPA controller was unable to update the "
                                                "target scale: " +
                                                    w.error().message(),
                                                now));
        return writeStatus(hpa, status, conds);
      }
      recordScale(key, current, d.replicas, now);
      std::string reason =
          d.replicas > current ? rec->what + " above target" : "All metrics below target";
      recorder_.event(hpa, "Normal", "SuccessfulRescale",
                      "New size: " + std::to_string(d.replicas) + "; reason: " + reason);
      ctl::setCondition(conds, ctl::condition("AbleToScale", "True", "SucceededRescale",
                                              "the HPA controller was able to update the target "
                                              "scale to " +
                                                  std::to_string(d.replicas),
                                              now));
      status["lastScaleTime"] = formatTime(now);
    } else {
      ctl::setCondition(conds,
                        ctl::condition("AbleToScale", "True", d.able_reason, d.able_message, now));
    }
    status["desiredReplicas"] = d.replicas;
    return writeStatus(hpa, status, conds);
  }

  // The replica count of every Resource metric (the largest wins, as upstream).
  Result<MetricResult> computeMetrics(const json& hpa, const json& target, std::int32_t current,
                                      json& status) {
    // The Scale's status.selector, as upstream.
    std::string selector = meta::str(target, {"status", "selector"});
    if (selector.empty()) return Error(ErrorCode::Invalid, "selector is required");
    auto sel = LabelSelector::parse(selector);
    if (!sel) return Error(ErrorCode::Invalid, "the target's selector is invalid");
    std::string ns = meta::ns(hpa);
    ListOptions lo;
    lo.label_selector = sel->toString();
    SKIFF_ASSIGN_OR_RETURN(ObjectList pods, client_.list(gvr::kPods, ns, lo));
    auto pm = client_.list(kPodMetrics, ns, lo);
    std::map<std::string, json> usage;
    if (pm) {
      // The name first: `usage[name(m)] = std::move(m)` evaluates the right side first (C++17),
      // so json's by-value operator= would have emptied m before its name was read.
      for (auto& m : pm->items) {
        std::string name = meta::name(m);
        usage[name] = std::move(m);
      }
    } else {
      static const auto lg = log::get("master");
      SKIFF_LOG_WARN(lg, "Listing pod metrics failed", log::kv("hpa", meta::key(hpa)),
                     log::kv("err", pm.error().message()));
    }
    std::optional<MetricResult> best;
    json current_metrics = json::array();
    for (const auto& m : meta::at(hpa, {"spec", "metrics"})) {
      if (m.value("type", "") != "Resource") continue;
      std::string res = meta::str(m, {"resource", "name"});
      const json& t = meta::at(m, {"resource", "target"});
      std::optional<std::int32_t> util;
      std::optional<std::int64_t> avg;
      if (t.value("type", "") == "Utilization") util = t.value("averageUtilization", 80);
      if (t.value("type", "") == "AverageValue")
        avg = quantityMilli(t.value("averageValue", json()));
      if (!util && !avg) continue;
      std::vector<hpa::PodSample> samples = samplesFor(pods.items, usage, res);
      SKIFF_ASSIGN_OR_RETURN(hpa::Recommendation r,
                             hpa::replicasFor(current, samples, res, util, avg));
      json cur = {{"averageValue", Quantity::fromMilli(r.average_milli).toString()}};
      if (util) cur["averageUtilization"] = r.utilization;
      json entry = {{"type", "Resource"}, {"resource", {{"name", res}, {"current", cur}}}};
      current_metrics.push_back(entry);
      MetricResult mr{r.replicas, entry,
                      res + (util ? " resource utilization (percentage of request)" : " resource")};
      if (!best || mr.replicas > best->replicas) best = mr;
    }
    if (!best) return Error(ErrorCode::Invalid, "no Resource metrics to scale on");
    status["currentMetrics"] = current_metrics;
    return *best;
  }

  std::vector<hpa::PodSample> samplesFor(const std::vector<json>& pods,
                                         const std::map<std::string, json>& usage,
                                         const std::string& res) {
    std::vector<hpa::PodSample> out;
    for (const auto& p : pods) {
      if (meta::isDeleting(p) || ctl::isTerminal(p)) continue;
      hpa::PodSample s;
      s.name = meta::name(p);
      s.ready = ctl::isReady(p);
      for (const auto& c : meta::at(p, {"spec", "containers"})) {
        auto req = containerRequests(c);
        auto it = req.find(res);
        if (it != req.end()) s.request_milli += it->second;
      }
      auto u = usage.find(s.name);
      if (u != usage.end()) {
        s.has_metrics = true;
        for (const auto& c : u->second.value("containers", json::array())) {
          s.usage_milli += quantityMilli(meta::at(c, {"usage", res.c_str()})).value_or(0);
        }
      }
      out.push_back(s);
    }
    return out;
  }

  hpa::Decision decide(const std::string& key, const json& hpa, std::int32_t current,
                       std::int32_t desired, std::int32_t min, std::int32_t max, TimePoint now) {
    std::lock_guard<std::mutex> lock(mu_);
    History& h = history_[key];
    return hpa::normalize(current, desired, min, max, hpa::behaviorOf(hpa.value("spec", json())),
                          h.recommendations, h.ups, h.downs, now);
  }

  void recordScale(const std::string& key, std::int32_t from, std::int32_t to, TimePoint now) {
    std::lock_guard<std::mutex> lock(mu_);
    History& h = history_[key];
    auto& events = to > from ? h.ups : h.downs;
    events.push_back({now, to > from ? to - from : from - to});
    while (!events.empty() && events.front().at + std::chrono::minutes(30) < now)
      events.pop_front();
  }

  void forget(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    history_.erase(key);
  }

  Result<void> writeStatus(json hpa, json status, const json& conds) {
    status["conditions"] = conds;
    if (status == hpa.value("status", json())) return {};
    hpa["status"] = std::move(status);
    auto w = client_.update(kHpas, meta::ns(hpa), hpa, "status");
    if (!w && !w.error().is(ErrorCode::NotFound) && !w.error().is(ErrorCode::Conflict))
      return std::move(w).error();
    return {};
  }

  struct History {
    std::deque<hpa::Sample> recommendations, ups, downs;
  };
  std::mutex mu_;
  std::map<std::string, History> history_;
};

}  // namespace

const ControllerFactory newHorizontalPodAutoscalerController = makeController<HpaController>;

}  // namespace skiff::master
