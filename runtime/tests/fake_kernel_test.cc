// The fake kernel is a model the runtime tests rely on: it gets tests of its own (as kube-proxy's
// testing/fake_test.go and netproxy's fake_netlink_test.cc).
#include "skiff/runtime/testing/fake_kernel.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <csignal>
#include <filesystem>

#include "skiff/common/file.h"
#include "skiff/common/testing/temp_dir.h"

namespace skiff::runtime::testing {
namespace {

class FakeKernelTest : public ::testing::Test {
 protected:
  skiff::testing::TempDir temp_dir_{"fakek"};
  void SetUp() override { std::filesystem::create_directories(tmp_ + "/c1/rootfs"); }

  // Launches a container the way the runtime does; returns the shim's report.
  std::string launchNative() {
    EXPECT_TRUE(writeFileReplace(tmp_ + "/c1/spec.json", "{}"));
    if (!k_.fifos().count(tmp_ + "/c1/start.fifo")) {
      EXPECT_TRUE(k_.mkfifo(tmp_ + "/c1/start.fifo", 0622));
    }
    auto report = k_.spawnDetached({"skiff-shim", "--dir", tmp_ + "/c1", "--oom-file",
                                    std::string(kFakeCgroupRoot) + "/pod/c1/memory.events",
                                    "--native", "skiff-init", tmp_ + "/c1/spec.json"},
                                   std::chrono::seconds(1));
    EXPECT_TRUE(report);
    return report ? *report : "";
  }
  std::pair<pid_t, pid_t> pids(const std::string& report) {
    pid_t init = 0, shim = 0;
    std::sscanf(report.c_str(), "ok %d %d", &init, &shim);
    return {init, shim};
  }

  const std::string tmp_ = temp_dir_.path();
  FakeKernel k_;
};

TEST_F(FakeKernelTest, MountsStackPerTargetAndUnmountPopsTheTop) {
  std::string target = tmp_ + "/c1/rootfs";
  ASSERT_TRUE(k_.mount("overlay", target, "overlay", 0, "lowerdir=/a"));
  ASSERT_TRUE(k_.mount("tmpfs", target, "tmpfs", 0, ""));
  EXPECT_EQ(k_.mounts().at(target).size(), 2u);
  EXPECT_TRUE(*k_.umount(target, 0));
  EXPECT_EQ(k_.mounts().at(target).back().fstype, "overlay");
  EXPECT_TRUE(*k_.umount(target, 0));
  EXPECT_FALSE(*k_.umount(target, 0));  // nothing mounted: false, as EINVAL maps to
  auto missing = k_.mount("overlay", tmp_ + "/nope", "overlay", 0, "");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().sysErrno(), ENOENT);
}

TEST_F(FakeKernelTest, HeldNamespacesAreNsfsMountsWithAHostname) {
  for (const char* f : {"net", "ipc", "uts"}) ASSERT_TRUE(writeFileReplace(tmp_ + "/" + f, ""));
  ASSERT_TRUE(k_.holdNamespaces({tmp_ + "/net", tmp_ + "/ipc", tmp_ + "/uts", "web"}));
  EXPECT_EQ(k_.mounts().at(tmp_ + "/net").back().fstype, "nsfs");
  EXPECT_EQ(k_.hostnameAt(tmp_ + "/uts"), "web");
  ASSERT_TRUE(k_.umount(tmp_ + "/uts", 0));
  EXPECT_EQ(k_.hostnameAt(tmp_ + "/uts"), std::nullopt);  // no longer held
  auto missing_file = k_.holdNamespaces({"", tmp_ + "/x", tmp_ + "/y", "web"});
  ASSERT_FALSE(missing_file);
  EXPECT_EQ(missing_file.error().sysErrno(), ENOENT);
}

TEST_F(FakeKernelTest, NativeLaunchNeedsTheCgroupTheRuntimeMade) {
  std::string no_cgroup = launchNative();
  EXPECT_EQ(no_cgroup.rfind("error join cgroup 'pod/c1'", 0), 0u) << no_cgroup;
  EXPECT_TRUE(k_.livePids().empty());
  ASSERT_TRUE(k_.createCgroup("pod/c1", {}, false));
  auto [init, shim] = pids(launchNative());
  ASSERT_GT(init, 0);
  EXPECT_TRUE(k_.process(init)->waiting_start);
  EXPECT_EQ(k_.process(init)->shim, shim);
  EXPECT_EQ(k_.cgroups().at("pod/c1").procs, std::set<pid_t>{init});
  EXPECT_TRUE(k_.hasCgroup("pod"));  // ancestors exist
}

TEST_F(FakeKernelTest, StartFifoReleasesOnlyTheInitWaitingOnIt) {
  ASSERT_TRUE(k_.createCgroup("pod/c1", {}, false));
  auto [init, shim] = pids(launchNative());
  auto other = k_.readStartFifo(tmp_ + "/other.fifo", std::chrono::seconds(1));
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().sysErrno(), ENOENT);
  ASSERT_TRUE(k_.readStartFifo(tmp_ + "/c1/start.fifo", std::chrono::seconds(1)));
  EXPECT_FALSE(k_.process(init)->waiting_start);
  // Nobody waits any more: a second read is what a dead init gives.
  EXPECT_FALSE(k_.readStartFifo(tmp_ + "/c1/start.fifo", std::chrono::seconds(1)));
}

