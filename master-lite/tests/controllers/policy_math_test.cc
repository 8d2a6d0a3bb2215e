// PodDisruptionBudget and HorizontalPodAutoscaler arithmetic against upstream's
// (pkg/controller/disruption, pkg/controller/podautoscaler).
#include <gtest/gtest.h>

#include "skiff/master/controllers/disruption.h"
#include "skiff/master/controllers/hpa.h"

namespace skiff::master {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

json readyPod(const std::string& name, bool ready = true) {
  return {{"metadata", {{"name", name}}},
          {"status",
           {{"phase", "Running"},
            {"conditions", {{{"type", "Ready"}, {"status", ready ? "True" : "False"}}}}}}};
}

json pdb(json spec) { return {{"metadata", {{"name", "b"}, {"generation", 1}}}, {"spec", spec}}; }

TEST(Disruption, MinAvailableInteger) {
  std::vector<json> pods{readyPod("a"), readyPod("b")};
  auto b = disruption::compute(pdb({{"minAvailable", 1}}), pods, std::nullopt, {});
  ASSERT_TRUE(b);
  EXPECT_EQ(b->expected_pods, 2);
  EXPECT_EQ(b->desired_healthy, 1);
  EXPECT_EQ(b->current_healthy, 2);
  EXPECT_EQ(b->disruptions_allowed, 1);
}

TEST(Disruption, UnreadyAndDisruptedPodsAreNotHealthy) {
  std::vector<json> pods{readyPod("a"), readyPod("b", false), readyPod("c")};
  auto b = disruption::compute(pdb({{"minAvailable", 1}}), pods, std::nullopt, {"c"});
  ASSERT_TRUE(b);
  EXPECT_EQ(b->current_healthy, 1);
  EXPECT_EQ(b->disruptions_allowed, 0);
}

TEST(Disruption, PercentagesAndMaxUnavailableUseTheControllersScale) {
  std::vector<json> pods{readyPod("a"), readyPod("b"), readyPod("c")};
  auto b = disruption::compute(pdb({{"maxUnavailable", "34%"}}), pods, 3, {});
  ASSERT_TRUE(b);
  EXPECT_EQ(b->desired_healthy, 1);  // 3 - ceil(1.02)
  EXPECT_EQ(b->disruptions_allowed, 2);
  auto m = disruption::compute(pdb({{"minAvailable", "50%"}}), pods, 4, {});
  ASSERT_TRUE(m);
  EXPECT_EQ(m->expected_pods, 4);
  EXPECT_EQ(m->desired_healthy, 2);
  EXPECT_EQ(m->disruptions_allowed, 1);
  EXPECT_FALSE(disruption::compute(pdb({{"maxUnavailable", 1}}), pods, std::nullopt, {}));
}

hpa::PodSample sample(std::int64_t request, std::int64_t usage, bool metrics = true,
                      bool ready = true) {
  return {"p", request, usage, metrics, ready};
}

TEST(HpaReplicas, ScalesByUtilizationRatio) {
  // 2 pods at 100 % of a 50 % target: 4 replicas.
  auto r = hpa::replicasFor(2, {sample(100, 100), sample(100, 100)}, "cpu", 50, std::nullopt);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->replicas, 4);
  EXPECT_EQ(r->utilization, 100);
}

TEST(HpaReplicas, WithinToleranceKeepsTheCurrentCount) {
  auto r = hpa::replicasFor(3, {sample(100, 54), sample(100, 54), sample(100, 54)}, "cpu", 50,
                            std::nullopt);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->replicas, 3);
}

TEST(HpaReplicas, MissingMetricsCountAsFullWhenScalingDown) {
  // One pod idle, one without metrics: scale down is damped by assuming it uses 100 %.
  auto r = hpa::replicasFor(2, {sample(100, 0), sample(100, 0, false)}, "cpu", 50, std::nullopt);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->replicas, 2);
}

TEST(HpaReplicas, ErrorsAsUpstream) {
  auto none = hpa::replicasFor(1, {sample(100, 0, false)}, "cpu", 50, std::nullopt);
  ASSERT_FALSE(none);
  EXPECT_EQ(
      none.error().message(),
      "unable to get metrics for resource cpu: no metrics returned from resource metrics API");
  EXPECT_FALSE(hpa::replicasFor(1, {sample(0, 10)}, "cpu", 50, std::nullopt));
}

TEST(HpaReplicas, AverageValue) {
  auto r = hpa::replicasFor(1, {sample(0, 300)}, "cpu", std::nullopt, 100);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->replicas, 3);
}

TEST(HpaBehavior, ScaleDownIsStabilizedForTheWindow) {
  auto t0 = std::chrono::system_clock::time_point{} + 1000h;
  hpa::Behavior b = hpa::behaviorOf(json::object());
  EXPECT_EQ(b.down.window_seconds, 300);
  std::deque<hpa::Sample> recs, ups, downs;
  auto d1 = hpa::normalize(3, 3, 1, 10, b, recs, ups, downs, t0);
  EXPECT_EQ(d1.replicas, 3);
  auto d2 = hpa::normalize(3, 1, 1, 10, b, recs, ups, downs, t0 + 60s);
  EXPECT_EQ(d2.replicas, 3);
  EXPECT_EQ(d2.able_reason, "ScaleDownStabilized");
  auto d3 = hpa::normalize(3, 1, 1, 10, b, recs, ups, downs, t0 + 400s);
  EXPECT_EQ(d3.replicas, 1);
}

TEST(HpaBehavior, ScaleUpRateAndBounds) {
  auto t0 = std::chrono::system_clock::time_point{} + 1000h;
  hpa::Behavior b = hpa::behaviorOf(json::object());
  std::deque<hpa::Sample> recs, ups, downs;
  // From 1: at most max(2x, +4) = 5 per 15 s.
  auto d = hpa::normalize(1, 20, 1, 30, b, recs, ups, downs, t0);
  EXPECT_EQ(d.replicas, 5);
  EXPECT_EQ(d.limited_reason, "ScaleUpLimit");
  auto capped = hpa::normalize(2, 4, 1, 3, b, recs, ups, downs, t0);
  EXPECT_EQ(capped.replicas, 3);
  EXPECT_EQ(capped.limited_reason, "TooManyReplicas");
  json spec = {{"behavior", {{"scaleDown", {{"stabilizationWindowSeconds", 10}}}}}};
  EXPECT_EQ(hpa::behaviorOf(spec).down.window_seconds, 10);
}

}  // namespace
}  // namespace skiff::master
