// Rates and API objects of the built-in metrics API (metrics/metrics.h), after metrics-server's
// pkg/storage (rates from two cumulative samples) and pkg/api (NodeMetrics/PodMetrics).
#include <cstdio>

#include "skiff/common/quantity.h"
#include "skiff/master/metrics/metrics.h"

namespace skiff::master::metrics {
namespace {

std::string formatTime(TimePoint t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string formatWindow(std::chrono::milliseconds w) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3gs", static_cast<double>(w.count()) / 1000.0);
  return buf;
}

json usageJson(const Usage& u) {
  return {{"cpu", Quantity::fromScaled(u.cpu_nano_cores, -9).toString()},
          {"memory", Quantity::fromInt(u.memory_bytes, Quantity::Format::BinarySI).toString()}};
}

std::uint64_t u64(const json& obj, const char* a, const char* b) {
  if (!obj.is_object() || !obj.contains(a) || !obj[a].is_object()) return 0;
  const json& v = obj[a].value(b, json());
  return v.is_number_unsigned() || v.is_number_integer() ? v.get<std::uint64_t>() : 0;
}

std::int64_t rate(std::uint64_t prev, std::uint64_t cur, TimePoint t0, TimePoint t1) {
  auto dt = std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count();
  if (dt <= 0 || cur < prev) return -1;
  return static_cast<std::int64_t>(static_cast<double>(cur - prev) * 1e9 / static_cast<double>(dt));
}

}  // namespace

void MetricsCache::ingest(const std::string& node, const json& summary, TimePoint t) {
  std::lock_guard<std::mutex> lock(mu_);
  NodeState& st = nodes_[node];
  const json& n = summary.value("node", json::object());
  std::uint64_t cpu = u64(n, "cpu", "usageCoreNanoSeconds");
  if (st.last.at != TimePoint{} && cpu > 0) {
    std::int64_t r = rate(st.last.cpu_ns, cpu, st.last.at, t);
    if (r >= 0) {
      NodeMetrics m;
      m.name = node;
      m.timestamp = t;
      m.window = std::chrono::duration_cast<std::chrono::milliseconds>(t - st.last.at);
      m.usage = {r, static_cast<std::int64_t>(u64(n, "memory", "workingSetBytes"))};
      st.metrics = m;
    }
  }
  st.last = {cpu, t};
  std::map<std::string, Sample> containers;
  std::map<std::string, PodMetrics> pods;
  for (const auto& p : summary.value("pods", json::array())) {
    const json& ref = p.value("podRef", json::object());
    std::string ns = ref.value("namespace", ""), name = ref.value("name", "");
    PodMetrics pm;
    pm.ns = ns;
    pm.name = name;
    pm.timestamp = t;
    bool complete = true;
    for (const auto& c : p.value("containers", json::array())) {
      std::string key = ns + "/" + name + "/" + c.value("name", "");
      std::uint64_t ccpu = u64(c, "cpu", "usageCoreNanoSeconds");
      containers[key] = {ccpu, t};
      auto prev = st.containers.find(key);
      std::int64_t r =
          prev == st.containers.end() ? -1 : rate(prev->second.cpu_ns, ccpu, prev->second.at, t);
      if (r < 0) {
        complete = false;
        continue;
      }
      pm.window = std::chrono::duration_cast<std::chrono::milliseconds>(t - prev->second.at);
      pm.containers.push_back(
          {c.value("name", ""),
           {r, static_cast<std::int64_t>(u64(c, "memory", "workingSetBytes"))}});
    }
    // metrics-server drops a pod while any of its containers lacks a rate.
    if (complete && !pm.containers.empty()) pods[ns + "/" + name] = std::move(pm);
  }
  st.containers = std::move(containers);
  st.pods = std::move(pods);
}

void MetricsCache::forgetNode(const std::string& node) {
  std::lock_guard<std::mutex> lock(mu_);
  nodes_.erase(node);
}

std::optional<NodeMetrics> MetricsCache::node(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = nodes_.find(name);
  if (it == nodes_.end()) return std::nullopt;
  return it->second.metrics;
}

std::vector<NodeMetrics> MetricsCache::nodes() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<NodeMetrics> out;
  for (const auto& [_, st] : nodes_) {
    if (st.metrics) out.push_back(*st.metrics);
  }
  return out;
}

std::optional<PodMetrics> MetricsCache::pod(const std::string& ns, const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [_, st] : nodes_) {
    auto it = st.pods.find(ns + "/" + name);
    if (it != st.pods.end()) return it->second;
  }
  return std::nullopt;
}

std::vector<PodMetrics> MetricsCache::pods(const std::string& ns) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::map<std::string, PodMetrics> sorted;
  for (const auto& [_, st] : nodes_) {
    for (const auto& [k, p] : st.pods) {
      if (ns.empty() || p.ns == ns) sorted[k] = p;
    }
  }
  std::vector<PodMetrics> out;
  out.reserve(sorted.size());
  for (auto& [_, p] : sorted) out.push_back(std::move(p));
  return out;
}

json nodeMetricsJson(const NodeMetrics& m, const json& labels) {
  json meta = {{"name", m.name},
               {"creationTimestamp", formatTime(std::chrono::system_clock::now())}};
  if (labels.is_object() && !labels.empty()) meta["labels"] = labels;
  return {{"kind", "NodeMetrics"},
          {"apiVersion", "metrics.k8s.io/v1beta1"},
          {"metadata", meta},
          {"timestamp", formatTime(m.timestamp)},
          {"window", formatWindow(m.window)},
          {"usage", usageJson(m.usage)}};
}

json podMetricsJson(const PodMetrics& m, const json& labels) {
  json meta = {{"name", m.name},
               {"namespace", m.ns},
               {"creationTimestamp", formatTime(std::chrono::system_clock::now())}};
  if (labels.is_object() && !labels.empty()) meta["labels"] = labels;
  json containers = json::array();
  for (const auto& c : m.containers) {
    containers.push_back({{"name", c.name}, {"usage", usageJson(c.usage)}});
  }
  return {{"kind", "PodMetrics"},
          {"apiVersion", "metrics.k8s.io/v1beta1"},
          {"metadata", meta},
          {"timestamp", formatTime(m.timestamp)},
          {"window", formatWindow(m.window)},
          {"containers", containers}};
}

}  // namespace skiff::master::metrics
