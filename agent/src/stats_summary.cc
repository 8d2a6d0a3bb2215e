// One sample of the node's usage, rendered as the Summary API JSON and as the kubelet's
// /metrics/resource Prometheus text.
#include "skiff/agent/stats_summary.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <map>
#include <tuple>

#include "skiff/agent/pod_status.h"
#include "skiff/common/file.h"

namespace skiff::agent {

using nlohmann::json;

namespace {

std::string label(const std::map<std::string, std::string>& labels, const char* key) {
  auto it = labels.find(key);
  return it == labels.end() ? "" : it->second;
}

// Cumulative busy CPU time of the node (every state of /proc/stat's "cpu" line but idle and
// iowait), in core-nanoseconds: the counter the metrics API turns into a rate.
std::optional<uint64_t> nodeCpuUsageNanos() {
  auto stat = readFile("/proc/stat", 4096);
  if (!stat) return std::nullopt;
  unsigned long long user = 0, nice = 0, sys = 0, idle = 0, iowait = 0, irq = 0, softirq = 0,
                     steal = 0;
  if (std::sscanf(stat->c_str(), "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &user, &nice, &sys,
                  &idle, &iowait, &irq, &softirq, &steal) < 4)
    return std::nullopt;
  long hz = ::sysconf(_SC_CLK_TCK);
  if (hz <= 0) return std::nullopt;
  unsigned long long busy = user + nice + sys + irq + softirq + steal;
  return static_cast<uint64_t>(busy) * (1000000000ULL / static_cast<unsigned long long>(hz));
}

// The pod's own usage: the sum over its containers that have stats (nullopt when none has).
struct PodTotals {
  uint64_t cpu_core_ns = 0, working_set = 0, usage = 0;
};
std::optional<PodTotals> podTotals(const PodSample& p) {
  std::optional<PodTotals> t;
  for (const auto& c : p.containers) {
    if (!c.has_stats) continue;
    if (!t) t.emplace();
    t->cpu_core_ns += c.cpu_core_ns;
    t->working_set += c.memory_working_set_bytes;
    t->usage += c.memory_usage_bytes;
  }
  return t;
}

std::optional<int64_t> nodeWorkingSet(const StatsSnapshot& s) {
  if (!s.node_usage) return std::nullopt;
  const NodeUsage& u = *s.node_usage;
  if (u.memory_capacity <= 0 || u.memory_available < 0) return std::nullopt;
  // The node's working set as the metrics API reports it: what is not available.
  return u.memory_capacity - u.memory_available;
}

// One metric family of the text format. Samples are sorted by their label values (in the order
// of the sorted label names) when the family is written, as the Go client's gatherer does.
struct Family {
  Family(const char* n, const char* h, const char* t, std::vector<std::string> labels)
      : name(n), help(h), type(t), label_names(std::move(labels)) {}
  const char* name;
  const char* help;
  const char* type;
  std::vector<std::string> label_names;  // sorted
  struct Sample {
    std::vector<std::string> values;
    double value;
    std::optional<int64_t> timestamp_ms;
  };
  std::vector<Sample> samples;

