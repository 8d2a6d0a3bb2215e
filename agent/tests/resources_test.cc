#include "skiff/agent/resources.h"

#include <gtest/gtest.h>

namespace skiff::agent {
namespace {

using nlohmann::json;

constexpr int64_t kGi = 1024LL * 1024 * 1024;

json podWith(const json& resources, int64_t priority = 0) {
  return {{"spec",
           {{"priority", priority},
            {"containers", json::array({{{"name", "c"}, {"resources", resources}}})}}}};
}

int64_t adj(const json& pod, int64_t capacity = 16 * kGi) {
  return oomScoreAdjust(pod, pod["spec"]["containers"][0], capacity);
}

// pkg/kubelet/qos/policy.go GetContainerOOMScoreAdjust.
TEST(OomScoreAdjust, FollowsKubeletQosPolicy) {
  EXPECT_EQ(adj(podWith(json::object())), 1000);  // BestEffort
  EXPECT_EQ(adj(podWith({{"requests", {{"cpu", "1"}, {"memory", "1Gi"}}},
                         {"limits", {{"cpu", "1"}, {"memory", "1Gi"}}}})),
            -997);  // Guaranteed
  // Burstable: 1000 - 1000 * request / capacity.
  EXPECT_EQ(adj(podWith({{"requests", {{"memory", "4Gi"}}}})), 750);
  EXPECT_EQ(adj(podWith({{"requests", {{"memory", "1Gi"}}}})), 938);
  // Clamped to [3, 999]: a huge request does not reach Guaranteed, a tiny one stays below
  // BestEffort.
  EXPECT_EQ(adj(podWith({{"requests", {{"memory", "16Gi"}}}})), 3);
  EXPECT_EQ(adj(podWith({{"requests", {{"cpu", "100m"}}}})), 999);
  // Node-critical priority counts as Guaranteed.
  EXPECT_EQ(adj(podWith(json::object(), 2000001000)), -997);
}

}  // namespace
}  // namespace skiff::agent
