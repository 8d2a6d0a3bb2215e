// dns_bench [services=10000] [seconds=3] [window=32]
//
// On loopback, in one run, with the same load generator:
//  1. Service lookups: A queries for <svc>.bench.svc.cluster.local over 10,000 Services, answered
//     by skiff's DnsServer (in this process, its own thread) and by dnsmasq serving the same names
//     from a hosts file (--addn-hosts, its own process);
//  2. cached outside names: 1,000 names both forward to one upstream (a third, skiff-built
//     server authoritative for example.test), after a warm-up pass fills both caches;
//  3. the RSS the 10,000-Service index adds to this process, and its build time (the delay a new
//     Service adds before it resolves, beyond the watch event's arrival);
//  4. the CPU time Responder::handle() takes per Service lookup, from the prebuilt replies and
//     through ldns (the fast path off), measured on the thread's CPU clock so that a loaded
//     machine does not change it.
// Prints queries/s, p50 and p99 latency for each, and skiff/dnsmasq ratios. Exits 0 even when
// dnsmasq is missing (then only skiff's figures are printed), 1 when skiff's server fails.

#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "dns_test_util.h"
#include "skiff/agent/dns/dns_server.h"
#include "skiff/common/testing/free_port.h"

// After the C++ headers: ldns/common.h defines `bool` for C, which breaks <optional>.
#include "skiff/agent/dns/ldns.h"

using namespace skiff::agent::dns;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

namespace {

long rssKb() {
  std::ifstream f("/proc/self/status");
  std::string k;
  long v = 0;
  while (f >> k) {
    if (k == "VmRSS:") {
      f >> v;
      return v;
    }
  }
  return 0;
}

// An A query for `name` (load() rewrites its ID for each send).
std::vector<std::uint8_t> wireQuery(const std::string& name) {
  return testing::query(name, LDNS_RR_TYPE_A);
}

struct LoadResult {
  double qps = 0, p50_us = 0, p99_us = 0;
  long answered = 0, lost = 0, errors = 0;
};

// Closed loop: `window` queries in flight from one UDP socket, IDs index the send times; a query
// unanswered for 200 ms counts as lost and is replaced.
LoadResult load(std::uint16_t port, const std::vector<std::vector<std::uint8_t>>& queries,
                double secs, int window) {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to);
  std::vector<Clock::time_point> sent(65536);
  std::vector<bool> busy(65536, false);
  std::vector<double> lat;
  lat.reserve(1 << 20);
  LoadResult r;
  std::uint16_t next_id = 1;
  std::size_t qi = 0;
  int inflight = 0;
  auto send_one = [&] {
    auto q = queries[qi++ % queries.size()];
    while (busy[next_id]) ++next_id;
    q[0] = static_cast<std::uint8_t>(next_id >> 8);
    q[1] = static_cast<std::uint8_t>(next_id);
    sent[next_id] = Clock::now();
    busy[next_id] = true;
    ++next_id;
    if (::send(fd, q.data(), q.size(), 0) > 0) ++inflight;
  };
  auto start = Clock::now();
  auto end =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(secs));
  std::uint8_t buf[4096];
  while (Clock::now() < end) {
    while (inflight < window) send_one();
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) {
      r.lost += inflight;
      inflight = 0;
      std::fill(busy.begin(), busy.end(), false);
      continue;
    }
    for (;;) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n < 12) break;
      std::uint16_t id = static_cast<std::uint16_t>((buf[0] << 8) | buf[1]);
      if (!busy[id]) continue;
      busy[id] = false;
      --inflight;
      lat.push_back(std::chrono::duration<double, std::micro>(Clock::now() - sent[id]).count());
      if ((buf[3] & 15) != 0 || ((buf[6] << 8) | buf[7]) == 0) ++r.errors;
    }
  }
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  ::close(fd);
  r.answered = static_cast<long>(lat.size());
  r.qps = static_cast<double>(lat.size()) / elapsed;
  if (!lat.empty()) {
    std::sort(lat.begin(), lat.end());
    r.p50_us = lat[lat.size() / 2];
    r.p99_us = lat[lat.size() * 99 / 100];
  }
  return r;
}

void print(const char* what, const char* who, const LoadResult& r) {
  std::printf(
      "%-28s %-8s %10.0f q/s  p50 %7.1f us  p99 %7.1f us  (answered %ld, lost %ld, "
      "not NOERROR+answer %ld)\n",
      what, who, r.qps, r.p50_us, r.p99_us, r.answered, r.lost, r.errors);
}