  void write(std::string& out) {
    if (samples.empty()) return;
    std::stable_sort(samples.begin(), samples.end(),
                     [](const Sample& a, const Sample& b) { return a.values < b.values; });
    out += std::string("# HELP ") + name + " " + help + "\n";
    out += std::string("# TYPE ") + name + " " + type + "\n";
    for (const auto& s : samples) {
      out += name;
      if (!label_names.empty()) {
        out += '{';
        for (std::size_t i = 0; i < label_names.size(); ++i) {
          if (i) out += ',';
          out += label_names[i] + "=\"" + prometheusLabelValue(s.values[i]) + "\"";
        }
        out += '}';
      }
      out += ' ';
      out += prometheusFloat(s.value);
      if (s.timestamp_ms) out += " " + std::to_string(*s.timestamp_ms);
      out += '\n';
    }
  }
};

int64_t millis(int64_t ns) { return ns / 1000000; }
double seconds(uint64_t ns) { return static_cast<double>(ns) / 1e9; }

}  // namespace

StatsSnapshot collectStats(ContainerRuntime& rt, const std::string& node_name) {
  StatsSnapshot s;
  s.node_name = node_name;
  s.time_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  std::map<std::string, ContainerStats> stats;
  if (auto st = rt.listContainerStats()) {
    for (const auto& c : *st) stats[c.id] = c;
  }
  std::map<std::string, PodSample> by_uid;
  if (auto containers = rt.listContainers()) {
    for (const auto& c : *containers) {
      if (c.state != ContainerState::Running) continue;
      std::string uid = label(c.labels, kLabelPodUid);
      PodSample& p = by_uid[uid];
      if (p.containers.empty()) {
        p.name = label(c.labels, kLabelPodName);
        p.ns = label(c.labels, kLabelPodNamespace);
        p.uid = uid;
        p.start_ns = c.started_at_ns;
      }
      ContainerSample cu{.name = c.name, .start_ns = c.started_at_ns};
      if (auto it = stats.find(c.id); it != stats.end()) {
        cu.has_stats = true;
        cu.cpu_core_ns = it->second.cpu_usage_core_nano_seconds;
        cu.memory_working_set_bytes = it->second.memory_working_set_bytes;
        cu.memory_usage_bytes = it->second.memory_usage_bytes;
      }
      p.containers.push_back(std::move(cu));
    }
  }
  for (auto& [_, p] : by_uid) s.pods.push_back(std::move(p));
  if (auto usage = readNodeUsage("/")) s.node_usage = *usage;
  s.node_cpu_core_ns = nodeCpuUsageNanos();
  return s;
}

json statsSummaryJson(const StatsSnapshot& s) {
  std::string now = rfc3339FromNs(s.time_ns);
  json pods = json::array();
  for (const auto& p : s.pods) {
    json containers = json::array();
    for (const auto& c : p.containers) {
      containers.push_back({{"name", c.name},
                            {"startTime", rfc3339FromNs(c.start_ns)},
                            {"cpu", {{"time", now}, {"usageCoreNanoSeconds", c.cpu_core_ns}}},
                            {"memory",
                             {{"time", now},
                              {"workingSetBytes", c.memory_working_set_bytes},
                              {"usageBytes", c.memory_usage_bytes}}}});
    }
    json pod = {{"podRef", {{"name", p.name}, {"namespace", p.ns}, {"uid", p.uid}}},
                {"startTime", rfc3339FromNs(p.start_ns)},
                {"containers", containers}};
    if (auto t = podTotals(p)) {
      pod["cpu"] = {{"time", now}, {"usageCoreNanoSeconds", t->cpu_core_ns}};
      pod["memory"] = {
          {"time", now}, {"workingSetBytes", t->working_set}, {"usageBytes", t->usage}};
    }
    pods.push_back(std::move(pod));
  }
  json node = {{"nodeName", s.node_name}, {"startTime", now}};
  if (s.node_usage) {
    const NodeUsage& u = *s.node_usage;
    node["memory"] = {{"time", now}, {"availableBytes", u.memory_available}};
    if (auto ws = nodeWorkingSet(s)) {
      node["memory"]["workingSetBytes"] = *ws;
      node["memory"]["usageBytes"] = *ws;
    }
    node["fs"] = {{"time", now},
                  {"availableBytes", u.nodefs_available},
                  {"capacityBytes", u.nodefs_capacity},
                  {"inodesFree", u.nodefs_inodes_free},
                  {"inodes", u.nodefs_inodes}};
  }
  if (s.node_cpu_core_ns && *s.node_cpu_core_ns > 0) {
    node["cpu"] = {{"time", now}, {"usageCoreNanoSeconds", *s.node_cpu_core_ns}};
  }
  return {{"node", node}, {"pods", pods}};
}

std::string resourceMetricsText(const StatsSnapshot& s) {
  const std::vector<std::string> ccols = {"container", "namespace", "pod"};
  const std::vector<std::string> pcols = {"namespace", "pod"};
  Family ccpu{"container_cpu_usage_seconds_total",
              "[STABLE] Cumulative cpu time consumed by the container in core-seconds", "counter",
              ccols};
  Family cmem{"container_memory_working_set_bytes",
              "[STABLE] Current working set of the container in bytes", "gauge", ccols};
  Family cstart{"container_start_time_seconds",
                "[STABLE] Start time of the container since unix epoch in seconds", "gauge", ccols};
  Family ncpu{"node_cpu_usage_seconds_total",
              "[STABLE] Cumulative cpu time consumed by the node in core-seconds",
              "counter",
              {}};
  Family nmem{"node_memory_working_set_bytes",
              "[STABLE] Current working set of the node in bytes",
              "gauge",
              {}};
  Family pcpu{"pod_cpu_usage_seconds_total",
              "[STABLE] Cumulative cpu time consumed by the pod in core-seconds", "counter", pcols};
  Family pmem{"pod_memory_working_set_bytes", "[STABLE] Current working set of the pod in bytes",
              "gauge", pcols};
  // scrape_error (ALPHA, deprecated in 1.29) is hidden from 1.30 on; resource_scrape_error
  // replaced it. Gathering from the runtime cannot fail half-way here: a runtime error leaves
  // the pods out, as the kubelet's summary provider would.
  Family err{"resource_scrape_error",
             "[STABLE] 1 if there was an error while getting container metrics, 0 otherwise",
             "gauge",
             {}};

  int64_t ts = millis(s.time_ns);
  if (s.node_cpu_core_ns && *s.node_cpu_core_ns > 0) {
    ncpu.samples.push_back({{}, seconds(*s.node_cpu_core_ns), ts});
  }
  if (auto ws = nodeWorkingSet(s)) nmem.samples.push_back({{}, static_cast<double>(*ws), ts});
  for (const auto& p : s.pods) {
    for (const auto& c : p.containers) {
      std::vector<std::string> v = {c.name, p.ns, p.name};
      if (c.has_stats) {
        ccpu.samples.push_back({v, seconds(c.cpu_core_ns), ts});
        cmem.samples.push_back({v, static_cast<double>(c.memory_working_set_bytes), ts});
      }
      if (c.start_ns / 1000000000 > 0) {
        cstart.samples.push_back({v, static_cast<double>(c.start_ns) / 1e9, millis(c.start_ns)});
      }
    }
    if (auto t = podTotals(p)) {
      pcpu.samples.push_back({{p.ns, p.name}, seconds(t->cpu_core_ns), ts});
      pmem.samples.push_back({{p.ns, p.name}, static_cast<double>(t->working_set), ts});
    }
  }
  err.samples.push_back({{}, 0, std::nullopt});
  std::string out;
  for (Family* f : {&ccpu, &cmem, &cstart, &ncpu, &nmem, &pcpu, &pmem, &err}) f->write(out);
  return out;
}

std::string prometheusFloat(double v) {
  if (v != v) return "NaN";
  if (v == 1.0 / 0.0) return "+Inf";
  if (v == -1.0 / 0.0) return "-Inf";
  // Go's strconv.FormatFloat(v, 'g', -1, 64): the shortest digits that round-trip, in %e form
  // when the decimal exponent is < -4 or >= 6 (the precision 'g' uses for the shortest form).
  char sci[64];
  auto r = std::to_chars(sci, sci + sizeof sci, v, std::chars_format::scientific);
  std::string s(sci, r.ptr);
  auto e = s.find('e');
  int exp = std::atoi(s.c_str() + e + 1);
  if (exp < -4 || exp >= 6) return s;
  char fix[64];
  r = std::to_chars(fix, fix + sizeof fix, v, std::chars_format::fixed);
  return std::string(fix, r.ptr);
}

std::string prometheusLabelValue(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace skiff::agent
