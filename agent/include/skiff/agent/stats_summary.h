#pragma once

// The node's resource usage as the kubelet reports it, collected once per request and rendered
// two ways: GET /stats/summary (the Summary API JSON the master's metrics scraper reads) and
// GET /metrics/resource (pkg/kubelet/metrics/collectors/resource_metrics.go: the Prometheus text
// metrics-server >= 0.6 scrapes). Both renderings come from the same StatsSnapshot, so they never
// disagree about a sample.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "skiff/agent/container_runtime.h"
#include "skiff/agent/node_facts.h"

namespace skiff::agent {

struct ContainerSample {
  std::string name;
  int64_t start_ns = 0;    // Unix nanoseconds; 0 when unknown
  bool has_stats = false;  // the runtime returned stats for this container
  uint64_t cpu_core_ns = 0;
  uint64_t memory_working_set_bytes = 0, memory_usage_bytes = 0;
};

struct PodSample {
  std::string name, ns, uid;
  int64_t start_ns = 0;
  std::vector<ContainerSample> containers;  // running containers only
};

struct StatsSnapshot {
  std::string node_name;
  int64_t time_ns = 0;                       // when the sample was taken (Unix nanoseconds)
  std::optional<uint64_t> node_cpu_core_ns;  // cumulative busy CPU of the node
  std::optional<NodeUsage> node_usage;       // memory, nodefs
  std::vector<PodSample> pods;               // ordered by pod uid
};

// Running containers and their stats from `rt`, the node's CPU from /proc/stat and its memory
// and filesystem from readNodeUsage.
StatsSnapshot collectStats(ContainerRuntime& rt, const std::string& node_name);

// The Summary API shape (stats/v1alpha1): node {nodeName, startTime, cpu, memory, fs}, pods
// [{podRef, startTime, cpu, memory, containers[...]}]; a pod's cpu/memory is the sum of its
// containers'.
nlohmann::json statsSummaryJson(const StatsSnapshot& s);

// kubelet 1.32's /metrics/resource body: families sorted by name, each with # HELP / # TYPE,
// samples with millisecond timestamps (the sample time, or the container's start time for
// container_start_time_seconds), values as Go's strconv 'g' formatting writes them.
std::string resourceMetricsText(const StatsSnapshot& s);

// Prometheus text helpers (exposed for tests): a float as the Go client writes it (1.5,
// 1.2345678e+07), and a label value with backslash, double quote and newline escaped.
std::string prometheusFloat(double v);
std::string prometheusLabelValue(const std::string& v);

}  // namespace skiff::agent
