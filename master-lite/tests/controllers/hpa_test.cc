// The HPA controller end to end over the fake API: it reads the target's scale, matches
// metrics.k8s.io PodMetrics to the target's pods by name, and scales as upstream's
// replica calculator does.
#include <gtest/gtest.h>

#include "harness.h"

namespace skiff::master::testing {
namespace {

const GroupVersionResource kHpas{"autoscaling", "v2", "horizontalpodautoscalers"};
const GroupVersionResource kPodMetrics{"metrics.k8s.io", "v1beta1", "pods"};

json deployment() {
  return json::parse(R"({
    "metadata": {"name": "burn", "namespace": "default"},
    "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "burn"}},
             "template": {"metadata": {"labels": {"app": "burn"}},
                          "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}})");
}

json pod(const std::string& name) {
  return {{"metadata", {{"name", name}, {"namespace", "default"}, {"labels", {{"app", "burn"}}}}},
          {"spec",
           {{"containers", json::array({{{"name", "c"},
                                         {"image", "busybox"},
                                         {"resources", {{"requests", {{"cpu", "100m"}}}}}}})}}}};
}

json podMetrics(const std::string& name, const std::string& cpu) {
  return {{"metadata", {{"name", name}, {"namespace", "default"}, {"labels", {{"app", "burn"}}}}},
          {"timestamp", "2026-01-01T00:00:00Z"},
          {"window", "15s"},
          {"containers", json::array({{{"name", "c"}, {"usage", {{"cpu", cpu}}}}})}};
}

json hpa() {
  return json::parse(R"({
    "metadata": {"name": "burn", "namespace": "default"},
    "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "burn"},
             "minReplicas": 1, "maxReplicas": 3,
             "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                          "target": {"type": "Utilization", "averageUtilization": 50}}}]}})");
}

std::string condition(const json& h, const std::string& type, const char* field) {
  for (const auto& c : meta::at(h, {"status", "conditions"})) {
    if (c.value("type", "") == type) return c.value(field, "");
  }
  return "";
}

struct HpaHarness : Harness {
  // The Deployment `burn` with one running pod burn-1 (100m CPU requested), PodMetrics for
  // `metrics_pod` using 900m, and the HPA; then the controller runs until it settles, and
  // `autoscaler` is the HPA as it left it.
  void run(const std::string& metrics_pod) {
    add(newHorizontalPodAutoscalerController(client, clock));
    ASSERT_TRUE(client.create(gvr::kDeployments, "default", deployment()));
    auto p = client.create(gvr::kPods, "default", pod("burn-1"));
    ASSERT_TRUE(p);
    runPod(*p);
    ASSERT_TRUE(client.create(kPodMetrics, "default", podMetrics(metrics_pod, "900m")));
    ASSERT_TRUE(client.create(kHpas, "default", hpa()));
    start();
    settle();
    auto got = client.get(kHpas, "default", "burn");
    ASSERT_TRUE(got);
    autoscaler = *got;
  }
  // The Deployment's spec.replicas.
  json replicas() {
    auto d = client.get(gvr::kDeployments, "default", "burn");
    return d ? meta::at(*d, {"spec", "replicas"}) : json();
  }
  json autoscaler;
};

TEST(HpaControllerTest, ScalesUpOnTheMetricsOfTheTargetsPods) {
  HpaHarness h;
  // 900m used of 100m requested (900%) against a 50% target: as many replicas as allowed.
  ASSERT_NO_FATAL_FAILURE(h.run("burn-1"));

  EXPECT_EQ(h.replicas(), 3);
  EXPECT_EQ(condition(h.autoscaler, "ScalingActive", "reason"), "ValidMetricFound");
  EXPECT_EQ(meta::at(h.autoscaler, {"status", "desiredReplicas"}), 3);
  const json& current = meta::at(h.autoscaler, {"status", "currentMetrics"});
  ASSERT_EQ(current.size(), 1u);
  EXPECT_EQ(meta::at(current[0], {"resource", "current", "averageUtilization"}), 900);
  auto events = h.client.list(gvr::kEvents, "default", {});
  ASSERT_TRUE(events);
  bool rescaled = false;
  for (const auto& e : events->items) {
    rescaled |= e.value("reason", "") == "SuccessfulRescale" &&
                e.value("message", "") ==
                    "New size: 3; reason: cpu resource utilization (percentage of request) above "
                    "target";
  }
  EXPECT_TRUE(rescaled);
}

TEST(HpaControllerTest, ReportsMissingMetricsAndKeepsTheScale) {
  HpaHarness h;
  // Metrics of some other pod only: none for the target's.
  ASSERT_NO_FATAL_FAILURE(h.run("other"));

  EXPECT_EQ(h.replicas(), 1);
  EXPECT_EQ(condition(h.autoscaler, "ScalingActive", "status"), "False");
  EXPECT_EQ(condition(h.autoscaler, "ScalingActive", "reason"), "FailedGetResourceMetric");
  EXPECT_EQ(condition(h.autoscaler, "ScalingActive", "message"),
            "the HPA was unable to compute the replica count: unable to get metrics for "
            "resource cpu: no metrics returned from resource metrics API");
}

}  // namespace
}  // namespace skiff::master::testing
