#include "skiff/common/pod_resources.h"

#include <gtest/gtest.h>

namespace skiff {
namespace {

using nlohmann::json;

json container(json requests, json limits = json::object()) {
  json c = {{"name", "c"}, {"resources", json::object()}};
  if (!requests.empty()) c["resources"]["requests"] = requests;
  if (!limits.empty()) c["resources"]["limits"] = limits;
  return c;
}

TEST(PodResourcesTest, QuantitiesAsStringsAndBareNumbers) {
  EXPECT_EQ(quantityMilli(json("500m")), 500);
  EXPECT_EQ(quantityMilli(json("2")), 2000);
  EXPECT_EQ(quantityMilli(json("2Gi")), 2147483648000LL);
  EXPECT_EQ(quantityMilli(json("2G")), 2000000000000LL);
  EXPECT_EQ(quantityMilli(json("1e3")), 1000000);
  EXPECT_EQ(quantityMilli(json("0.5")), 500);
  EXPECT_EQ(quantityMilli(json("0.1m")), 1);  // MilliValue rounds up
  EXPECT_EQ(quantityMilli(json(2)), 2000);
  EXPECT_EQ(quantityMilli(json(0.25)), 250);
  EXPECT_FALSE(quantityMilli(json("abc")));
  EXPECT_FALSE(quantityMilli(json("5X")));
  EXPECT_FALSE(quantityMilli(json(" 1")));
  EXPECT_FALSE(quantityMilli(json::array()));
  EXPECT_EQ(quantityValue(json("64Mi")), 64LL * 1024 * 1024);
  EXPECT_EQ(quantityValue(json("1.5k")), 1500);
  EXPECT_EQ(quantityValue(json("0.1")), 1);
  EXPECT_EQ(quantityValue(json(7)), 7);
  EXPECT_FALSE(quantityValue(json("1Q")));
}

TEST(PodResourcesTest, RequestsDefaultToLimitsAndMalformedEntriesAreLeftOut) {
  auto r = containerRequests(
      container({{"cpu", "250m"}, {"nvidia.com/gpu", "x"}}, {{"cpu", "1"}, {"memory", "64Mi"}}));
  EXPECT_EQ(r, (MilliResourceList{{"cpu", 250}, {"memory", 64LL * 1024 * 1024 * 1000}}));
}

TEST(PodResourcesTest, PodRequestsCountSidecarsWithTheContainersAndInitContainersAsAMaximum) {
  json pod = {{"spec",
               {{"containers", {container({{"cpu", "100m"}}), container({{"cpu", "200m"}})}},
                {"initContainers",
                 {container({{"cpu", "50m"}}),  // regular: 50m alone
                  [] {
                    json s = container({{"cpu", "100m"}});
                    s["restartPolicy"] = "Always";  // sidecar: adds to the sum
                    return s;
                  }(),
                  container({{"cpu", "350m"}})}},  // regular after the sidecar: 350m + 100m
                {"overhead", {{"cpu", "10m"}}}}}};
  // sum = 100 + 200 + 100 (sidecar) = 400; init max = 450; + overhead 10.
  EXPECT_EQ(podRequests(pod).at("cpu"), 460);
}

TEST(PodResourcesTest, NonZeroRequestsFillOnlyWhatAContainerLeavesUnset) {
  json pod = {{"spec", {{"containers", {container({{"cpu", "1"}}), container({})}}}}};
  auto r = podNonZeroRequests(pod);
  EXPECT_EQ(r.at("cpu"), 1100);
  EXPECT_EQ(r.at("memory"), 2 * 200LL * 1024 * 1024 * 1000);
  EXPECT_EQ(podRequests(pod).count("memory"), 0u);
}

TEST(PodResourcesTest, QosClassAsGetPodQOS) {
  auto pod = [](std::vector<json> cs) { return json{{"spec", {{"containers", cs}}}}; };
  EXPECT_EQ(podQosClass(pod({container({})})), QosClass::BestEffort);
  EXPECT_EQ(podQosClass(pod({container({{"cpu", "0"}})})), QosClass::BestEffort);
  EXPECT_EQ(podQosClass(pod({container({}, {{"cpu", "1"}, {"memory", "1Gi"}})})),
            QosClass::Guaranteed);
  EXPECT_EQ(podQosClass(pod({container({{"cpu", "1"}, {"memory", "1Gi"}},
                                       {{"cpu", "1000m"}, {"memory", "1024Mi"}})})),
            QosClass::Guaranteed);
  EXPECT_EQ(podQosClass(pod({container({{"cpu", "500m"}}, {{"cpu", "1"}, {"memory", "1Gi"}})})),
            QosClass::Burstable);
  EXPECT_EQ(podQosClass(pod({container({}, {{"cpu", "1"}})})), QosClass::Burstable);
  EXPECT_EQ(podQosClass(pod({container({}, {{"cpu", "1"}, {"memory", "1Gi"}}), container({})})),
            QosClass::Burstable);
  EXPECT_STREQ(qosClassName(QosClass::BestEffort), "BestEffort");
}

}  // namespace
}  // namespace skiff
