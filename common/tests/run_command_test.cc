#include "skiff/common/run_command.h"

#include <gtest/gtest.h>

#include <string>

namespace skiff {
namespace {

TEST(RunCommandTest, CapturesStdoutStderrAndTheExitCode) {
  auto r = runCommand({"sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
}

TEST(RunCommandTest, MergedStderrGoesIntoOut) {
  auto r = runCommand({"sh", "-c", "echo a; echo b >&2"}, {.merge_stderr = true});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->out, "a\nb\n");
  EXPECT_EQ(r->err, "");
}

TEST(RunCommandTest, StdinDataLargerThanAPipeIsFedWithoutDeadlock) {
  std::string big(1 << 20, 'x');  // 1 MiB: 16 pipe buffers, echoed back while being written
  auto r = runCommand({"cat"}, {.stdin_data = big});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->out.size(), big.size());
}

TEST(RunCommandTest, MissingProgramIsExitCode127LikeAShell) {
  auto r = runCommand({"skiff-no-such-program"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->exit_code, 127);
  EXPECT_FALSE(r->err.empty());
}

TEST(RunCommandTest, DeadlineKillsTheProgram) {
  auto r = runCommand({"sleep", "10"}, {.timeout = std::chrono::milliseconds(50)});
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(ErrorCode::Timeout));
  EXPECT_NE(r.error().message().find("'sleep' timed out after 50ms"), std::string::npos);
}

TEST(RunCommandTest, ExplicitEnvironmentReplacesTheInheritedOne) {
  std::vector<std::string> env = {"ONLY=1"};
  auto r = runCommand({"/usr/bin/env"}, {.env = &env});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->out, "ONLY=1\n");
}

}  // namespace
}  // namespace skiff
