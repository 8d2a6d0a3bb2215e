// LimitRange defaults and checks against upstream's limitranger messages.
#include "skiff/master/quota/limit_range.h"

#include <gtest/gtest.h>

namespace skiff::master::quota {
namespace {

using json = nlohmann::json;

json lr(json item) { return {{"spec", {{"limits", {item}}}}}; }

json pod(json resources) {
  return {{"metadata", {{"name", "p"}}},
          {"spec", {{"containers", {{{"name", "c"}, {"resources", resources}}}}}}};
}

TEST(LimitRangeDefaults, ItemDefaultsFollowUpstream) {
  json item = {{"type", "Container"}, {"max", {{"cpu", "2"}}}, {"min", {{"memory", "32Mi"}}}};
  defaultLimitRangeItem(item);
  EXPECT_EQ(item["default"], json({{"cpu", "2"}}));
  EXPECT_EQ(item["defaultRequest"], json({{"cpu", "2"}, {"memory", "32Mi"}}));
}

TEST(LimitRangeDefaults, ContainersGetDefaultsAndTheAnnotation) {
  json p = pod(json::object());
  applyContainerDefaults(lr({{"type", "Container"},
                             {"default", {{"memory", "128Mi"}}},
                             {"defaultRequest", {{"memory", "64Mi"}}}}),
                         p);
  const json& res = p["spec"]["containers"][0]["resources"];
  EXPECT_EQ(res["limits"]["memory"], "128Mi");
  EXPECT_EQ(res["requests"]["memory"], "64Mi");
  EXPECT_EQ(p["metadata"]["annotations"]["kubernetes.io/limit-ranger"],
            "LimitRanger plugin set: memory request for container c; memory limit for container c");
}

TEST(LimitRangeDefaults, SetValuesAreKept) {
  json p = pod({{"limits", {{"memory", "256Mi"}}}, {"requests", {{"memory", "256Mi"}}}});
  applyContainerDefaults(lr({{"type", "Container"}, {"default", {{"memory", "128Mi"}}}}), p);
  EXPECT_EQ(p["spec"]["containers"][0]["resources"]["limits"]["memory"], "256Mi");
  EXPECT_FALSE(p["metadata"].contains("annotations"));
}

TEST(LimitRangeValidate, MinMaxAndRatioMessages) {
  json range = lr({{"type", "Container"},
                   {"max", {{"cpu", "1"}}},
                   {"min", {{"cpu", "100m"}}},
                   {"maxLimitRequestRatio", {{"cpu", "2"}}}});
  EXPECT_EQ(validatePod(range, pod({{"limits", {{"cpu", "2"}}}, {"requests", {{"cpu", "500m"}}}})),
            (std::vector<std::string>{
                "maximum cpu usage per Container is 1, but limit is 2",
                "cpu max limit to request ratio per Container is 2, but provided ratio is "
                "4.000000"}));
  EXPECT_EQ(
      validatePod(range, pod({{"limits", {{"cpu", "1"}}}, {"requests", {{"cpu", "50m"}}}}))[0],
      "minimum cpu usage per Container is 100m, but request is 50m");
  EXPECT_EQ(validatePod(range, pod(json::object()))[0],
            "minimum cpu usage per Container is 100m.  No request is specified");
  EXPECT_TRUE(validatePod(range, pod({{"limits", {{"cpu", "1"}}}, {"requests", {{"cpu", "500m"}}}}))
                  .empty());
}

TEST(LimitRangeValidate, PodSumsItsContainers) {
  json range = lr({{"type", "Pod"}, {"max", {{"memory", "1Gi"}}}});
  json p = pod({{"limits", {{"memory", "768Mi"}}}});
  p["spec"]["containers"].push_back(
      {{"name", "d"}, {"resources", {{"limits", {{"memory", "512Mi"}}}}}});
  EXPECT_EQ(validatePod(range, p),
            (std::vector<std::string>{"maximum memory usage per Pod is 1Gi, but limit is 1280Mi"}));
}

TEST(LimitRangeValidate, PersistentVolumeClaims) {
  json range = lr({{"type", "PersistentVolumeClaim"},
                   {"min", {{"storage", "1Gi"}}},
                   {"max", {{"storage", "2Gi"}}}});
  json pvc = {{"spec", {{"resources", {{"requests", {{"storage", "5Gi"}}}}}}}};
  EXPECT_EQ(validatePvc(range, pvc),
            (std::vector<std::string>{
                "maximum storage usage per PersistentVolumeClaim is 2Gi, but request is 5Gi"}));
  pvc["spec"]["resources"]["requests"]["storage"] = "500Mi";
  EXPECT_EQ(validatePvc(range, pvc)[0],
            "minimum storage usage per PersistentVolumeClaim is 1Gi, but request is 500Mi");
}

TEST(LimitRangeValidate, AggregateLikeUtilErrors) {
  EXPECT_EQ(aggregate({"a"}), "a");
  EXPECT_EQ(aggregate({"a", "b", "a"}), "[a, b]");
}

}  // namespace
}  // namespace skiff::master::quota
