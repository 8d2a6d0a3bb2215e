// Bad input against the DNS server, built with AddressSanitizer + UBSan in every build (see
// agent/CMakeLists.txt): truncated headers, compression loops, oversized labels and random
// mutations are answered with FORMERR or dropped, and the server keeps serving.

#include <gtest/gtest.h>

#include <random>

#include <poll.h>

#include "dns_socket_test_util.h"
#include "dns_test_util.h"
#include "skiff/agent/dns/dns_server.h"
#include "skiff/agent/dns/responder.h"

namespace skiff::agent::dns {
namespace {

using namespace testing;

std::shared_ptr<const RecordIndex> index() {
  return RecordIndex::build({service("default", "hello", "10.96.3.4")}, {}, "cluster.local");
}

Bytes header(std::uint16_t qd, std::uint16_t an = 0) {
  return {0x12,
          0x34,
          0x01,
          0x00,
          static_cast<std::uint8_t>(qd >> 8),
          static_cast<std::uint8_t>(qd),
          static_cast<std::uint8_t>(an >> 8),
          static_cast<std::uint8_t>(an),
          0,
          0,
          0,
          0};
}

int rcodeOf(const Outcome& o) { return o.wire.size() >= 4 ? (o.wire[3] & 15) : -1; }

TEST(MalformedTest, ShorterThanAHeaderIsDropped) {
  Responder r{{}};
  auto idx = index();
  for (std::size_t n = 0; n < 12; ++n) {
    Bytes b(n, 0);
    EXPECT_EQ(r.handle(b.data(), b.size(), *idx, false).action, Action::Drop) << n;
  }
}

TEST(MalformedTest, HeaderPromisingAQuestionItDoesNotHaveIsFormerr) {
  Responder r{{}};
  Bytes b = header(1);
  Outcome o = r.handle(b.data(), b.size(), *index(), false);
  ASSERT_EQ(o.action, Action::Reply);
  EXPECT_EQ(rcodeOf(o), LDNS_RCODE_FORMERR);
  EXPECT_EQ(o.wire[0], 0x12);
  EXPECT_EQ(o.wire[1], 0x34);
  EXPECT_TRUE(o.wire[2] & 0x80);
}

TEST(MalformedTest, CompressionLoopIsFormerr) {
  Responder r{{}};
  Bytes b = header(1);
  for (std::uint8_t x : {0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01}) b.push_back(x);  // ptr to itself
  EXPECT_EQ(rcodeOf(r.handle(b.data(), b.size(), *index(), false)), LDNS_RCODE_FORMERR);
  Bytes two = header(1);  // two pointers pointing at each other
  for (std::uint8_t x : {0xc0, 0x0e, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01}) two.push_back(x);
  EXPECT_EQ(rcodeOf(r.handle(two.data(), two.size(), *index(), false)), LDNS_RCODE_FORMERR);
}

TEST(MalformedTest, OversizedLabelAndNameAreFormerr) {
  Responder r{{}};
  Bytes b = header(1);
  b.push_back(64);  // a label longer than 63
  b.insert(b.end(), 64, 'a');
  for (std::uint8_t x : {0x00, 0x00, 0x01, 0x00, 0x01}) b.push_back(x);
  EXPECT_EQ(rcodeOf(r.handle(b.data(), b.size(), *index(), false)), LDNS_RCODE_FORMERR);
  Bytes n = header(1);  // a 320-octet name of legal labels
  for (int i = 0; i < 5; ++i) {
    n.push_back(63);
    n.insert(n.end(), 63, 'b');
  }
  for (std::uint8_t x : {0x00, 0x00, 0x01, 0x00, 0x01}) n.push_back(x);
  EXPECT_EQ(rcodeOf(r.handle(n.data(), n.size(), *index(), false)), LDNS_RCODE_FORMERR);
}

TEST(MalformedTest, TwoQuestionsAreFormerrAndRepliesAreDropped) {
  Responder r{{}};
  auto q = query("hello.default.svc.cluster.local.", LDNS_RR_TYPE_A);
  q[5] = 2;
  auto q2 = q;
  auto tail = Bytes(q.begin() + 12, q.end());
  q2.insert(q2.end(), tail.begin(), tail.end());
  EXPECT_EQ(rcodeOf(r.handle(q2.data(), q2.size(), *index(), false)), LDNS_RCODE_FORMERR);
  auto reply = query("hello.default.svc.cluster.local.", LDNS_RR_TYPE_A);
  reply[2] |= 0x80;
  EXPECT_EQ(r.handle(reply.data(), reply.size(), *index(), false).action, Action::Drop);
}

TEST(MalformedTest, RandomMutationsNeverCrashTheResponder) {
  Responder r{{}};
  auto idx = index();
  std::mt19937 rng(18);
  auto base = query("hello.default.svc.cluster.local.", LDNS_RR_TYPE_SRV, 1232);
  for (int i = 0; i < 20000; ++i) {
    Bytes b = base;
    int flips = 1 + static_cast<int>(rng() % 6);
    for (int f = 0; f < flips; ++f) b[rng() % b.size()] = static_cast<std::uint8_t>(rng());
    if (rng() % 4 == 0) b.resize(rng() % b.size());
    if (rng() % 8 == 0) b.insert(b.end(), rng() % 300, static_cast<std::uint8_t>(rng()));
    Outcome o = r.handle(b.data(), b.size(), *idx, rng() % 2 == 0);
    if (o.action == Action::Reply) {
      ASSERT_GE(o.wire.size(), 12u);
    }
  }
}

TEST(MalformedTest, ServerKeepsServingAfterGarbage) {
  DnsServerOptions o;
  o.port = 0;
  o.metrics_port = -1;
  auto s = startDnsServer(o, index());
  ASSERT_TRUE(s) << s.error().message();
  asio::io_context io;
  udp::endpoint to(loopback(), (*s)->port());
  udp::socket u(io, udp::v4());
  std::mt19937 rng(7);
  for (int i = 0; i < 500; ++i) {
    Bytes b(rng() % 600);
    for (auto& x : b) x = static_cast<std::uint8_t>(rng());
    if (b.size() > 2) b[2] &= 0x7f;  // queries, so most get a FORMERR back
    u.send_to(asio::buffer(b), to);
  }
  {
    // TCP: a length prefix promising more than is sent, then the connection closes.
    tcp::socket t = connectTcp(io, (*s)->port());
    std::uint8_t partial[] = {0xff, 0xff, 1, 2, 3};
    asio::write(t, asio::buffer(partial));
  }
  // Asio's synchronous receive ignores SO_RCVTIMEO (it polls on EAGAIN): wait with poll().
  auto wait = [&](int ms) {
    pollfd p{u.native_handle(), POLLIN, 0};
    return ::poll(&p, 1, ms) > 0;
  };
  Bytes buf(65535);
  boost::system::error_code ec;
  while (wait(300)) (void)u.receive(asio::buffer(buf), 0, ec);  // drain the FORMERRs
  auto q = query("hello.default.svc.cluster.local.", LDNS_RR_TYPE_A, 0, 555);
  u.send_to(asio::buffer(q), to);
  Pkt p;
  while (!p && wait(3000)) {
    std::size_t n = u.receive(asio::buffer(buf), 0, ec);
    ASSERT_FALSE(ec) << ec.message();
    auto got = parse(Bytes(buf.begin(), buf.begin() + n));
    if (got && ldns_pkt_id(got.get()) == 555) p = std::move(got);
  }
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(answers(p.get()), std::vector<std::string>{"10.96.3.4"});
}

}  // namespace
}  // namespace skiff::agent::dns
