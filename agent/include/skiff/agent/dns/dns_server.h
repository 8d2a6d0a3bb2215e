#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "skiff/agent/dns/dns_metrics.h"
#include "skiff/agent/dns/record_index.h"
#include "skiff/agent/dns/responder.h"
#include "skiff/common/result.h"

namespace skiff::agent::dns {

struct DnsServerOptions {
  std::string listen_address = "127.0.0.1";
  std::uint16_t port = 53;  // 0: an ephemeral port (tests, benchmarks)
  int metrics_port = 9153;  // 0: ephemeral; -1: no /metrics listener
  // Bind before the address exists (IP_FREEBIND): the agent's listen address is the pod bridge's
  // gateway, which appears when the first pod is wired; the server is up before that.
  bool freebind = true;
  ResponderOptions responder;
  // "ip", "ip:port" or "[ipv6]:port"; port 53 when absent.
  std::vector<std::string> upstreams;
  std::chrono::milliseconds upstream_timeout{2000};
  std::size_t cache_size = 10000;
  std::uint32_t cache_max_ttl = 30;
  std::size_t max_inflight_forwards = 1000;
};

// The node-local cluster DNS server: UDP and TCP (RFC 1035 2-byte length framing, RFC 7766
// pipelining, 10 s idle timeout) on one address, served by one Boost.Asio thread it owns, plus
// /metrics (Prometheus text) on metrics_port. Cluster names are answered from the current
// RecordIndex (swapped in whole by setIndex, read on the serving thread without a lock); other
// names go through a ResponseCache to the upstreams: UDP for UDP clients (a truncated upstream
// reply is passed on so the client retries over TCP), TCP for TCP clients; the first upstream
// that answers wins, each tried once within upstream_timeout; none -> SERVFAIL.
class DnsServer {
 public:
  virtual ~DnsServer() = default;
  // Thread-safe; takes effect for the next query.
  virtual void setIndex(std::shared_ptr<const RecordIndex> index) = 0;
  virtual void setUpstreams(std::vector<std::string> upstreams) = 0;
  virtual std::uint16_t port() const = 0;
  virtual std::uint16_t metricsPort() const = 0;
  virtual const DnsMetrics& metrics() const = 0;
  // Closes the sockets and joins the thread; idempotent (the destructor calls it).
  virtual void stop() = 0;
};

// Binds and starts serving; a bind failure (address in use, no permission for port 53) ->
// Unavailable naming the address, with nothing left open.
Result<std::unique_ptr<DnsServer>> startDnsServer(DnsServerOptions options,
                                                  std::shared_ptr<const RecordIndex> index);

}  // namespace skiff::agent::dns
