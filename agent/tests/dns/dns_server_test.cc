#include "skiff/agent/dns/dns_server.h"

#include <gtest/gtest.h>

#include "dns_socket_test_util.h"
#include "dns_test_util.h"
#include "skiff/agent/dns/response_cache.h"

namespace skiff::agent::dns {
namespace {

using namespace testing;

Bytes udpAsk(std::uint16_t port, const Bytes& q, int timeout_ms = 3000) {
  asio::io_context io;
  udp::socket s(io, udp::v4());
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  s.send_to(asio::buffer(q), {loopback(), port});
  Bytes buf(65535);
  boost::system::error_code ec;
  std::size_t n = s.receive(asio::buffer(buf), 0, ec);
  if (ec) return {};
  buf.resize(n);
  return buf;
}

Bytes tcpAsk(std::uint16_t port, const Bytes& q) {
  asio::io_context io;
  tcp::socket s = connectTcp(io, port);
  std::uint8_t len[2] = {static_cast<std::uint8_t>(q.size() >> 8),
                         static_cast<std::uint8_t>(q.size())};
  asio::write(s, asio::buffer(len));
  asio::write(s, asio::buffer(q));
  asio::read(s, asio::buffer(len));
  Bytes out((std::size_t(len[0]) << 8) | len[1]);
  asio::read(s, asio::buffer(out));
  return out;
}

std::string httpGet(std::uint16_t port, const std::string& path) {
  asio::io_context io;
  tcp::socket s = connectTcp(io, port);
  std::string req = "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n";
  asio::write(s, asio::buffer(req));
  std::string out;
  boost::system::error_code ec;
  asio::read(s, asio::dynamic_buffer(out), ec);
  return out;
}

// Two servers: `upstream_` is authoritative for example.com (a RecordIndex with that domain),
// and `server_` serves cluster.local and forwards everything else to it.
class DnsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DnsServerOptions uo;
    uo.port = 0;
    uo.metrics_port = -1;
    auto up_index = RecordIndex::build({service("ns", "www", "192.0.2.10")}, {}, "example.com");
    auto up = startDnsServer(uo, up_index);
    ASSERT_TRUE(up) << up.error().message();
    upstream_ = std::move(*up);
    DnsServerOptions o;
    o.port = 0;
    o.metrics_port = 0;
    o.upstreams = {"127.0.0.1:" + std::to_string(upstream_->port())};
    o.upstream_timeout = std::chrono::milliseconds(300);
    auto s = startDnsServer(
        o, RecordIndex::build(
               {service("default", "hello", "10.96.3.4"), service("default", "big", "None")},
               {slice("default", "big", endpoints(60))}, "cluster.local"));
    ASSERT_TRUE(s) << s.error().message();
    server_ = std::move(*s);
  }
  std::unique_ptr<DnsServer> upstream_, server_;
};

TEST_F(DnsServerTest, AnswersClusterNamesOverUdpAndTcp) {
  auto p =
      parse(udpAsk(server_->port(), query("hello.default.svc.cluster.local.", LDNS_RR_TYPE_A)));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(answers(p.get()), std::vector<std::string>{"10.96.3.4"});
  p = parse(tcpAsk(server_->port(), query("hello.default.svc.cluster.local.", LDNS_RR_TYPE_A)));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(answers(p.get()), std::vector<std::string>{"10.96.3.4"});
}

