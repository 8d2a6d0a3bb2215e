#include "skiff/master/api/defaults.h"
#include "skiff/master/api/resources.h"

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

namespace skiff::master::api {
namespace {

// SetDefaults_Service: a port's targetPort left out, 0 or "" (client-go's protobuf sends a zero
// IntOrString) is the port itself; a named or numbered one stays.
TEST(ServiceDefaultsTest, ZeroOrEmptyTargetPortIsThePort) {
  const ResourceInfo* services = findResource("", "v1", "services");
  ASSERT_NE(services, nullptr);
  json svc = {{"apiVersion", "v1"},
              {"kind", "Service"},
              {"metadata", {{"name", "s"}}},
              {"spec",
               {{"ports", json::array({{{"name", "a"}, {"port", 80}},
                                       {{"name", "b"}, {"port", 81}, {"targetPort", 0}},
                                       {{"name", "c"}, {"port", 82}, {"targetPort", ""}},
                                       {{"name", "d"}, {"port", 83}, {"targetPort", "http"}},
                                       {{"name", "e"}, {"port", 84}, {"targetPort", 8080}}})}}}};
  applyDefaults(*services, svc);
  const json& ports = svc["spec"]["ports"];
  EXPECT_EQ(ports[0]["targetPort"], 80);
  EXPECT_EQ(ports[1]["targetPort"], 81);
  EXPECT_EQ(ports[2]["targetPort"], 82);
  EXPECT_EQ(ports[3]["targetPort"], "http");
  EXPECT_EQ(ports[4]["targetPort"], 8080);
}

}  // namespace
}  // namespace skiff::master::api
