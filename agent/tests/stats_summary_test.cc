#include "skiff/agent/stats_summary.h"

#include <gtest/gtest.h>

#include <regex>
#include <sstream>

namespace skiff::agent {
namespace {

// 2026-01-02T03:04:05.678Z
constexpr int64_t kNow = 1767323045678000000;

StatsSnapshot sample() {
  StatsSnapshot s;
  s.node_name = "node-1";
  s.time_ns = kNow;
  s.node_cpu_core_ns = 123456789000ULL;  // 123.456789 s
  NodeUsage u;
  u.memory_capacity = 4LL << 30;
  u.memory_available = (4LL << 30) - 10338304;
  u.nodefs_available = 1, u.nodefs_capacity = 2, u.nodefs_inodes_free = 3, u.nodefs_inodes = 4;
  s.node_usage = u;
  PodSample web;
  web.name = "web", web.ns = "default", web.uid = "u1", web.start_ns = 1767323000000000000;
  web.containers.push_back({.name = "nginx",
                            .start_ns = 1767323000250000000,
                            .has_stats = true,
                            .cpu_core_ns = 4710169000,
                            .memory_working_set_bytes = 12345678,
                            .memory_usage_bytes = 20000000});
  web.containers.push_back({.name = "app",
                            .start_ns = 1767323001000000000,
                            .has_stats = true,
                            .cpu_core_ns = 500000000,
                            .memory_working_set_bytes = 1000,
                            .memory_usage_bytes = 2000});
  PodSample odd;
  odd.name = "we\"ird\\pod\n", odd.ns = "kube-system", odd.uid = "u0";
  odd.containers.push_back({.name = "c", .start_ns = 0, .has_stats = false});
  s.pods = {web, odd};
  return s;
}

TEST(PrometheusFloat, FormatsAsGoStrconvG) {
  EXPECT_EQ(prometheusFloat(0), "0");
  EXPECT_EQ(prometheusFloat(1), "1");
  EXPECT_EQ(prometheusFloat(4.710169), "4.710169");
  EXPECT_EQ(prometheusFloat(123456), "123456");
  EXPECT_EQ(prometheusFloat(1e6), "1e+06");
  EXPECT_EQ(prometheusFloat(12345678), "1.2345678e+07");
  EXPECT_EQ(prometheusFloat(1767323000.25), "1.76732300025e+09");
  EXPECT_EQ(prometheusFloat(0.0001), "0.0001");
  EXPECT_EQ(prometheusFloat(0.00001), "1e-05");
  EXPECT_EQ(prometheusFloat(-2.5), "-2.5");
}

TEST(PrometheusLabelValue, EscapesBackslashQuoteNewline) {
  EXPECT_EQ(prometheusLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  EXPECT_EQ(prometheusLabelValue("plain-name_1"), "plain-name_1");
}

// float64(UnixNano())/float64(time.Second), as the kubelet computes a start time, is not exact:
// 1767323000.25 comes out as 1.7673230002499998e+09 in Go too.
TEST(ResourceMetrics, ExactTextAsKubelet) {
  std::string want =
      "# HELP container_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the "
      "container in core-seconds\n"
      "# TYPE container_cpu_usage_seconds_total counter\n"
      "container_cpu_usage_seconds_total{container=\"app\",namespace=\"default\",pod=\"web\"} "
      "0.5 1767323045678\n"
      "container_cpu_usage_seconds_total{container=\"nginx\",namespace=\"default\",pod=\"web\"} "
      "4.710169 1767323045678\n"
      "# HELP container_memory_working_set_bytes [STABLE] Current working set of the container "
      "in bytes\n"
      "# TYPE container_memory_working_set_bytes gauge\n"
      "container_memory_working_set_bytes{container=\"app\",namespace=\"default\",pod=\"web\"} "
      "1000 1767323045678\n"
      "container_memory_working_set_bytes{container=\"nginx\",namespace=\"default\",pod=\"web\"} "
      "1.2345678e+07 1767323045678\n"
      "# HELP container_start_time_seconds [STABLE] Start time of the container since unix epoch "
      "in seconds\n"
      "# TYPE container_start_time_seconds gauge\n"
      "container_start_time_seconds{container=\"app\",namespace=\"default\",pod=\"web\"} "
      "1.767323001e+09 1767323001000\n"
      "container_start_time_seconds{container=\"nginx\",namespace=\"default\",pod=\"web\"} "
      "1.7673230002499998e+09 1767323000250\n"
      "# HELP node_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the node in "
      "core-seconds\n"
      "# TYPE node_cpu_usage_seconds_total counter\n"
      "node_cpu_usage_seconds_total 123.456789 1767323045678\n"
      "# HELP node_memory_working_set_bytes [STABLE] Current working set of the node in bytes\n"
      "# TYPE node_memory_working_set_bytes gauge\n"
      "node_memory_working_set_bytes 1.0338304e+07 1767323045678\n"
      "# HELP pod_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the pod in "
      "core-seconds\n"
      "# TYPE pod_cpu_usage_seconds_total counter\n"
      "pod_cpu_usage_seconds_total{namespace=\"default\",pod=\"web\"} 5.210169 1767323045678\n"
      "# HELP pod_memory_working_set_bytes [STABLE] Current working set of the pod in bytes\n"
      "# TYPE pod_memory_working_set_bytes gauge\n"
      "pod_memory_working_set_bytes{namespace=\"default\",pod=\"web\"} 1.2346678e+07 "
      "1767323045678\n"
      "# HELP resource_scrape_error [STABLE] 1 if there was an error while getting container "
      "metrics, 0 otherwise\n"
      "# TYPE resource_scrape_error gauge\n"
      "resource_scrape_error 0\n";
  EXPECT_EQ(resourceMetricsText(sample()), want);
}

// Every line parses as the text format: a comment, or name{label="escaped",...} value [ts].
TEST(ResourceMetrics, ParsableWithEscapedLabels) {
  auto s = sample();
  s.pods[1].containers[0].has_stats = true;
  s.pods[1].containers[0].cpu_core_ns = 1;
  std::string text = resourceMetricsText(s);
  std::regex comment(R"(# (HELP|TYPE) [a-z_]+ .+)");
  std::regex sample_line(
      R"([a-z_]+(\{[a-z_]+="([^"\\\n]|\\[\\"n])*"(,[a-z_]+="([^"\\\n]|\\[\\"n])*")*\})? )"
      R"([-+0-9.e]+( [0-9]+)?)");
  std::istringstream in(text);
  std::string line;
  int samples = 0;
  while (std::getline(in, line)) {
    if (line.rfind("#", 0) == 0) {
      EXPECT_TRUE(std::regex_match(line, comment)) << line;
    } else {
      EXPECT_TRUE(std::regex_match(line, sample_line)) << line;
      ++samples;
    }
  }
  EXPECT_NE(text.find("pod=\"we\\\"ird\\\\pod\\n\""), std::string::npos) << text;
  // The odd pod's container has no start time: no container_start_time_seconds for it.
  EXPECT_EQ(text.find("container_start_time_seconds{container=\"c\""), std::string::npos);
  // 3+3 container cpu/memory, 2 start times, node cpu+memory, 2+2 pod, scrape error.
  EXPECT_EQ(samples, 15);
}

TEST(ResourceMetrics, OmitsWhatIsUnknown) {
  StatsSnapshot s;
  s.node_name = "n";
  s.time_ns = kNow;
  std::string text = resourceMetricsText(s);
  EXPECT_EQ(text,
            "# HELP resource_scrape_error [STABLE] 1 if there was an error while getting "
            "container metrics, 0 otherwise\n"
            "# TYPE resource_scrape_error gauge\n"
            "resource_scrape_error 0\n");
}

TEST(StatsSummaryJson, PodTotalsAndNode) {
  auto j = statsSummaryJson(sample());
  EXPECT_EQ(j["node"]["nodeName"], "node-1");
  EXPECT_EQ(j["node"]["cpu"]["usageCoreNanoSeconds"], 123456789000ULL);
  EXPECT_EQ(j["node"]["memory"]["workingSetBytes"], 10338304);
  EXPECT_EQ(j["node"]["cpu"]["time"], "2026-01-02T03:04:05Z");
  ASSERT_EQ(j["pods"].size(), 2u);
  const auto& web = j["pods"][0];
  EXPECT_EQ(web["podRef"]["name"], "web");
  EXPECT_EQ(web["cpu"]["usageCoreNanoSeconds"], 5210169000ULL);
  EXPECT_EQ(web["memory"]["workingSetBytes"], 12346678);
  ASSERT_EQ(web["containers"].size(), 2u);
  EXPECT_EQ(web["containers"][0]["name"], "nginx");
  EXPECT_EQ(web["containers"][0]["cpu"]["usageCoreNanoSeconds"], 4710169000ULL);
  // No container stats: no pod-level cpu/memory.
  EXPECT_FALSE(j["pods"][1].contains("cpu"));
}

}  // namespace
}  // namespace skiff::agent
