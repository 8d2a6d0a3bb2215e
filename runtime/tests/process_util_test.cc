// runInVforkChild: the shared-memory child the runtime uses for syscall-only helpers.
#include "process_util.h"

#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstring>
#include <string>

namespace skiff::runtime {
namespace {

TEST(RunInVforkChildTest, ReturnsTheChildsStatusAndItsWritesAreSeen) {
  int seen_pid = 0;
  auto status = runInVforkChild([&] {
    seen_pid = ::getpid();  // memory is shared: the parent sees this
    return 7;
  });
  ASSERT_TRUE(status) << status.error().message();
  EXPECT_EQ(*status, 7);
  EXPECT_NE(seen_pid, 0);
  EXPECT_NE(seen_pid, ::getpid());  // it was another process
}

TEST(RunInVforkChildTest, ASignalIsReportedAs128PlusItsNumber) {
  auto status = runInVforkChild([] {
    ::kill(::getpid(), SIGKILL);
    return 0;
  });
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 128 + SIGKILL);
}

TEST(RunInVforkChildTest, NamespacesTheChildUnsharesStayItsOwn) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs CAP_SYS_ADMIN (run as root)";
  utsname before{};
  ::uname(&before);
  int err = -1;
  auto status = runInVforkChild([&] {
    static const char kName[] = "skiff-vfork-child";
    err = (::unshare(CLONE_NEWUTS) == 0 && ::sethostname(kName, sizeof kName - 1) == 0) ? 0 : errno;
    return err == 0 ? 0 : 1;
  });
  ASSERT_TRUE(status);
  EXPECT_EQ(err, 0) << std::strerror(err);
  EXPECT_EQ(*status, 0);
  utsname after{};
  ::uname(&after);
  EXPECT_STREQ(after.nodename, before.nodename);
}

}  // namespace
}  // namespace skiff::runtime
