#pragma once

// The built-in resource metrics API (metrics.k8s.io/v1beta1 NodeMetrics and PodMetrics), as
// metrics-server serves it: every node agent's /stats/summary is scraped every 15 s and the
// cumulative CPU counters of two scrapes become a rate; memory is the working set. The cache is
// pure (fed summaries and times) so its arithmetic is unit-tested; the scraper is the HTTPS side.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "skiff/common/result.h"

namespace skiff::master::metrics {

using json = nlohmann::json;
using TimePoint = std::chrono::system_clock::time_point;

struct Usage {
  std::int64_t cpu_nano_cores = 0;
  std::int64_t memory_bytes = 0;
};

struct ContainerMetrics {
  std::string name;
  Usage usage;
};

struct PodMetrics {
  std::string ns, name;
  TimePoint timestamp{};
  std::chrono::milliseconds window{0};
  std::vector<ContainerMetrics> containers;
};

struct NodeMetrics {
  std::string name;
  TimePoint timestamp{};
  std::chrono::milliseconds window{0};
  Usage usage;
};

class MetricsCache {
 public:
  // One scrape of `node`'s /stats/summary taken at `t`. Rates need two scrapes of the same
  // counter: a node or container appears from its second scrape on. Pods the summary no longer
  // lists are dropped.
  void ingest(const std::string& node, const json& summary, TimePoint t);
  // A node that stopped answering: its metrics go.
  void forgetNode(const std::string& node);

  std::optional<NodeMetrics> node(const std::string& name) const;
  std::vector<NodeMetrics> nodes() const;
  std::optional<PodMetrics> pod(const std::string& ns, const std::string& name) const;
  // ns "" = every namespace.
  std::vector<PodMetrics> pods(const std::string& ns) const;

 private:
  struct Sample {
    std::uint64_t cpu_ns = 0;  // cumulative core-nanoseconds
    TimePoint at{};
  };
  struct NodeState {
    Sample last;
    std::optional<NodeMetrics> metrics;
    std::map<std::string, Sample> containers;  // "ns/pod/container" -> last sample
    std::map<std::string, PodMetrics> pods;    // "ns/pod"
  };
  mutable std::mutex mu_;
  std::map<std::string, NodeState> nodes_;
};

// The API objects ("metadata" has name, namespace, labels as given, creationTimestamp).
json nodeMetricsJson(const NodeMetrics& m, const json& labels);
json podMetricsJson(const PodMetrics& m, const json& labels);

}  // namespace skiff::master::metrics
