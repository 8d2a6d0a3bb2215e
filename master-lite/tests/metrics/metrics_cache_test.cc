// The metrics cache: rates from two cumulative samples, as metrics-server computes them.
#include <gtest/gtest.h>

#include "skiff/master/metrics/metrics.h"

namespace skiff::master::metrics {
namespace {

using namespace std::chrono_literals;

json summary(std::uint64_t node_cpu, std::uint64_t pod_cpu) {
  return {{"node",
           {{"nodeName", "n1"},
            {"cpu", {{"usageCoreNanoSeconds", node_cpu}}},
            {"memory", {{"workingSetBytes", 1 << 30}}}}},
          {"pods",
           {{{"podRef", {{"name", "web"}, {"namespace", "default"}}},
             {"containers",
              {{{"name", "c"},
                {"cpu", {{"usageCoreNanoSeconds", pod_cpu}}},
                {"memory", {{"workingSetBytes", 10 << 20}}}}}}}}}};
}

TEST(MetricsCache, RatesNeedTwoScrapes) {
  MetricsCache c;
  auto t0 = std::chrono::system_clock::time_point{} + 1000h;
  c.ingest("n1", summary(1'000'000'000, 0), t0);
  EXPECT_TRUE(c.nodes().empty());
  EXPECT_FALSE(c.pod("default", "web"));
  // 15 s later: the node used 3 core-seconds (200m), the pod 1.5 (100m).
  c.ingest("n1", summary(4'000'000'000, 1'500'000'000), t0 + 15s);
  auto n = c.node("n1");
  ASSERT_TRUE(n);
  EXPECT_EQ(n->usage.cpu_nano_cores, 200'000'000);
  EXPECT_EQ(n->window, 15s);
  auto p = c.pod("default", "web");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->containers[0].usage.cpu_nano_cores, 100'000'000);
  json obj = podMetricsJson(*p, json{{"app", "web"}});
  EXPECT_EQ(obj["containers"][0]["usage"]["cpu"], "100m");
  EXPECT_EQ(obj["containers"][0]["usage"]["memory"], "10Mi");
  EXPECT_EQ(obj["metadata"]["labels"]["app"], "web");
  EXPECT_EQ(nodeMetricsJson(*n, json())["usage"]["memory"], "1Gi");
  c.forgetNode("n1");
  EXPECT_TRUE(c.pods("").empty());
}

}  // namespace
}  // namespace skiff::master::metrics
