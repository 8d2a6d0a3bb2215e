#include "skiff/common/rfc3339.h"

#include <gtest/gtest.h>

namespace skiff {
namespace {

using namespace std::chrono;

SystemTime at(long long secs, long long ns = 0) {
  return SystemTime(duration_cast<SystemTime::duration>(seconds(secs) + nanoseconds(ns)));
}

TEST(Rfc3339Test, FormatsSecondsMicroAndNano) {
  SystemTime t = at(1767323045, 123456789);  // 2026-01-02T03:04:05.123456789Z
  EXPECT_EQ(formatRfc3339(t), "2026-01-02T03:04:05Z");
  EXPECT_EQ(formatRfc3339Micro(t), "2026-01-02T03:04:05.123456Z");
  EXPECT_EQ(formatRfc3339Nano(t), "2026-01-02T03:04:05.123456789Z");
  EXPECT_EQ(formatRfc3339Nano(at(1767323045)), "2026-01-02T03:04:05.000000000Z");
}

TEST(Rfc3339Test, ParsesZuluOffsetsAndFractions) {
  EXPECT_EQ(parseRfc3339("2026-01-02T03:04:05Z"), at(1767323045));
  EXPECT_EQ(parseRfc3339("2026-01-02T03:04:05.5Z"), at(1767323045, 500000000));
  EXPECT_EQ(parseRfc3339("2026-01-02T03:04:05.123456789123Z"), at(1767323045, 123456789));
  EXPECT_EQ(parseRfc3339("2026-01-02T05:04:05+02:00"), at(1767323045));
  EXPECT_EQ(parseRfc3339("2026-01-01T22:04:05-05:00"), at(1767323045));
  auto round = parseRfc3339(formatRfc3339Nano(at(1767323045, 7)));
  EXPECT_EQ(round, at(1767323045, 7));
}

TEST(Rfc3339Test, RejectsWhatIsNotRfc3339) {
  for (const char* bad :
       {"", "2026-01-02", "2026-01-02T03:04:05", "2026-01-02 03:04:05Z", "2026-13-02T03:04:05Z",
        "2026-01-02T03:04:05.Z", "2026-01-02T03:04:05Zjunk", "2026-01-02T03:04:05+0200",
        "x026-01-02T03:04:05Z"}) {
    EXPECT_FALSE(parseRfc3339(bad)) << bad;
  }
}

}  // namespace
}  // namespace skiff
