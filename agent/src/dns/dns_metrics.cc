#include "skiff/agent/dns/dns_metrics.h"

#include <sstream>

#include "skiff/agent/dns/responder.h"

namespace skiff::agent::dns {

namespace {
double bucketBound(std::size_t i) { return 0.00025 * static_cast<double>(1u << i); }
}  // namespace

void DnsMetrics::request(bool tcp, std::uint16_t qtype) {
  requests_[tcp ? 1 : 0][typeLabelIndex(qtype)].fetch_add(1, std::memory_order_relaxed);
}

void DnsMetrics::response(int rcode, bool forwarded, std::uint16_t qtype, double seconds) {
  responses_[forwarded ? 1 : 0][rcodeLabelIndex(rcode)].fetch_add(1, std::memory_order_relaxed);
  std::size_t t = typeLabelIndex(qtype);
  std::size_t b = 0;
  while (b < kBuckets && seconds > bucketBound(b)) ++b;
  duration_[t][b].fetch_add(1, std::memory_order_relaxed);
  duration_count_[t].fetch_add(1, std::memory_order_relaxed);
  duration_sum_ns_[t].fetch_add(static_cast<std::uint64_t>(seconds * 1e9),
                                std::memory_order_relaxed);
}

std::uint64_t DnsMetrics::requests() const {
  std::uint64_t n = 0;
  for (const auto& p : requests_)
    for (const auto& c : p) n += c.load();
  return n;
}

std::string DnsMetrics::render() const {
  std::ostringstream o;
  const std::string srv = "server=\"" + server_ + "\"";
  // A counter family over [0|1][index]: one sample per counter that is not zero.
  auto counters = [&](const char* name, const char* help, const auto& values, auto labels) {
    o << "# HELP " << name << " " << help << "\n# TYPE " << name << " counter\n";
    for (int p = 0; p < 2; ++p) {
      for (std::size_t i = 0; i < values[p].size(); ++i) {
        auto v = values[p][i].load();
        if (v == 0) continue;
        o << name << "{" << srv << ",zone=\".\",view=\"\"," << labels(p, i) << "} " << v << "\n";
      }
    }
  };
  counters("coredns_dns_requests_total",
           "Counter of DNS requests made per zone, protocol and family.", requests_,
           [](int tcp, std::size_t t) {
             return std::string("proto=\"") + (tcp ? "tcp" : "udp") + "\",family=\"1\",type=\"" +
                    typeLabelAt(t) + "\"";
           });
  counters("coredns_dns_responses_total", "Counter of response status codes.", responses_,
           [](int forwarded, std::size_t r) {
             return std::string("rcode=\"") + rcodeLabelAt(r) + "\",plugin=\"" +
                    (forwarded ? "forward" : "kubernetes") + "\"";
           });
  o << "# HELP coredns_dns_request_duration_seconds Histogram of the time (in seconds) each "
       "request took per zone.\n# TYPE coredns_dns_request_duration_seconds histogram\n";
  for (std::size_t t = 0; t < kTypes; ++t) {
    auto count = duration_count_[t].load();
    if (count == 0) continue;
    std::string l = srv + ",zone=\".\",view=\"\",type=\"" + typeLabelAt(t) + "\"";
    std::uint64_t cum = 0;
    for (std::size_t b = 0; b < kBuckets; ++b) {
      cum += duration_[t][b].load();
      o << "coredns_dns_request_duration_seconds_bucket{" << l << ",le=\"" << bucketBound(b)
        << "\"} " << cum << "\n";
    }
    o << "coredns_dns_request_duration_seconds_bucket{" << l << ",le=\"+Inf\"} " << count << "\n";
    o << "coredns_dns_request_duration_seconds_sum{" << l << "} "
      << static_cast<double>(duration_sum_ns_[t].load()) / 1e9 << "\n";
    o << "coredns_dns_request_duration_seconds_count{" << l << "} " << count << "\n";
  }
  o << "# HELP coredns_cache_hits_total The count of cache hits.\n"
       "# TYPE coredns_cache_hits_total counter\n"
    << "coredns_cache_hits_total{" << srv << ",type=\"success\",view=\"\",zones=\".\"} "
    << cache_success_.load() << "\n"
    << "coredns_cache_hits_total{" << srv << ",type=\"denial\",view=\"\",zones=\".\"} "
    << cache_denial_.load() << "\n"
    << "# HELP coredns_cache_misses_total The count of cache misses.\n"
       "# TYPE coredns_cache_misses_total counter\n"
    << "coredns_cache_misses_total{" << srv << ",view=\"\",zones=\".\"} " << cache_misses_.load()
    << "\n# HELP coredns_cache_entries The number of elements in the cache.\n"
       "# TYPE coredns_cache_entries gauge\n"
    << "coredns_cache_entries{" << srv << ",type=\"success\",view=\"\",zones=\".\"} "
    << cache_entries_.load() << "\n"
    << "# HELP coredns_forward_requests_total Counter of requests made per upstream.\n"
       "# TYPE coredns_forward_requests_total counter\n"
    << "coredns_forward_requests_total{to=\"upstream\"} " << forwards_.load() << "\n";
  return o.str();
}

}  // namespace skiff::agent::dns