// Many queries queued at once from several clients (one batch of recvmmsg and sendmmsg, and
// more than one): each client gets exactly its own replies, under its own IDs; an oversized
// datagram in the middle is dropped without disturbing the others.
TEST_F(DnsServerTest, BatchedRepliesGoToTheirOwnClients) {
  asio::io_context io;
  const udp::endpoint to{loopback(), server_->port()};
  constexpr int kClients = 3, kEach = 40;  // 120 queries: more than one batch of 32
  std::vector<std::unique_ptr<udp::socket>> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.push_back(std::make_unique<udp::socket>(io, udp::v4()));
    timeval tv{3, 0};
    ::setsockopt(clients.back()->native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  for (int k = 0; k < kEach; ++k) {
    for (int c = 0; c < kClients; ++c) {
      Bytes q = query("hello.default.svc.cluster.local.", LDNS_RR_TYPE_A);
      q[0] = static_cast<std::uint8_t>(c);
      q[1] = static_cast<std::uint8_t>(k);
      clients[c]->send_to(asio::buffer(q), to);
    }
    if (k == kEach / 2) clients[0]->send_to(asio::buffer(Bytes(9000, 0x41)), to);
  }
  for (int c = 0; c < kClients; ++c) {
    std::vector<bool> seen(kEach, false);
    for (int k = 0; k < kEach; ++k) {
      Bytes buf(65535);
      boost::system::error_code ec;
      std::size_t n = clients[c]->receive(asio::buffer(buf), 0, ec);
      ASSERT_FALSE(ec) << "client " << c << " got " << k << " of " << kEach << " replies";
      ASSERT_GE(n, 12u);
      EXPECT_EQ(buf[0], c);
      ASSERT_LT(buf[1], kEach);
      EXPECT_FALSE(seen[buf[1]]) << "reply " << int(buf[1]) << " twice";
      seen[buf[1]] = true;
      buf.resize(n);
      auto p = parse(buf);
      ASSERT_NE(p, nullptr);
      EXPECT_EQ(answers(p.get()), std::vector<std::string>{"10.96.3.4"});
    }
  }
}

TEST_F(DnsServerTest, TruncatedOverUdpThenWholeOverTcp) {
  auto p = parse(udpAsk(server_->port(), query("big.default.svc.cluster.local.", LDNS_RR_TYPE_A)));
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(ldns_pkt_tc(p.get()));
  p = parse(tcpAsk(server_->port(), query("big.default.svc.cluster.local.", LDNS_RR_TYPE_A)));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(ldns_pkt_ancount(p.get()), 60);
}

TEST_F(DnsServerTest, ForwardsOutsideNamesAndCachesThem) {
  for (int i = 0; i < 2; ++i) {
    auto p =
        parse(udpAsk(server_->port(), query("www.ns.svc.example.com.", LDNS_RR_TYPE_A, 0, 77)));
    ASSERT_NE(p, nullptr) << i;
    EXPECT_EQ(ldns_pkt_id(p.get()), 77);
    EXPECT_EQ(answers(p.get()), std::vector<std::string>{"192.0.2.10"});
  }
  auto nx = parse(tcpAsk(server_->port(), query("nope.example.com.", LDNS_RR_TYPE_A)));
  ASSERT_NE(nx, nullptr);
  EXPECT_EQ(ldns_pkt_get_rcode(nx.get()), LDNS_RCODE_NXDOMAIN);
  std::string m = httpGet(server_->metricsPort(), "/metrics");
  EXPECT_NE(m.find("HTTP/1.1 200 OK"), std::string::npos);
  EXPECT_NE(
      m.find("coredns_cache_hits_total{server=\"dns://127.0.0.1:" +
             std::to_string(server_->port()) + "\",type=\"success\",view=\"\",zones=\".\"} 1"),
      std::string::npos)
      << m;
  EXPECT_NE(m.find("coredns_cache_misses_total"), std::string::npos);
  EXPECT_NE(m.find("rcode=\"NXDOMAIN\",plugin=\"forward\"} 1"), std::string::npos) << m;
  EXPECT_NE(m.find("coredns_dns_request_duration_seconds_bucket"), std::string::npos);
  EXPECT_NE(m.find("coredns_dns_requests_total"), std::string::npos);
  EXPECT_NE(httpGet(server_->metricsPort(), "/nope").find("404"), std::string::npos);
}

TEST_F(DnsServerTest, NoUpstreamAnswerIsServfail) {
  upstream_->stop();
  auto p = parse(udpAsk(server_->port(), query("gone.example.org.", LDNS_RR_TYPE_A)));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(ldns_pkt_get_rcode(p.get()), LDNS_RCODE_SERVFAIL);
}

TEST_F(DnsServerTest, NewIndexIsServedAfterSwap) {
  server_->setIndex(
      RecordIndex::build({service("default", "late", "10.96.9.9")}, {}, "cluster.local"));
  auto p = parse(udpAsk(server_->port(), query("late.default.svc.cluster.local.", LDNS_RR_TYPE_A)));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(answers(p.get()), std::vector<std::string>{"10.96.9.9"});
}

TEST_F(DnsServerTest, ServiceDotNamespaceAskedAsIsIsAnsweredAfterTheUpstreamFails) {
  // The upstream knows only example.com: it answers "hello.default." with SERVFAIL (no
  // upstream of its own), so the name is the cluster's Service, by CNAME.
  for (int i = 0; i < 2; ++i) {
    auto p = parse(udpAsk(server_->port(), query("hello.default.", LDNS_RR_TYPE_A)));
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(ldns_pkt_get_rcode(p.get()), LDNS_RCODE_NOERROR);
    EXPECT_EQ(answers(p.get()),
              (std::vector<std::string>{"hello.default.svc.cluster.local.", "10.96.3.4"}));
  }
  auto p = parse(tcpAsk(server_->port(), query("hello.default.", LDNS_RR_TYPE_A)));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(ldns_pkt_ancount(p.get()), 2);
  p = parse(udpAsk(server_->port(), query("nosuch.default.", LDNS_RR_TYPE_A)));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(ldns_pkt_get_rcode(p.get()), LDNS_RCODE_SERVFAIL);
}

TEST(DnsServerFallbackTest, AnUpstreamAnswerIsNeverShadowed) {
  // An upstream authoritative for "default", holding dns-version.default TXT, and a cluster
  // with a Service dns-version in namespace default.
  DnsServerOptions uo;
  uo.port = 0;
  uo.metrics_port = -1;
  auto up = startDnsServer(uo, RecordIndex::build({}, {}, "default"));
  ASSERT_TRUE(up);
  DnsServerOptions o;
  o.port = 0;
  o.metrics_port = -1;
  o.upstreams = {"127.0.0.1:" + std::to_string((*up)->port())};
  auto s = startDnsServer(
      o, RecordIndex::build({service("default", "dns-version", "10.96.1.1")}, {}, "cluster.local"));
  ASSERT_TRUE(s);
  auto p = parse(udpAsk((*s)->port(), query("dns-version.default.", LDNS_RR_TYPE_TXT)));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(answers(p.get()), std::vector<std::string>{"\"1.1.0\""});
  // NODATA upstream is an answer too: no CNAME to the Service.
  p = parse(udpAsk((*s)->port(), query("dns-version.default.", LDNS_RR_TYPE_A)));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(ldns_pkt_get_rcode(p.get()), LDNS_RCODE_NOERROR);
  EXPECT_EQ(ldns_pkt_ancount(p.get()), 0);
}

TEST(DnsServerBindTest, AddressInUseIsUnavailable) {
  DnsServerOptions o;
  o.port = 0;
  o.metrics_port = -1;
  auto a = startDnsServer(o, nullptr);
  ASSERT_TRUE(a);
  o.port = (*a)->port();
  auto b = startDnsServer(o, nullptr);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code(), ErrorCode::Unavailable);
}

TEST(ResponseCacheTest, ExpiresAndEvictsLeastRecentlyUsed) {
  ResponseCache c(2, 30);
  auto t0 = ResponseCache::Clock::time_point{};
  c.put("a", {1}, 10, false, t0);
  c.put("b", {2}, 100, true, t0);  // capped to 30
  ASSERT_TRUE(c.get("a", t0 + std::chrono::seconds(3)));
  EXPECT_EQ(c.get("a", t0 + std::chrono::seconds(3))->age_seconds, 3u);
  c.put("c", {3}, 10, false, t0);  // evicts b, the least recently used
  EXPECT_FALSE(c.get("b", t0));
  EXPECT_FALSE(c.get("a", t0 + std::chrono::seconds(10)));  // expired
  EXPECT_TRUE(c.get("c", t0 + std::chrono::seconds(9)));
  EXPECT_EQ(c.size(), 1u);
  c.put("d", {4}, 0, false, t0);  // TTL 0: not cached
  EXPECT_FALSE(c.get("d", t0));
}

}  // namespace
}  // namespace skiff::agent::dns