TEST_F(FakeKernelTest, ShimRecordsTheExitWhenTheInitDies) {
  ASSERT_TRUE(k_.createCgroup("pod/c1", {}, false));
  auto [init, shim] = pids(launchNative());
  EXPECT_GT(k_.processStartTime(init), 0u);
  ASSERT_TRUE(*k_.kill(init, SIGTERM));
  EXPECT_EQ(k_.processStartTime(init), 0u);
  EXPECT_FALSE(k_.process(shim)->alive);
  auto rec = readFile(tmp_ + "/c1/exit");
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->substr(0, 4), "143 ");
  EXPECT_EQ(rec->substr(rec->size() - 6), " 0 15\n");  // no OOM kill, SIGTERM
  EXPECT_TRUE(k_.cgroups().at("pod/c1").procs.empty());
  EXPECT_FALSE(*k_.kill(init, SIGKILL));  // gone: ESRCH is false
  EXPECT_TRUE(*k_.waitForPidExit(shim, std::chrono::milliseconds(1)));
}

TEST_F(FakeKernelTest, SigtermIsIgnoredWhenAskedButSigkillIsNot) {
  ASSERT_TRUE(k_.createCgroup("pod/c1", {}, false));
  k_.setIgnoreSigtermForTest(true);
  auto [init, shim] = pids(launchNative());
  ASSERT_TRUE(*k_.kill(init, SIGTERM));
  EXPECT_TRUE(k_.process(init)->alive);
  EXPECT_FALSE(*k_.waitForPidExit(shim, std::chrono::milliseconds(1)));
  ASSERT_TRUE(*k_.kill(init, SIGKILL));
  EXPECT_EQ(k_.process(init)->exit_code, 137);
}

TEST_F(FakeKernelTest, RuncCreatesTheCgroupAndStartDeleteFollowItsRules) {
  ASSERT_TRUE(writeFileReplace(tmp_ + "/c1/config.json", "{}"));
  auto report = k_.spawnDetached({"skiff-shim", "--dir", tmp_ + "/c1", "--oom-file",
                                  std::string(kFakeCgroupRoot) + "/pod/c1/memory.events", "--runc",
                                  "runc", tmp_ + "/runc", tmp_ + "/c1", "c1"},
                                 std::chrono::seconds(1));
  ASSERT_TRUE(report);
  auto [init, shim] = pids(*report);
  EXPECT_TRUE(k_.hasCgroup("pod/c1"));
  EXPECT_EQ(k_.runcContainers(), std::set<std::string>{"c1"});
  auto start = [&] {
    return *k_.runCommand({"runc", "--root", "r", "start", "c1"}, std::chrono::seconds(1));
  };
  EXPECT_EQ(start().exit_code, 0);
  EXPECT_EQ(start().err, "cannot start an already running container\n");
  auto del = *k_.runCommand({"runc", "--root", "r", "delete", "c1"}, std::chrono::seconds(1));
  EXPECT_EQ(del.exit_code, 1);  // running: needs --force
  auto force =
      *k_.runCommand({"runc", "--root", "r", "delete", "--force", "c1"}, std::chrono::seconds(1));
  EXPECT_EQ(force.exit_code, 0);
  EXPECT_FALSE(k_.process(init)->alive);
  EXPECT_FALSE(k_.hasCgroup("pod/c1"));
  EXPECT_TRUE(k_.runcContainers().empty());
  // runc delete --force of what it does not know succeeds, as runc's does.
  EXPECT_EQ(
      k_.runCommand({"runc", "--root", "r", "delete", "--force", "c1"}, std::chrono::seconds(1))
          ->exit_code,
      0);
}

