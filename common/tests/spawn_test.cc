#include "skiff/common/spawn.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <sstream>
#include <string>

#include "skiff/common/unique_fd.h"

namespace skiff {
namespace {

// Runs argv with stdout (and stderr) on a pipe; returns {exit code, what it wrote}.
std::pair<int, std::string> run(const std::vector<std::string>& argv, SpawnOptions opts = {}) {
  int p[2];
  EXPECT_EQ(::pipe2(p, O_CLOEXEC), 0);
  UniqueFd r(p[0]), w(p[1]);
  opts.stdout_fd = w.get();
  auto pid = spawnProcess(argv, opts);
  w.reset();
  if (!pid) return {-1, pid.error().message()};
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(r.get(), buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  return {waitForExit(*pid), out};
}

std::string statusField(const std::string& status, const std::string& name) {
  std::istringstream in(status);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name + ":", 0) == 0)
      return line.substr(line.find_first_not_of(" \t", name.size() + 1));
  }
  return "";
}

TEST(SpawnTest, RunsWithPipedOutputAndReportsExitCodesAndSignals) {
  EXPECT_EQ(run({"echo", "hello"}, {.search_path = true}),
            std::make_pair(0, std::string("hello\n")));
  EXPECT_EQ(run({"/bin/sh", "-c", "exit 3"}).first, 3);
  EXPECT_EQ(run({"/bin/sh", "-c", "kill -9 $$"}).first, 128 + SIGKILL);
  // Without search_path a bare name is not looked up.
  EXPECT_FALSE(spawnProcess({"echo", "x"}));
}

TEST(SpawnTest, AMissingProgramIsAnExecFailureError) {
  auto pid = spawnProcess({"/nonexistent/skiff-no-such-program"});
  ASSERT_FALSE(pid);
  EXPECT_TRUE(isExecFailure(pid.error()));
  EXPECT_EQ(pid.error().sysErrno(), ENOENT);
  EXPECT_NE(pid.error().message().find("/nonexistent/skiff-no-such-program"), std::string::npos);
  auto bare = spawnProcess({"skiff-no-such-program"}, {.search_path = true});
  ASSERT_FALSE(bare);
  EXPECT_TRUE(isExecFailure(bare.error()));
  EXPECT_FALSE(isExecFailure(Error::fromErrno(EAGAIN, "fork")));
}

TEST(SpawnTest, EnvironmentIsReplacedWhenGiven) {
  std::vector<std::string> env = {"SKIFF_SPAWN_TEST=set"};
  EXPECT_EQ(run({"/bin/sh", "-c", "echo \"$SKIFF_SPAWN_TEST:$HOME\""}, {.env = &env}).second,
            "set:\n");
  ::setenv("SKIFF_SPAWN_TEST", "inherited", 1);
  EXPECT_EQ(run({"/bin/sh", "-c", "echo \"$SKIFF_SPAWN_TEST\""}).second, "inherited\n");
  ::unsetenv("SKIFF_SPAWN_TEST");
}

// A daemon that ignores SIGPIPE and blocks signals in the calling thread must not hand either
// to the programs it runs.
TEST(SpawnTest, ChildStartsWithDefaultSignalsAndNoneBlocked) {
  struct sigaction old_pipe {};
  struct sigaction ign {};
  ign.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGPIPE, &ign, &old_pipe), 0);
  sigset_t term, old_mask;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &term, &old_mask), 0);
  auto [code, status] = run({"/bin/cat", "/proc/self/status"});
  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  ::sigaction(SIGPIPE, &old_pipe, nullptr);
  ASSERT_EQ(code, 0);
  // Masks of signals 1..64, bit n-1 for signal n. (glibc keeps two real-time signals of its
  // own out of reach, so the ignored set is checked for SIGPIPE, not for being empty.)
  auto has = [](const std::string& mask, int sig) {
    return (std::stoull(mask, nullptr, 16) >> (sig - 1)) & 1;
  };
  ASSERT_FALSE(statusField(status, "SigIgn").empty()) << status;
  EXPECT_FALSE(has(statusField(status, "SigIgn"), SIGPIPE));
  EXPECT_EQ(statusField(status, "SigBlk"), "0000000000000000");
}

TEST(SpawnTest, StdinExtraFdsAndNewSession) {
  int in[2], extra[2];
  ASSERT_EQ(::pipe2(in, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(extra, O_CLOEXEC), 0);
  UniqueFd in_r(in[0]), in_w(in[1]), extra_r(extra[0]), extra_w(extra[1]);
  ASSERT_EQ(::write(in_w.get(), "from stdin\n", 11), 11);
  in_w.reset();
  SpawnOptions o{.stdin_fd = in_r.get(), .extra_fds = {extra_w.get()}};
  auto [code, out] = run({"/bin/sh", "-c", "cat; echo on-fd-3 >&3"}, o);
  extra_w.reset();
  EXPECT_EQ(code, 0);
  EXPECT_EQ(out, "from stdin\n");
  char buf[64] = {};
  EXPECT_EQ(::read(extra_r.get(), buf, sizeof buf - 1), 8);
  EXPECT_STREQ(buf, "on-fd-3\n");
  // stdin defaults to /dev/null: cat ends at once.
  EXPECT_EQ(run({"/bin/cat"}), std::make_pair(0, std::string()));
  // In a new session the child leads it: field 6 of /proc/self/stat (session) is its pid.
  auto [c3, self] = run({"/bin/sh", "-c", "cut -d' ' -f1,6 /proc/$$/stat"}, {.new_session = true});
  ASSERT_EQ(c3, 0);
  std::istringstream fields(self);
  std::string pid, sid;
  fields >> pid >> sid;
  EXPECT_EQ(pid, sid);
  auto [c4, same] = run({"/bin/sh", "-c", "cut -d' ' -f1,6 /proc/$$/stat"});
  std::istringstream f2(same);
  f2 >> pid >> sid;
  EXPECT_NE(pid, sid);
}

}  // namespace
}  // namespace skiff
