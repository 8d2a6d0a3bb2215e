#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "skiff/agent/dns/responder.h"

namespace skiff::agent::dns {

// CoreDNS's metric names and labels (plugin/metrics/vars, plugin/cache), so that existing
// dashboards and alerts (kube-prometheus' CoreDNS rules) work against skiff's server:
//   coredns_dns_requests_total{server,zone,view,proto,family,type}
//   coredns_dns_responses_total{server,zone,view,rcode,plugin}
//   coredns_dns_request_duration_seconds{server,zone,view,type} (buckets 0.25 ms .. 8.192 s)
//   coredns_cache_hits_total{server,type="success|denial",view,zones}, coredns_cache_misses_total
//   coredns_cache_entries{server,type,view,zones}, coredns_forward_requests_total{to}
// Lock-free counters; render() is safe from any thread.
class DnsMetrics {
 public:
  static constexpr std::size_t kTypes = kTypeLabels;    // typeLabelIndex() values
  static constexpr std::size_t kRcodes = kRcodeLabels;  // rcodeLabelIndex() values
  static constexpr std::size_t kBuckets = 16;  // prometheus.ExponentialBuckets(0.00025, 2, 16)

  void request(bool tcp, std::uint16_t qtype);
  void response(int rcode, bool forwarded, std::uint16_t qtype, double seconds);
  void cacheHit(bool negative) { (negative ? cache_denial_ : cache_success_)++; }
  void cacheMiss() { cache_misses_++; }
  void forwardTo() { forwards_++; }
  void setCacheEntries(std::size_t n) { cache_entries_ = n; }
  void setServer(std::string s) { server_ = std::move(s); }
  std::string render() const;
  std::uint64_t requests() const;

 private:
  std::string server_ = "dns://:53";
  std::array<std::array<std::atomic<std::uint64_t>, kTypes>, 2> requests_{};    // [udp|tcp][type]
  std::array<std::array<std::atomic<std::uint64_t>, kRcodes>, 2> responses_{};  // [k8s|fwd]
  std::array<std::array<std::atomic<std::uint64_t>, kBuckets + 1>, kTypes> duration_{};
  std::array<std::atomic<std::uint64_t>, kTypes> duration_count_{};
  std::array<std::atomic<std::uint64_t>, kTypes> duration_sum_ns_{};
  std::atomic<std::uint64_t> cache_success_{0}, cache_denial_{0}, cache_misses_{0}, forwards_{0};
  std::atomic<std::size_t> cache_entries_{0};
};

}  // namespace skiff::agent::dns
