// Container create/start/stop/remove of both backends against the fake kernel.
#include <csignal>

#include "runtime_test_fixture.h"
#include "skiff/common/file.h"

namespace skiff::runtime {
namespace {

class ContainerTest : public BothBackendsTest {
 protected:
  void SetUp() override {
    BothBackendsTest::SetUp();
    sandbox_ = runSandbox(sandboxConfig());
  }
  std::string sandbox_;
};

TEST_P(ContainerTest, CreateMountsTheOverlayAndLeavesTheInitWaiting) {
  std::string id = create(sandbox_, containerConfig());
  auto st = status(id);
  EXPECT_EQ(st.state, ContainerState::Created);
  EXPECT_EQ(st.name, "app");
  EXPECT_EQ(st.image_ref, image_.id);
  EXPECT_EQ(st.log_path, options_.log_dir + "/default_web-0_uid-web-0/app/0.log");
  auto mnt = kernel_->mounts().find(containerDir(id) + "/rootfs");
  ASSERT_NE(mnt, kernel_->mounts().end());
  EXPECT_EQ(mnt->second.back().fstype, "overlay");
  EXPECT_EQ(mnt->second.back().data, "lowerdir=" + tmp_ + "/images/" + image_.id.substr(7) +
                                         ",upperdir=" + containerDir(id) +
                                         "/upper,workdir=" + containerDir(id) + "/work");
  const auto* init = kernel_->process(st.pid);
  ASSERT_NE(init, nullptr);
  EXPECT_TRUE(init->alive);
  EXPECT_TRUE(init->waiting_start);
  EXPECT_EQ(init->cgroup, "kubepods/besteffort/poduid-web-0/" + id);
  EXPECT_EQ(images_->useCount(image_.id), 1);
  EXPECT_TRUE(exists(containerDir(id) + "/state.json"));
}

TEST_P(ContainerTest, StartLetsTheInitRun) {
  std::string id = create(sandbox_, containerConfig());
  ASSERT_TRUE(rt_->startContainer(id));
  auto st = status(id);
  EXPECT_EQ(st.state, ContainerState::Running);
  EXPECT_GT(st.started_at_ns, 0);
  EXPECT_FALSE(kernel_->process(st.pid)->waiting_start);
  EXPECT_TRUE(exists(containerDir(id) + "/started"));
  // CRI: starting a running container is a wrong state.
  auto again = rt_->startContainer(id);
  ASSERT_FALSE(again);
  EXPECT_TRUE(again.error().is(ErrorCode::Conflict));
  EXPECT_NE(again.error().message().find("container is Running"), std::string::npos);
}

TEST_P(ContainerTest, StopSendsSigtermAndReportsTheExit) {
  std::string id = create(sandbox_, containerConfig());
  ASSERT_TRUE(rt_->startContainer(id));
  int pid = status(id).pid;
  ASSERT_TRUE(rt_->stopContainer(id, std::chrono::seconds(5)));
  auto st = status(id);
  EXPECT_EQ(st.state, ContainerState::Exited);
  EXPECT_EQ(st.exit_code, 128 + SIGTERM);
  EXPECT_EQ(st.reason, "Error");
  EXPECT_GT(st.finished_at_ns, 0);
  EXPECT_FALSE(kernel_->process(pid)->alive);
  EXPECT_FALSE(kernel_->process(kernel_->process(pid)->shim)->alive);
}

TEST_P(ContainerTest, StopEscalatesToSigkillAfterTheGracePeriod) {
  kernel_->setIgnoreSigtermForTest(true);
  std::string id = create(sandbox_, containerConfig());
  ASSERT_TRUE(rt_->startContainer(id));
  ASSERT_TRUE(rt_->stopContainer(id, std::chrono::milliseconds(20)));
  auto st = status(id);
  EXPECT_EQ(st.state, ContainerState::Exited);
  EXPECT_EQ(st.exit_code, 128 + SIGKILL);
}

TEST_P(ContainerTest, StopOfAnExitedContainerIsANoop) {
  std::string id = create(sandbox_, containerConfig());
  ASSERT_TRUE(rt_->startContainer(id));
  kernel_->exitForTest(status(id).pid, 3);
  ASSERT_TRUE(rt_->stopContainer(id, std::chrono::seconds(1)));
  EXPECT_EQ(status(id).exit_code, 3);  // not overwritten by a signal
}

TEST_P(ContainerTest, StopOfACreatedContainerKillsItsInit) {
  std::string id = create(sandbox_, containerConfig());
  int pid = status(id).pid;
  ASSERT_TRUE(rt_->stopContainer(id, std::chrono::seconds(1)));
  EXPECT_FALSE(kernel_->process(pid)->alive);
  auto st = status(id);
  EXPECT_EQ(st.state, ContainerState::Exited);
  EXPECT_EQ(st.reason, "StartError");  // it never started
}

TEST_P(ContainerTest, ExitOfTheCommandIsCompletedOrError) {
  std::string ok_id = create(sandbox_, containerConfig("ok"));
  std::string bad_id = create(sandbox_, containerConfig("bad"));
  ASSERT_TRUE(rt_->startContainer(ok_id));
  ASSERT_TRUE(rt_->startContainer(bad_id));
  kernel_->exitForTest(status(ok_id).pid, 0);
  kernel_->exitForTest(status(bad_id).pid, 2);
  EXPECT_EQ(status(ok_id).reason, "Completed");
  EXPECT_EQ(status(bad_id).reason, "Error");
  EXPECT_EQ(status(bad_id).exit_code, 2);
  auto waited = rt_->waitContainer(ok_id, std::chrono::seconds(1));
  ASSERT_TRUE(waited);
  EXPECT_EQ(waited->state, ContainerState::Exited);
}

TEST_P(ContainerTest, WaitOnARunningContainerTimesOut) {
  std::string id = create(sandbox_, containerConfig());
  ASSERT_TRUE(rt_->startContainer(id));
  auto waited = rt_->waitContainer(id, std::chrono::milliseconds(10));
  ASSERT_FALSE(waited);
  EXPECT_TRUE(waited.error().is(ErrorCode::Timeout));
}

TEST_P(ContainerTest, RemoveLeavesNoMountProcessCgroupOrState) {
  std::string id = create(sandbox_, containerConfig());
  ASSERT_TRUE(rt_->startContainer(id));
  std::string cgroup = kernel_->process(status(id).pid)->cgroup;
  auto removed = rt_->removeContainer(id);
  ASSERT_TRUE(removed) << removed.error().message();
  EXPECT_TRUE(*removed);
  EXPECT_FALSE(kernel_->mounts().count(containerDir(id) + "/rootfs"));
  EXPECT_FALSE(kernel_->hasCgroup(cgroup));
  EXPECT_TRUE(kernel_->runcContainers().empty());
  EXPECT_FALSE(exists(containerDir(id)));
  EXPECT_EQ(images_->useCount(image_.id), 0);
  auto st = rt_->containerStatus(id);
  ASSERT_FALSE(st);
  EXPECT_TRUE(st.error().is(ErrorCode::NotFound));
  // The sandbox's namespaces stay; only the container went.
  EXPECT_EQ(kernel_->mounts().size(), 3u);
  EXPECT_FALSE(*rt_->removeContainer(id));  // unknown: false
}

TEST_P(ContainerTest, RemoveOfARunningContainerKillsIt) {
  std::string id = create(sandbox_, containerConfig());
  ASSERT_TRUE(rt_->startContainer(id));
  int pid = status(id).pid;
  ASSERT_TRUE(rt_->removeContainer(id));
  EXPECT_FALSE(kernel_->process(pid)->alive);
  EXPECT_EQ(kernel_->process(pid)->exit_code, 128 + SIGKILL);
  EXPECT_TRUE(kernel_->livePids().empty());
}

TEST_P(ContainerTest, NameIsUniquePerSandboxAndAttempt) {
  create(sandbox_, containerConfig("app"));
  auto dup = rt_->createContainer(sandbox_, containerConfig("app"));
  ASSERT_FALSE(dup);
  EXPECT_TRUE(dup.error().is(ErrorCode::AlreadyExists));
  EXPECT_NE(dup.error().message().find("name already in use in sandbox (attempt 0)"),
            std::string::npos);
  auto restart = containerConfig("app");
  restart.attempt = 1;
  std::string id = create(sandbox_, restart);
  EXPECT_EQ(status(id).log_path, options_.log_dir + "/default_web-0_uid-web-0/app/1.log");
  std::string other = runSandbox(sandboxConfig("web-1"));
  EXPECT_FALSE(create(other, containerConfig("app")).empty());
}

TEST_P(ContainerTest, ContainerIsFoundByIdPrefixAndByName) {
  std::string id = create(sandbox_, containerConfig("app"));
  EXPECT_EQ(status(id.substr(0, 6)).id, id);
  EXPECT_EQ(status("app").id, id);
  auto missing = rt_->containerStatus("nothing");
  ASSERT_FALSE(missing);
  EXPECT_TRUE(missing.error().is(ErrorCode::NotFound));
}

TEST_P(ContainerTest, ListContainersFiltersBySandboxAndState) {
  std::string a = create(sandbox_, containerConfig("a"));
  std::string b = create(sandbox_, containerConfig("b"));
  std::string other = runSandbox(sandboxConfig("web-1"));
  std::string c = create(other, containerConfig("c"));
  ASSERT_TRUE(rt_->startContainer(b));
  EXPECT_EQ(rt_->listContainers({})->size(), 3u);
  auto in_sandbox = rt_->listContainers({sandbox_, std::nullopt});
  ASSERT_EQ(in_sandbox->size(), 2u);
  EXPECT_EQ((*in_sandbox)[0].id, a);  // by creation time
  auto running = rt_->listContainers({"", ContainerState::Running});
  ASSERT_EQ(running->size(), 1u);
  EXPECT_EQ(running->front().id, b);
  EXPECT_EQ(rt_->listContainers({other, ContainerState::Created})->front().id, c);
}

TEST_P(ContainerTest, StatsComeFromTheContainersCgroup) {
  std::string id = create(sandbox_, containerConfig());
  std::string cgroup = kernel_->process(status(id).pid)->cgroup;
  sys::CgroupUsage u;
  u.cpu_usage_ns = 123456789;
  u.memory_usage_bytes = 50 << 20;
  u.memory_working_set_bytes = 30 << 20;
  kernel_->setUsageForTest(cgroup, u);
  auto stats = rt_->containerStats(id);
  ASSERT_TRUE(stats) << stats.error().message();
  EXPECT_EQ(stats->id, id);
  EXPECT_EQ(stats->cpu_usage_core_ns, 123456789u);
  EXPECT_EQ(stats->memory_working_set_bytes, 30u << 20);
  EXPECT_GT(stats->timestamp_ns, 0);
}

TEST_P(ContainerTest, ExecSyncRunsSkiffInitInTheContainer) {
  std::string id = create(sandbox_, containerConfig());
  auto not_running = rt_->execSync(id, {"true"}, std::chrono::seconds(1));
  ASSERT_FALSE(not_running);
  EXPECT_TRUE(not_running.error().is(ErrorCode::Conflict));
  ASSERT_TRUE(rt_->startContainer(id));
  kernel_->setExecHandlerForTest([](const std::vector<std::string>& cmd) {
    return sys::RunResult{cmd.size() == 2 && cmd[1] == "hi" ? 0 : 1, cmd[1] + "\n", ""};
  });
  auto res = rt_->execSync(id, {"echo", "hi"}, std::chrono::seconds(1));
  ASSERT_TRUE(res) << res.error().message();
  EXPECT_EQ(res->exit_code, 0);
  EXPECT_EQ(res->stdout_data, "hi\n");
  const auto& argv = kernel_->commands().back();
  EXPECT_EQ(argv[1], "exec");
  EXPECT_EQ(argv[2], containerDir(id) + "/spec.json");
  EXPECT_EQ(argv[3], std::to_string(status(id).pid));
  auto empty = rt_->execSync(id, {}, std::chrono::seconds(1));
  ASSERT_FALSE(empty);
  EXPECT_TRUE(empty.error().is(ErrorCode::Invalid));
}

TEST_P(ContainerTest, ExecSessionWithATtyCanBeResized) {
  std::string id = create(sandbox_, containerConfig());
  ASSERT_TRUE(rt_->startContainer(id));
  ExecOptions sh;
  sh.cmd = {"sh"};
  sh.tty = sh.stdin_open = true;
  auto tty = rt_->exec(id, sh);
  ASSERT_TRUE(tty) << tty.error().message();
  EXPECT_TRUE((*tty)->resize(80, 24));
  EXPECT_EQ((*tty)->stderrFd(), -1);  // a terminal merges the streams
  EXPECT_EQ(*(*tty)->wait(), 0);
  ExecOptions ls;
  ls.cmd = {"ls"};
  auto pipes = rt_->exec(id, ls);
  ASSERT_TRUE(pipes);
  EXPECT_GE((*pipes)->stdoutFd(), 0);
  EXPECT_GE((*pipes)->stderrFd(), 0);
  EXPECT_EQ((*pipes)->stdinFd(), -1);
  auto resize = (*pipes)->resize(80, 24);
  ASSERT_FALSE(resize);
  EXPECT_TRUE(resize.error().is(ErrorCode::Invalid));
  ls.env = {"NOEQUALS"};
  auto bad_env = rt_->exec(id, ls);
  ASSERT_FALSE(bad_env);
  EXPECT_NE(bad_env.error().message().find("bad env 'NOEQUALS'"), std::string::npos);
}

TEST_P(ContainerTest, AttachNeedsALiveContainer) {
  std::string id = create(sandbox_, containerConfig());
  ASSERT_TRUE(rt_->stopContainer(id, std::chrono::seconds(1)));
  auto a = rt_->attach(id, false);
  ASSERT_FALSE(a);
  EXPECT_TRUE(a.error().is(ErrorCode::Conflict));
}

TEST_P(ContainerTest, KilledShimWithoutExitRecordIsUnknown) {
  std::string id = create(sandbox_, containerConfig());
  ASSERT_TRUE(rt_->startContainer(id));
  int pid = status(id).pid;
  ASSERT_TRUE(*kernel_->kill(kernel_->process(pid)->shim, SIGKILL));
  EXPECT_EQ(status(id).state, ContainerState::Running);  // the init still runs
  ASSERT_TRUE(*kernel_->kill(pid, SIGKILL));
  auto st = status(id);
  EXPECT_EQ(st.state, ContainerState::Exited);
  EXPECT_EQ(st.reason, "Unknown");
  EXPECT_EQ(st.exit_code, 255);
}

INSTANTIATE_TEST_SUITE_P(Runtime, ContainerTest, ::testing::Values(Backend::Native, Backend::Runc),
                         backendTestName);

}  // namespace
}  // namespace skiff::runtime
