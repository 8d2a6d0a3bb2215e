#include "skiff/agent/cri_log.h"

#include <gtest/gtest.h>

namespace skiff::agent {
namespace {

constexpr const char* kLog =
    "2024-01-02T03:04:05.000000001Z stdout F one\n"
    "2024-01-02T03:04:06.5Z stderr P two-\n"
    "2024-01-02T03:04:06.6Z stderr F part\n"
    "garbage line\n"
    "2024-01-02T03:04:07+01:00 stdout F three\n";

TEST(CriLogTest, ParsesLines) {
  auto l = parseCriLogLine("2024-01-02T03:04:05.123Z stderr P hello world");
  ASSERT_TRUE(l);
  EXPECT_EQ(l->stream, "stderr");
  EXPECT_TRUE(l->partial);
  EXPECT_EQ(l->content, "hello world");
  EXPECT_EQ(l->unix_ns % 1000000000, 123000000);
  EXPECT_FALSE(parseCriLogLine("nope"));
  EXPECT_FALSE(parseCriLogLine("2024-01-02T03:04:05Z stdin F x"));
}

TEST(CriLogTest, RendersJoinedLinesWithOptions) {
  EXPECT_EQ(renderCriLog(kLog, {}), "one\ntwo-part\nthree\n");
  LogOptions tail;
  tail.tail_lines = 1;
  EXPECT_EQ(renderCriLog(kLog, tail), "three\n");
  LogOptions ts;
  ts.timestamps = true;
  ts.tail_lines = 2;
  EXPECT_EQ(renderCriLog(kLog, ts),
            "2024-01-02T03:04:06.5Z two-part\n2024-01-02T03:04:07+01:00 three\n");
  LogOptions since;
  since.since_unix_ns = *parseRfc3339Nano("2024-01-02T03:04:06Z");
  // three is at 02:04:07Z (+01:00), so only two-part is newer.
  EXPECT_EQ(renderCriLog(kLog, since), "two-part\n");
  LogOptions limit;
  limit.limit_bytes = 5;
  EXPECT_EQ(renderCriLog(kLog, limit), "one\nt");
}

TEST(CriLogTest, ALastPartialRecordIsOutputWithoutANewline) {
  // `echo -n DONE` then exit: the runtime leaves a partial record, shown as written.
  std::string log = std::string(kLog) + "2024-01-02T03:04:08Z stdout P DONE\n";
  EXPECT_EQ(renderCriLog(log, {}), "one\ntwo-part\nthree\nDONE");
  LogOptions tail;
  tail.tail_lines = 2;
  EXPECT_EQ(renderCriLog(log, tail), "three\nDONE");
}

TEST(CriLogTest, FollowerHandlesSplitWrites) {
  CriLogFollower f({});
  EXPECT_EQ(f.feed("2024-01-02T03:04:05Z stdout F he"), "");
  EXPECT_EQ(f.feed("llo\n2024-01-02T03:04:05Z stdout P a"), "hello\n");
  EXPECT_EQ(f.feed("\n2024-01-02T03:04:05Z stdout F b\n"), "ab\n");
}

}  // namespace
}  // namespace skiff::agent
