#include "skiff/agent/dns/dns_metrics.h"

#include <gtest/gtest.h>

#include "skiff/agent/dns/ldns.h"
#include "skiff/agent/dns/responder.h"

namespace skiff::agent::dns {
namespace {

// The counters are arrays indexed by the responder's label tables: every named label maps to
// its own slot and back, and anything else to the last slot, "other".
TEST(DnsMetricLabels, IndexesRoundTripAndOtherIsTheLastSlot) {
  EXPECT_STREQ(typeLabelAt(typeLabelIndex(LDNS_RR_TYPE_AAAA)), "AAAA");
  EXPECT_STREQ(typeLabel(LDNS_RR_TYPE_SRV), "SRV");
  EXPECT_EQ(typeLabelIndex(LDNS_RR_TYPE_CAA), kTypeLabels - 1);
  EXPECT_STREQ(typeLabel(LDNS_RR_TYPE_CAA), "other");
  EXPECT_STREQ(rcodeLabelAt(rcodeLabelIndex(LDNS_RCODE_NXDOMAIN)), "NXDOMAIN");
  EXPECT_STREQ(rcodeLabel(LDNS_RCODE_NOTIMPL), "NOTIMP");
  EXPECT_EQ(rcodeLabelIndex(LDNS_RCODE_YXDOMAIN), kRcodeLabels - 1);
  EXPECT_STREQ(rcodeLabelAt(kRcodeLabels - 1), "other");
  for (std::size_t i = 0; i + 1 < kTypeLabels; ++i) EXPECT_STRNE(typeLabelAt(i), "other") << i;
  for (std::size_t i = 0; i + 1 < kRcodeLabels; ++i) EXPECT_STRNE(rcodeLabelAt(i), "other") << i;
}

TEST(DnsMetrics, RendersCoreDnsSamplesUnderTheirLabels) {
  DnsMetrics m;
  m.request(false, LDNS_RR_TYPE_A);
  m.request(true, LDNS_RR_TYPE_CAA);
  m.response(LDNS_RCODE_NXDOMAIN, false, LDNS_RR_TYPE_A, 0.0001);
  m.response(LDNS_RCODE_YXDOMAIN, true, LDNS_RR_TYPE_CAA, 0.0001);
  const std::string out = m.render();
  EXPECT_NE(out.find("coredns_dns_requests_total{server=\"dns://:53\",zone=\".\",view=\"\","
                     "proto=\"udp\",family=\"1\",type=\"A\"} 1\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("proto=\"tcp\",family=\"1\",type=\"other\"} 1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("rcode=\"NXDOMAIN\",plugin=\"kubernetes\"} 1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("rcode=\"other\",plugin=\"forward\"} 1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("coredns_dns_request_duration_seconds_count{server=\"dns://:53\",zone=\".\","
                     "view=\"\",type=\"A\"} 1\n"),
            std::string::npos)
      << out;
  EXPECT_EQ(m.requests(), 2u);
}

}  // namespace
}  // namespace skiff::agent::dns
