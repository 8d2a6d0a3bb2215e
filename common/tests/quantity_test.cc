// Test vectors from k8s.io/apimachinery/pkg/api/resource/quantity_test.go (v0.32): parse tables,
// canonical String() tables, ParseEmit, New*/Set tables, Add/Sub/Neg, ScaledValue, RoundUp.
#include "skiff/common/quantity.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace skiff {
namespace {

using F = Quantity::Format;
constexpr std::int64_t kMostPositive = std::numeric_limits<std::int64_t>::max();

Quantity q(std::string_view s) {
  auto r = Quantity::parse(s);
  EXPECT_TRUE(r.has_value()) << s << ": " << (r ? "" : r.error().message());
  return r ? *r : Quantity();
}

// decQuantity(i, exponent, format) in upstream's tests.
Quantity dec(std::int64_t i, std::int32_t exponent, F format) {
  return Quantity::fromScaled(i, exponent, format);
}

struct ParseCase {
  const char* input;
  Quantity expect;
  F format;
};

std::vector<ParseCase> parseTable() {
  const Quantity max_allowed = Quantity::fromInt(kMostPositive, F::BinarySI);
  return {
      {"0", dec(0, 0, F::DecimalSI), F::DecimalSI},
      {"0n", dec(0, 0, F::DecimalSI), F::DecimalSI},
      {"0u", dec(0, 0, F::DecimalSI), F::DecimalSI},
      {"0m", dec(0, 0, F::DecimalSI), F::DecimalSI},
      {"0Ki", dec(0, 0, F::BinarySI), F::BinarySI},
      {"0k", dec(0, 0, F::DecimalSI), F::DecimalSI},
      {"0Mi", dec(0, 0, F::BinarySI), F::BinarySI},
      {"0M", dec(0, 0, F::DecimalSI), F::DecimalSI},
      {"0Gi", dec(0, 0, F::BinarySI), F::BinarySI},
      {"0G", dec(0, 0, F::DecimalSI), F::DecimalSI},
      {"0Ti", dec(0, 0, F::BinarySI), F::BinarySI},
      {"0T", dec(0, 0, F::DecimalSI), F::DecimalSI},
      {"1", dec(1, 0, F::DecimalSI), F::DecimalSI},
      // Binary suffixes
      {"1Ki", dec(1024, 0, F::BinarySI), F::BinarySI},
      {"8Ki", dec(8 * 1024, 0, F::BinarySI), F::BinarySI},
      {"7Mi", dec(7LL << 20, 0, F::BinarySI), F::BinarySI},
      {"6Gi", dec(6LL << 30, 0, F::BinarySI), F::BinarySI},
      {"5Ti", dec(5LL << 40, 0, F::BinarySI), F::BinarySI},
      {"4Pi", dec(4LL << 50, 0, F::BinarySI), F::BinarySI},
      {"3Ei", dec(3LL << 60, 0, F::BinarySI), F::BinarySI},
      {"10Ti", dec(10LL << 40, 0, F::BinarySI), F::BinarySI},
      {"100Ti", dec(100LL << 40, 0, F::BinarySI), F::BinarySI},
      // Decimal suffixes
      {"5n", dec(5, -9, F::DecimalSI), F::DecimalSI},
      {"4u", dec(4, -6, F::DecimalSI), F::DecimalSI},
      {"3m", dec(3, -3, F::DecimalSI), F::DecimalSI},
      {"9", dec(9, 0, F::DecimalSI), F::DecimalSI},
      {"8k", dec(8, 3, F::DecimalSI), F::DecimalSI},
      {"50k", dec(5, 4, F::DecimalSI), F::DecimalSI},
      {"7M", dec(7, 6, F::DecimalSI), F::DecimalSI},
      {"6G", dec(6, 9, F::DecimalSI), F::DecimalSI},
      {"5T", dec(5, 12, F::DecimalSI), F::DecimalSI},
      {"40T", dec(4, 13, F::DecimalSI), F::DecimalSI},
      {"300T", dec(3, 14, F::DecimalSI), F::DecimalSI},
      {"2P", dec(2, 15, F::DecimalSI), F::DecimalSI},
      {"1E", dec(1, 18, F::DecimalSI), F::DecimalSI},
      // Decimal exponents
      {"1E-3", dec(1, -3, F::DecimalExponent), F::DecimalExponent},
      {"1e3", dec(1, 3, F::DecimalExponent), F::DecimalExponent},
      {"1E6", dec(1, 6, F::DecimalExponent), F::DecimalExponent},
      {"1e9", dec(1, 9, F::DecimalExponent), F::DecimalExponent},
      {"1E12", dec(1, 12, F::DecimalExponent), F::DecimalExponent},
      {"1e15", dec(1, 15, F::DecimalExponent), F::DecimalExponent},
      {"1E18", dec(1, 18, F::DecimalExponent), F::DecimalExponent},
      // Nonstandard but still parsable
      {"1e14", dec(1, 14, F::DecimalExponent), F::DecimalExponent},
      {"1e13", dec(1, 13, F::DecimalExponent), F::DecimalExponent},
      {"100.035k", dec(100035, 0, F::DecimalSI), F::DecimalSI},
      // Things that look like floating point
      {"0.001", dec(1, -3, F::DecimalSI), F::DecimalSI},
      {"0.0005k", dec(5, -1, F::DecimalSI), F::DecimalSI},
      {"0.005", dec(5, -3, F::DecimalSI), F::DecimalSI},
      {"0.05", dec(5, -2, F::DecimalSI), F::DecimalSI},
      {"0.5", dec(5, -1, F::DecimalSI), F::DecimalSI},
      {"0.00050k", dec(5, -1, F::DecimalSI), F::DecimalSI},
      {"0.00500", dec(5, -3, F::DecimalSI), F::DecimalSI},
      {"0.05000", dec(5, -2, F::DecimalSI), F::DecimalSI},
      {"0.50000", dec(5, -1, F::DecimalSI), F::DecimalSI},
      {"0.5e0", dec(5, -1, F::DecimalExponent), F::DecimalExponent},
      {"0.5e-1", dec(5, -2, F::DecimalExponent), F::DecimalExponent},
      {"0.5e-2", dec(5, -3, F::DecimalExponent), F::DecimalExponent},
      {"10.035M", dec(10035, 3, F::DecimalSI), F::DecimalSI},
      {"1.2e3", dec(12, 2, F::DecimalExponent), F::DecimalExponent},
      {"1.3E+6", dec(13, 5, F::DecimalExponent), F::DecimalExponent},
      {"1.40e9", dec(14, 8, F::DecimalExponent), F::DecimalExponent},
      {"1.53E12", dec(153, 10, F::DecimalExponent), F::DecimalExponent},
      {"1.6e15", dec(16, 14, F::DecimalExponent), F::DecimalExponent},
      {"1.7E18", dec(17, 17, F::DecimalExponent), F::DecimalExponent},
      {"9.01", dec(901, -2, F::DecimalSI), F::DecimalSI},
      {"8.1k", dec(81, 2, F::DecimalSI), F::DecimalSI},
      {"7.123456M", dec(7123456, 0, F::DecimalSI), F::DecimalSI},
      {"6.987654321G", dec(6987654321, 0, F::DecimalSI), F::DecimalSI},
      {"5.444T", dec(5444, 9, F::DecimalSI), F::DecimalSI},
      {"40.1T", dec(401, 11, F::DecimalSI), F::DecimalSI},
      {"300.2T", dec(3002, 11, F::DecimalSI), F::DecimalSI},
      {"2.5P", dec(25, 14, F::DecimalSI), F::DecimalSI},
      {"1.01E", dec(101, 16, F::DecimalSI), F::DecimalSI},
      // Things that saturate/round
      {"3.001n", dec(4, -9, F::DecimalSI), F::DecimalSI},
      {"1.1E-9", dec(2, -9, F::DecimalExponent), F::DecimalExponent},
      {"0.0000000001", dec(1, -9, F::DecimalSI), F::DecimalSI},
      {"0.0000000005", dec(1, -9, F::DecimalSI), F::DecimalSI},
      {"0.00000000050", dec(1, -9, F::DecimalSI), F::DecimalSI},
      {"0.5e-9", dec(1, -9, F::DecimalExponent), F::DecimalExponent},
      {"0.9n", dec(1, -9, F::DecimalSI), F::DecimalSI},
      {"0.00000012345", dec(124, -9, F::DecimalSI), F::DecimalSI},
      {"0.00000012354", dec(124, -9, F::DecimalSI), F::DecimalSI},
      {"9Ei", max_allowed, F::BinarySI},
      {"9223372036854775807Ki", max_allowed, F::BinarySI},
      {"12E", dec(12, 18, F::DecimalSI), F::DecimalSI},
      // Fractional binary
      {"100.035Ki", dec(10243584, -2, F::BinarySI), F::BinarySI},
      {"0.5Mi", dec(512 * 1024, 0, F::BinarySI), F::BinarySI},
      {"0.05Gi", dec(536870912, -1, F::BinarySI), F::BinarySI},
      {"0.025Ti", dec(274877906944, -1, F::BinarySI), F::BinarySI},
      // Things written by trolls
      {"0.000000000001Ki", dec(2, -9, F::DecimalSI), F::DecimalSI},
      {".001", dec(1, -3, F::DecimalSI), F::DecimalSI},
      {".0001k", dec(100, -3, F::DecimalSI), F::DecimalSI},
      {"1.", dec(1, 0, F::DecimalSI), F::DecimalSI},
      {"1.G", dec(1, 9, F::DecimalSI), F::DecimalSI},
  };
}

TEST(QuantityTest, ParsesUpstreamTable) {
  for (const auto& c : parseTable()) {
    auto got = Quantity::parse(c.input);
    ASSERT_TRUE(got.has_value()) << c.input << ": " << got.error().message();
    EXPECT_EQ(got->compare(c.expect), 0) << c.input << " -> " << got->toString() << " want "
                                         << c.expect.toString();
    EXPECT_EQ(got->format(), c.format) << c.input;
  }
}

TEST(QuantityTest, ParsesNegativeAndExplicitPlusOfUpstreamTable) {
  for (const auto& c : parseTable()) {
    auto neg = Quantity::parse(std::string("-") + c.input);
    ASSERT_TRUE(neg.has_value()) << c.input;
    EXPECT_EQ(neg->compare(c.expect.negated()), 0) << "-" << c.input;
    EXPECT_EQ(neg->format(), c.format) << "-" << c.input;
    auto pos = Quantity::parse(std::string("+") + c.input);
    ASSERT_TRUE(pos.has_value()) << c.input;
    EXPECT_EQ(pos->compare(c.expect), 0) << "+" << c.input;
    EXPECT_EQ(pos->format(), c.format) << "+" << c.input;
  }
}

TEST(QuantityTest, RejectsUpstreamInvalidInputs) {
  for (const char* bad : {"", "1.1.M", "1+1.0M", "0.1mi", "0.1am", "aoeu", ".5i", "1i", "-3.01i",
                          "-3.01e-", " 1", "1 ", "Non-Numeric", "1e", "1Ki5", "1ee3", "1KiB"}) {
    auto r = Quantity::parse(bad);
    EXPECT_FALSE(r.has_value()) << "'" << bad << "' parsed as " << (r ? r->toString() : "");
    if (!r) {
      EXPECT_EQ(r.error().code(), ErrorCode::Invalid);
      EXPECT_NE(r.error().message().find("parse quantity '" + std::string(bad) + "'"),
                std::string::npos);
    }
  }
  EXPECT_NE(Quantity::parse("1.1.M").error().message().find("regular expression"),
            std::string::npos);
  EXPECT_NE(Quantity::parse("1i").error().message().find("unable to parse quantity's suffix"),
            std::string::npos);
}

// TestQuantityString: canonical output, the alternate spelling re-emitted canonically, and the
// negated value printed with a '-'.
TEST(QuantityTest, PrintsCanonicalFormLikeUpstream) {
  struct Case {
    Quantity in;
    const char* expect;
    const char* alternate;
  };
  const Case table[] = {
      {dec(1024 * 1024 * 1024, 0, F::BinarySI), "1Gi", "1024Mi"},
      {dec(300 * 1024 * 1024, 0, F::BinarySI), "300Mi", "307200Ki"},
      {dec(6 * 1024, 0, F::BinarySI), "6Ki", ""},
      {dec(1001LL * 1024 * 1024 * 1024, 0, F::BinarySI), "1001Gi", "1025024Mi"},
      {dec(1024LL * 1024 * 1024 * 1024, 0, F::BinarySI), "1Ti", "1024Gi"},
      {dec(5, 0, F::BinarySI), "5", "5000m"},
      {dec(500, -3, F::BinarySI), "500m", "0.5"},
      {dec(1, 9, F::DecimalSI), "1G", "1000M"},
      {dec(1000, 6, F::DecimalSI), "1G", "0.001T"},
      {dec(1000000, 3, F::DecimalSI), "1G", ""},
      {dec(1000000000, 0, F::DecimalSI), "1G", ""},
      {dec(1, -3, F::DecimalSI), "1m", "1000u"},
      {dec(80, -3, F::DecimalSI), "80m", ""},
      {dec(1080, -3, F::DecimalSI), "1080m", "1.08"},
      {dec(108, -2, F::DecimalSI), "1080m", "1080000000n"},
      {dec(10800, -4, F::DecimalSI), "1080m", ""},
      {dec(300, 6, F::DecimalSI), "300M", ""},
      {dec(1, 12, F::DecimalSI), "1T", ""},
      {dec(1234567, 6, F::DecimalSI), "1234567M", ""},
      {dec(1234567, -3, F::BinarySI), "1234567m", ""},
      {dec(3, 3, F::DecimalSI), "3k", ""},
      {dec(1025, 0, F::BinarySI), "1025", ""},
      {dec(0, 0, F::DecimalSI), "0", ""},
      {dec(0, 0, F::BinarySI), "0", ""},
      {dec(1, 9, F::DecimalExponent), "1e9", ".001e12"},
      {dec(1, -3, F::DecimalExponent), "1e-3", "0.001e0"},
      {dec(1, -9, F::DecimalExponent), "1e-9", "1000e-12"},
      {dec(80, -3, F::DecimalExponent), "80e-3", ""},
      {dec(300, 6, F::DecimalExponent), "300e6", ""},
      {dec(1, 12, F::DecimalExponent), "1e12", ""},
      {dec(1, 3, F::DecimalExponent), "1e3", ""},
      {dec(3, 3, F::DecimalExponent), "3e3", ""},
      {dec(3, 3, F::DecimalSI), "3k", ""},
      {dec(0, 0, F::DecimalExponent), "0", "00"},
      {dec(1, -9, F::DecimalSI), "1n", ""},
      {dec(80, -9, F::DecimalSI), "80n", ""},
      {dec(1080, -9, F::DecimalSI), "1080n", ""},
      {dec(108, -8, F::DecimalSI), "1080n", ""},
      {dec(10800, -10, F::DecimalSI), "1080n", ""},
      {dec(1, -6, F::DecimalSI), "1u", ""},
      {dec(80, -6, F::DecimalSI), "80u", ""},
      {dec(1080, -6, F::DecimalSI), "1080u", ""},
  };
  for (const auto& c : table) {
    EXPECT_EQ(c.in.toString(), c.expect);
    EXPECT_EQ(q(c.expect).toString(), c.expect);
    if (*c.alternate) {
      EXPECT_EQ(q(c.alternate).toString(), c.expect) << c.alternate;
    }
    if (!c.in.isZero()) {
      EXPECT_EQ(c.in.negated().toString(), std::string("-") + c.expect);
    }
  }
}

TEST(QuantityTest, ParseEmitMatchesUpstream) {
  const std::pair<const char*, const char*> table[] = {
      {"1Ki", "1Ki"},           {"1Mi", "1Mi"},          {"1Gi", "1Gi"},
      {"1024Mi", "1Gi"},        {"1000M", "1G"},         {".001Ki", "1024m"},
      {".000001Ki", "1024u"},   {".000000001Ki", "1024n"}, {".000000000001Ki", "2n"},
      // The canonical forms the brief and kubectl users rely on.
      {"1000m", "1"},           {"1.5Gi", "1536Mi"},     {"0.1", "100m"},
      {"500m", "500m"},         {"2G", "2G"},            {"2Gi", "2Gi"},
      {"1e3", "1e3"},           {"0.5", "500m"},         {"100Ki", "100Ki"},
      {"-1", "-1"},             {".5", "500m"},          {"1E", "1E"},
      {"1.5", "1500m"},         {"2048Ki", "2Mi"},       {"1.1Ki", "1126400m"},
      {"12E", "12E"},          {"1000E", "1e21"},
      // Upstream re-emits input that is already canonical verbatim (its cached string).
      {"+1", "+1"},             {"01", "01"},            {"1.500", "1.500"},
      {"1E3", "1E3"},           {"1025Ki", "1025Ki"},
  };
  for (const auto& [in, out] : table) {
    EXPECT_EQ(q(in).toString(), out) << in;
    std::string neg = std::string("-") + in;
    if (in[0] != '+' && in[0] != '-' && !q(neg).isZero()) {
      auto n = q(neg).toString();
      EXPECT_EQ(n[0], '-') << neg;
    }
  }
  EXPECT_EQ(q("-1024Mi").toString(), "-1Gi");
  EXPECT_EQ(q("-.000000000001Ki").toString(), "-2n");
  // 9Ei is capped at 2^63-1 bytes.
  EXPECT_EQ(q("9Ei").value(), kMostPositive);
  EXPECT_EQ(q("9223372036854775807Ki").toString(), "9223372036854775807");
}

TEST(QuantityTest, NewMilliAndNewQuantityPrintLikeUpstream) {
  EXPECT_EQ(Quantity::fromMilli(1).toString(), "1m");
  EXPECT_EQ(Quantity::fromMilli(1000).toString(), "1");
  EXPECT_EQ(Quantity::fromMilli(1234000).toString(), "1234");
  EXPECT_EQ(Quantity::fromMilli(1024, F::BinarySI).toString(), "1024m");
  EXPECT_EQ(Quantity::fromMilli(1000000, F::DecimalExponent).toString(), "1e3");
  EXPECT_EQ(Quantity::fromMilli(1024 * 1024, F::BinarySI).toString(), "1048576m");
  EXPECT_EQ(Quantity::fromInt(1).toString(), "1");
  EXPECT_EQ(Quantity::fromInt(1000).toString(), "1k");
  EXPECT_EQ(Quantity::fromInt(1234000).toString(), "1234k");
  EXPECT_EQ(Quantity::fromInt(1024, F::BinarySI).toString(), "1Ki");
  EXPECT_EQ(Quantity::fromInt(1000000, F::DecimalExponent).toString(), "1e6");
  EXPECT_EQ(Quantity::fromInt(1024 * 1024, F::BinarySI).toString(), "1Mi");
  // Node memory as kubelet reports it: MemTotal kB * 1024 bytes, BinarySI.
  EXPECT_EQ(Quantity::fromInt(24684084LL * 1024, F::BinarySI).toString(), "24684084Ki");
  EXPECT_EQ(Quantity::fromScaled(1, -9).toString(), "1n");
  EXPECT_EQ(Quantity::fromScaled(1000, -9).toString(), "1u");
  EXPECT_EQ(Quantity::fromScaled(1000, -6).toString(), "1m");
  EXPECT_EQ(Quantity::fromScaled(1000, -3).toString(), "1");
  EXPECT_EQ(Quantity::fromScaled(0, -9).toString(), "0");
}

TEST(QuantityTest, ScaledValueRoundsAwayFromZero) {
  // TestScaledValue
  EXPECT_EQ(Quantity::fromScaled(1, -9).scaledValue(-9), 1);
  EXPECT_EQ(Quantity::fromScaled(1, -9).scaledValue(-6), 1);
  EXPECT_EQ(Quantity::fromScaled(1, -9).milliValue(), 1);
  EXPECT_EQ(Quantity::fromScaled(1, -9).value(), 1);
  EXPECT_EQ(Quantity::fromScaled(1, -6).scaledValue(-9), 1000);
  EXPECT_EQ(Quantity::fromScaled(1, -3).scaledValue(-9), 1000000);
  EXPECT_EQ(Quantity::fromScaled(1, 0).scaledValue(-9), 1000000000);
  EXPECT_EQ(Quantity::fromScaled(1, 2).scaledValue(-2), 10000);
  // RoundUp semantics: -9.01 -> -10 at scale 0.
  EXPECT_EQ(q("9.01").value(), 10);
  EXPECT_EQ(q("-9.01").value(), -10);
  EXPECT_EQ(q("500m").milliValue(), 500);
  EXPECT_EQ(q("2").milliValue(), 2000);
  EXPECT_EQ(q("1.5Gi").value(), 1610612736);
  EXPECT_EQ(q("100Ki").value(), 102400);
  EXPECT_EQ(q("1n").value(), 1);
  // Saturates instead of overflowing.
  EXPECT_EQ(q("100E").value(), kMostPositive);
  EXPECT_EQ(q("-100E").value(), std::numeric_limits<std::int64_t>::min());
}

TEST(QuantityTest, AddSubNegFollowUpstream) {
  // TestAdd / TestSub, including the format rules for zero operands.
  auto add = [](const Quantity& a, const Quantity& b) { return *a.add(b); };
  auto sub = [](const Quantity& a, const Quantity& b) { return *a.sub(b); };
  EXPECT_EQ(add(dec(10, 0, F::DecimalSI), dec(1, 1, F::DecimalSI)), dec(20, 0, F::DecimalSI));
  Quantity r = add(dec(10, 0, F::BinarySI), dec(1, 0, F::DecimalSI));
  EXPECT_EQ(r, dec(11, 0, F::BinarySI));
  EXPECT_EQ(r.format(), F::BinarySI);
  EXPECT_EQ(add(Quantity(), dec(50, 0, F::DecimalSI)), dec(50, 0, F::DecimalSI));
  EXPECT_EQ(sub(dec(10, 0, F::DecimalSI), dec(1, 1, F::DecimalSI)), dec(0, 0, F::DecimalSI));
  EXPECT_EQ(sub(dec(10, 0, F::BinarySI), dec(1, 0, F::DecimalSI)).format(), F::BinarySI);
  EXPECT_EQ(sub(Quantity(), dec(50, 0, F::DecimalSI)), dec(-50, 0, F::DecimalSI));
  // TestQuantityAddZeroPreservesSuffix / SubZero
  for (const char* v : {"100m", "1Gi"}) {
    EXPECT_EQ(add(q(v), q("0")).toString(), v);
    EXPECT_EQ(add(q("0"), q(v)).toString(), v);
    EXPECT_EQ(sub(q(v), q("0")).toString(), v);
    EXPECT_EQ(sub(q("0"), q(v)).toString(), q(v).negated().toString());
  }
  // Kubelet's allocatable arithmetic keeps the capacity's format.
  EXPECT_EQ(sub(q("4"), q("500m")).toString(), "3500m");
  EXPECT_EQ(sub(sub(Quantity::fromInt(24684084LL * 1024, F::BinarySI), q("1Gi")), q("100Mi"))
                .toString(),
            "23533108Ki");
  // TestNeg
  EXPECT_EQ(dec(10, 0, F::BinarySI).negated(), dec(-10, 0, F::BinarySI));
  EXPECT_EQ(Quantity().negated(), Quantity());
}

TEST(QuantityTest, AddSubRoundTripAcrossScales) {
  std::mt19937_64 rng(42);
  for (int k = -10; k <= 10; ++k) {
    Quantity acc;
    std::vector<std::int64_t> order;
    for (int i = 0; i < 100; ++i) {
      auto j = static_cast<std::int64_t>(rng() >> 1);
      order.push_back(j);
      auto next = acc.add(Quantity::fromScaled(j, k));
      ASSERT_TRUE(next.has_value()) << next.error().message();
      acc = *next;
    }
    for (auto j : order) acc = *acc.sub(Quantity::fromScaled(j, k));
    EXPECT_TRUE(acc.isZero()) << acc.toString();
  }
  // Beyond 38 significant digits the sum is reported, not wrapped.
  auto huge = q("1e100");
  auto small = q("1n");
  auto r = huge.add(small);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("out of range"), std::string::npos);
}

TEST(QuantityTest, CompareIsNumeric) {
  // TestQuantityCmp
  EXPECT_EQ(q("0").compare(q("0")), 0);
  EXPECT_EQ(q("100m").compare(q("50m")), 1);
  EXPECT_EQ(q("50m").compare(q("100m")), -1);
  EXPECT_EQ(q("10000T").compare(q("100Gi")), 1);
  EXPECT_EQ(q("1Ki").compare(q("1024")), 0);
  EXPECT_EQ(q("1k"), q("1000"));
  EXPECT_LT(q("-1"), q("1n"));
  EXPECT_LT(q("-2"), q("-1"));
  EXPECT_GT(q("1e20"), q("9Ei"));
  EXPECT_LT(q("999m"), q("1"));
}

}  // namespace
}  // namespace skiff