TEST_F(FakeKernelTest, RemovingACgroupKillsItsMembersAndABusyOneStays) {
  ASSERT_TRUE(k_.createCgroup("pod/c1", {}, false));
  auto [init, shim] = pids(launchNative());
  auto busy = k_.removeCgroup("pod");
  ASSERT_FALSE(busy);
  EXPECT_TRUE(busy.error().is(ErrorCode::Unavailable));
  EXPECT_TRUE(*k_.removeCgroup("pod/c1"));
  EXPECT_FALSE(k_.process(init)->alive);
  EXPECT_TRUE(*k_.removeCgroup("pod"));
  EXPECT_FALSE(*k_.removeCgroup("pod"));  // absent: false
  auto dots = k_.createCgroup("pod/../etc", {}, false);
  ASSERT_FALSE(dots);
  EXPECT_TRUE(dots.error().is(ErrorCode::Invalid));
}

TEST_F(FakeKernelTest, InjectedFailureHitsOnlyTheNextCallAndChangesNothing) {
  k_.failNextForTest("mount", Error::fromErrno(EPERM, "mount"));
  auto first = k_.mount("overlay", tmp_ + "/c1/rootfs", "overlay", 0, "");
  ASSERT_FALSE(first);
  EXPECT_EQ(first.error().sysErrno(), EPERM);
  EXPECT_TRUE(k_.mounts().empty());
  EXPECT_TRUE(k_.mount("overlay", tmp_ + "/c1/rootfs", "overlay", 0, ""));
}

TEST_F(FakeKernelTest, ExecNeedsTheContainerProcessAlive) {
  ASSERT_TRUE(k_.createCgroup("pod/c1", {}, false));
  auto [init, shim] = pids(launchNative());
  k_.setExecHandlerForTest([](const std::vector<std::string>& cmd) {
    return sys::RunResult{7, cmd.front(), ""};
  });
  auto run = [&] {
    return *k_.runCommand({"skiff-init", "exec", "spec.json", std::to_string(init), "--", "id"},
                          std::chrono::seconds(1));
  };
  EXPECT_EQ(run().exit_code, 7);
  EXPECT_EQ(run().out, "id");
  k_.exitForTest(init, 0);
  EXPECT_EQ(run().exit_code, 1);
  EXPECT_EQ(k_.runCommand({"nonexistent"}, std::chrono::seconds(1))->exit_code, 127);
}

TEST_F(FakeKernelTest, SpawnedProcessRunsToCompletionWhenWaitedFor) {
  auto pid = k_.spawn({"skiff-init", "exec"}, {});
  ASSERT_TRUE(pid);
  EXPECT_GT(k_.processStartTime(*pid), 0u);
  EXPECT_EQ(*k_.waitPid(*pid), 0);
  EXPECT_EQ(k_.process(*pid), nullptr);  // reaped
  EXPECT_FALSE(k_.waitPid(*pid));        // ECHILD
}

TEST(FakeImageStoreTest, PinnedImageCannotBeRemoved) {
  FakeImageStore store("/nonexistent-skiff-images");
  Image img = store.add("docker.io/library/busybox:latest", {});
  EXPECT_EQ(store.get(img.id)->names.front(), "docker.io/library/busybox:latest");
  store.markUsed(img.id, 1);
  auto pinned = store.remove(img.id);
  ASSERT_FALSE(pinned);
  EXPECT_TRUE(pinned.error().is(ErrorCode::Conflict));
  store.markUsed(img.id, -1);
  EXPECT_TRUE(*store.remove(img.id));
  EXPECT_TRUE(store.get(img.id).error().is(ErrorCode::NotFound));
}

}  // namespace
}  // namespace skiff::runtime::testing