// CPU time per Responder::handle() call on this thread (CLOCK_THREAD_CPUTIME_ID: what the
// query costs, whatever else the machine runs), over every query `rounds` times.
double handleNs(const Responder& r, const RecordIndex& index,
                const std::vector<std::vector<std::uint8_t>>& queries, int rounds) {
  timespec a{}, b{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
  std::size_t bytes = 0;
  for (int i = 0; i < rounds; ++i)
    for (const auto& q : queries) bytes += r.handle(q.data(), q.size(), index, false).wire.size();
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
  double ns = (b.tv_sec - a.tv_sec) * 1e9 + static_cast<double>(b.tv_nsec - a.tv_nsec);
  return bytes > 0 ? ns / (static_cast<double>(queries.size()) * rounds) : 0;
}

pid_t startDnsmasq(std::uint16_t port, const std::string& hosts, std::uint16_t upstream) {
  pid_t pid = ::fork();
  if (pid == 0) {
    std::string p = "--port=" + std::to_string(port), h = "--addn-hosts=" + hosts,
                s = "--server=127.0.0.1#" + std::to_string(upstream);
    ::execlp("dnsmasq", "dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts",
             "--listen-address=127.0.0.1", "--bind-interfaces", "--cache-size=10000", "--user=root",
             "--pid-file=", "--log-facility=/dev/null", p.c_str(), h.c_str(), s.c_str(),
             static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

}  // namespace

int main(int argc, char** argv) {
  int services = argc > 1 ? std::atoi(argv[1]) : 10000;
  double secs = argc > 2 ? std::atof(argv[2]) : 3.0;
  int window = argc > 3 ? std::atoi(argv[3]) : 32;

  std::vector<json> svcs;
  std::string hosts_path = "/tmp/skiff-dns-bench-" + std::to_string(::getpid()) + ".hosts";
  std::ofstream hosts(hosts_path);
  std::vector<std::vector<std::uint8_t>> svc_queries;
  for (int i = 0; i < services; ++i) {
    std::string ip = "10.96." + std::to_string(1 + i / 250) + "." + std::to_string(1 + i % 250);
    std::string name = "svc-" + std::to_string(i);
    svcs.push_back({{"metadata", {{"namespace", "bench"}, {"name", name}}},
                    {"spec", {{"clusterIP", ip}, {"clusterIPs", {ip}}, {"ports", json::array()}}}});
    hosts << ip << "\t" << name << ".bench.svc.cluster.local\n";
    svc_queries.push_back(wireQuery(name + ".bench.svc.cluster.local."));
  }
  hosts.close();
  std::shuffle(svc_queries.begin(), svc_queries.end(), std::mt19937(18));

  // The upstream for outside names.
  std::vector<json> outside;
  std::vector<std::vector<std::uint8_t>> out_queries;
  for (int i = 0; i < 1000; ++i) {
    std::string ip = "192.0.2." + std::to_string(1 + i % 250);
    outside.push_back({{"metadata", {{"namespace", "x"}, {"name", "n" + std::to_string(i)}}},
                       {"spec", {{"clusterIP", ip}, {"clusterIPs", {ip}}}}});
    out_queries.push_back(wireQuery("n" + std::to_string(i) + ".x.svc.example.test."));
  }
  DnsServerOptions uo;
  uo.port = 0;
  uo.metrics_port = -1;
  uo.responder.ttl = 3600;
  auto upstream =
      startDnsServer(uo, RecordIndex::build(outside, {}, "example.test", uo.responder.ttl));
  if (!upstream) {
    std::fprintf(stderr, "upstream: %s\n", upstream.error().message().c_str());
    return 1;
  }

  long rss0 = rssKb();
  auto t0 = Clock::now();
  auto index = RecordIndex::build(svcs, {}, "cluster.local");
  double build_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  svcs.clear();
  svcs.shrink_to_fit();
  DnsServerOptions so;
  so.port = 0;
  so.metrics_port = -1;
  so.upstreams = {"127.0.0.1:" + std::to_string((*upstream)->port())};
  auto skiff = startDnsServer(so, index);
  if (!skiff) {
    std::fprintf(stderr, "skiff: %s\n", skiff.error().message().c_str());
    return 1;
  }
  long rss1 = rssKb();
  double fast_ns = handleNs(Responder(ResponderOptions{}), *index, svc_queries, 5);
  double ldns_ns =
      handleNs(Responder(ResponderOptions{.fast_path = false}), *index, svc_queries, 5);
  index.reset();

  std::uint16_t mport = skiff::testing::freeLoopbackPort(SOCK_DGRAM);
  pid_t dm = startDnsmasq(mport, hosts_path, (*upstream)->port());
  ::usleep(300000);
  bool have_dnsmasq = dm > 0 && ::waitpid(dm, nullptr, WNOHANG) == 0;

  char loadavg[64] = "?";
  std::ifstream("/proc/loadavg").getline(loadavg, sizeof loadavg);
  std::printf("dns_bench: %d Services, %.1f s per phase, window %d, loadavg %s\n", services, secs,
              window, loadavg);
  // One phase: skiff, then (when it runs) dnsmasq, on the same queries; skiff's and dnsmasq's.
  auto phase = [&](const char* what, const std::vector<std::vector<std::uint8_t>>& queries) {
    std::pair<LoadResult, LoadResult> r;
    r.first = load(skiff.value()->port(), queries, secs, window);
    print(what, "skiff", r.first);
    if (have_dnsmasq) {
      r.second = load(mport, queries, secs, window);
      print(what, "dnsmasq", r.second);
    }
    return r;
  };
  const auto [ss, ds] = phase("service lookup", svc_queries);
  // Warm both caches, then measure cached outside names.
  (void)load(skiff.value()->port(), out_queries, 0.5, 4);
  if (have_dnsmasq) (void)load(mport, out_queries, 0.5, 4);
  const auto [sc, dc] = phase("cached outside name", out_queries);
  std::printf("index: %d Services built in %.1f ms; agent RSS growth %.1f MiB (index + server)\n",
              services, build_ms, static_cast<double>(rss1 - rss0) / 1024.0);
  std::printf("responder CPU per Service lookup: %.0f ns prebuilt reply, %.0f ns through ldns\n",
              fast_ns, ldns_ns);
  if (have_dnsmasq) {
    std::printf(
        "ratio skiff/dnsmasq: service lookups %.2fx q/s (p99 %.2fx), cached outside %.2fx "
        "q/s (p99 %.2fx)\n",
        ss.qps / std::max(ds.qps, 1.0), ss.p99_us / std::max(ds.p99_us, 0.001),
        sc.qps / std::max(dc.qps, 1.0), sc.p99_us / std::max(dc.p99_us, 0.001));
    ::kill(dm, SIGTERM);
    ::waitpid(dm, nullptr, 0);
  } else {
    std::printf("dnsmasq not found (Debian: dnsmasq-base); no reference figures\n");
  }
  ::unlink(hosts_path.c_str());
  return ss.answered > 0 ? 0 : 1;
}
