#include "skiff/master/api/defaults.h"

#include <gtest/gtest.h>

namespace skiff::master::api {
namespace {

using json = nlohmann::json;

std::int64_t tolerationSeconds(const json& pod, const std::string& key) {
  for (const auto& t : pod["spec"]["tolerations"]) {
    if (t.value("key", "") == key) return t.value("tolerationSeconds", std::int64_t{-1});
  }
  return -1;
}

// DefaultTolerationSeconds admission: not-ready and unreachable have their own flags.
TEST(DefaultTolerationSecondsTest, EachTaintGetsItsOwnDefault) {
  json pod =
      R"({"metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"busybox"}]}})"_json;
  DefaultingOptions o;
  o.not_ready_toleration_seconds = 7;
  o.unreachable_toleration_seconds = 11;
  admitNewPod(pod, o);
  EXPECT_EQ(tolerationSeconds(pod, "node.kubernetes.io/not-ready"), 7);
  EXPECT_EQ(tolerationSeconds(pod, "node.kubernetes.io/unreachable"), 11);
}

TEST(DefaultTolerationSecondsTest, KeepsThePodsOwnToleration) {
  json pod = R"({"metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"busybox"}],
      "tolerations":[{"key":"node.kubernetes.io/unreachable","operator":"Exists",
                      "effect":"NoExecute","tolerationSeconds":2}]}})"_json;
  admitNewPod(pod, DefaultingOptions{});
  EXPECT_EQ(tolerationSeconds(pod, "node.kubernetes.io/unreachable"), 2);
  EXPECT_EQ(tolerationSeconds(pod, "node.kubernetes.io/not-ready"), 300);
  EXPECT_EQ(pod["spec"]["tolerations"].size(), 2u);
}

}  // namespace
}  // namespace skiff::master::api
