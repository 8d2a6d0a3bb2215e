// Rollback (a failed create or start leaves nothing running, mounted or in a cgroup), re-adoption
// from the state dir, and what differs between the backends.
#include <csignal>
#include <nlohmann/json.hpp>

#include "runtime_test_fixture.h"
#include "skiff/common/file.h"

namespace skiff::runtime {
namespace {

class RollbackTest : public BothBackendsTest {
 protected:
  void SetUp() override {
    BothBackendsTest::SetUp();
    sandbox_ = runSandbox(sandboxConfig());
    pod_cgroup_ = "kubepods/besteffort/poduid-web-0";
  }
  // Nothing of a container is left: only the sandbox's three namespace mounts, no process, no
  // container cgroup, no runc state, no container dir, no image pin.
  void expectNothingLeft() {
    EXPECT_EQ(kernel_->mounts().size(), 3u);
    EXPECT_TRUE(kernel_->livePids().empty());
    for (const auto& cg : kernel_->cgroupsUnder(pod_cgroup_))
      EXPECT_EQ(cg, pod_cgroup_) << "container cgroup left: " << cg;
    EXPECT_TRUE(kernel_->runcContainers().empty());
    EXPECT_TRUE(std::filesystem::is_empty(options_.state_dir + "/containers"));
    EXPECT_TRUE(rt_->listContainers({})->empty());
    EXPECT_EQ(images_->useCount(image_.id), 0);
  }
  // Creating `c` fails with `code` and a message holding `part`, and leaves nothing behind.
  void expectCreateFails(const ContainerConfig& c, ErrorCode code, std::string_view part) {
    auto id = rt_->createContainer(sandbox_, c);
    ASSERT_FALSE(id);
    EXPECT_TRUE(id.error().is(code)) << id.error().message();
    EXPECT_NE(id.error().message().find(part), std::string::npos) << id.error().message();
    expectNothingLeft();
  }
  void expectNothingLeftButSandbox() {
    EXPECT_TRUE(kernel_->mounts().empty());
    EXPECT_TRUE(kernel_->livePids().empty());
    EXPECT_TRUE(kernel_->cgroupsUnder(pod_cgroup_).empty());
    EXPECT_TRUE(kernel_->runcContainers().empty());
    EXPECT_TRUE(std::filesystem::is_empty(options_.state_dir + "/containers"));
  }
  std::string sandbox_;
  std::string pod_cgroup_;
};

TEST_P(RollbackTest, UnknownImageIsNotFound) {
  auto c = containerConfig();
  c.image = "nginx";
  expectCreateFails(c, ErrorCode::NotFound, "create container 'app'");
}

TEST_P(RollbackTest, FailedOverlayMountLeavesNothing) {
  kernel_->failNextForTest("mount", Error::fromErrno(EINVAL, "mount overlay"));
  auto id = rt_->createContainer(sandbox_, containerConfig());
  ASSERT_FALSE(id);
  EXPECT_EQ(id.error().sysErrno(), EINVAL);
  EXPECT_NE(id.error().message().find("mount overlay rootfs for 'app'"), std::string::npos);
  expectNothingLeft();
}

TEST_P(RollbackTest, InvalidSpecIsRejectedAfterTheMountAndUnmounted) {
  auto c = containerConfig();
  c.working_dir = "relative/dir";
  expectCreateFails(c, ErrorCode::Invalid, "workingDir must be absolute");
}

TEST_P(RollbackTest, FailedInitLaunchLeavesNoProcessMountOrCgroup) {
  kernel_->failNextLaunchForTest("exec \"sleep\": executable file not found in $PATH");
  expectCreateFails(containerConfig(), ErrorCode::Internal,
                    "create container 'app': exec \"sleep\"");
}

TEST_P(RollbackTest, ShimThatCannotBeSpawnedLeavesNothing) {
  kernel_->failNextForTest("spawnDetached", Error::fromErrno(ENOENT, "spawn 'skiff-shim'"));
  auto id = rt_->createContainer(sandbox_, containerConfig());
  ASSERT_FALSE(id);
  EXPECT_EQ(id.error().sysErrno(), ENOENT);
  expectNothingLeft();
}

TEST_P(RollbackTest, FailedCgroupSetupLeavesNothing) {
  // Native makes the cgroup itself; runc makes it in `runc create`: fail whichever comes.
  kernel_->failNextForTest("cgroupCreate", Error::fromErrno(ENOSPC, "create cgroup"));
  auto id = rt_->createContainer(sandbox_, containerConfig());
  ASSERT_FALSE(id);
  expectNothingLeft();
}

TEST_P(RollbackTest, FailedStartLeavesNoProcessAndReportsStartError) {
  std::string id = create(sandbox_, containerConfig());
  int pid = status(id).pid;
  kernel_->failNextForTest(GetParam() == Backend::Native ? "readStartFifo" : "runCommand",
                           Error(ErrorCode::Internal, "the container init did not respond"));
  auto started = rt_->startContainer(id);
  ASSERT_FALSE(started);
  EXPECT_NE(started.error().message().find("did not respond"), std::string::npos);
  // As containerd: no process is left; the container stays (Exited) until it is removed.
  EXPECT_FALSE(kernel_->process(pid)->alive);
  EXPECT_TRUE(kernel_->livePids().empty());
  auto st = status(id);
  EXPECT_EQ(st.state, ContainerState::Exited);
  EXPECT_EQ(st.reason, "StartError");
  ASSERT_TRUE(rt_->removeContainer(id));
  expectNothingLeft();
}

TEST_P(RollbackTest, StartOfAnExitedContainerIsAConflict) {
  std::string id = create(sandbox_, containerConfig());
  kernel_->exitForTest(status(id).pid, 1);
  auto started = rt_->startContainer(id);
  ASSERT_FALSE(started);
  EXPECT_TRUE(started.error().is(ErrorCode::Conflict));
  EXPECT_NE(started.error().message().find("container is Exited"), std::string::npos);
}

TEST_P(RollbackTest, ReopenedRuntimeReadoptsSandboxesAndContainers) {
  std::string running = create(sandbox_, containerConfig("running"));
  std::string created = create(sandbox_, containerConfig("created"));
  ASSERT_TRUE(rt_->startContainer(running));
  int pid = status(running).pid;
  open(GetParam());  // the agent restarted; the shims and containers did not
  EXPECT_EQ(rt_->podSandboxStatus(sandbox_)->state, SandboxState::Ready);
  auto st = status(running);
  EXPECT_EQ(st.state, ContainerState::Running);
  EXPECT_EQ(st.pid, pid);
  EXPECT_GT(st.started_at_ns, 0);
  EXPECT_EQ(status(created).state, ContainerState::Created);
  EXPECT_EQ(images_->useCount(image_.id), 2);  // re-pinned by the recovered containers
  // An exit while the runtime was away is seen, and the container can be removed.
  kernel_->exitForTest(pid, 0);
  EXPECT_EQ(status(running).reason, "Completed");
  ASSERT_TRUE(rt_->startContainer(created));
  ASSERT_TRUE(rt_->removePodSandbox(sandbox_));
  expectNothingLeftButSandbox();
}

TEST_P(RollbackTest, RecoveryRemovesTheDebrisOfACreateThatDied) {
  // A create that died between the overlay mount and state.json.
  std::string dir = options_.state_dir + "/containers/deadbeef";
  std::filesystem::create_directories(dir + "/rootfs");
  ASSERT_TRUE(kernel_->mount("overlay", dir + "/rootfs", "overlay", 0, ""));
  open(GetParam());
  EXPECT_FALSE(exists(dir));
  EXPECT_FALSE(kernel_->mounts().count(dir + "/rootfs"));
  EXPECT_TRUE(rt_->listContainers({})->empty());
}

TEST_P(RollbackTest, UnreadableStateIsIgnoredNotFatal) {
  std::string dir = options_.state_dir + "/containers/badbadbad";
  std::filesystem::create_directories(dir);
  ASSERT_TRUE(writeFileReplace(dir + "/state.json", "{\"id\": 1}"));
  open(GetParam());
  EXPECT_TRUE(rt_->listContainers({})->empty());
  EXPECT_TRUE(exists(dir));  // left for a human to look at
}

INSTANTIATE_TEST_SUITE_P(Runtime, RollbackTest, ::testing::Values(Backend::Native, Backend::Runc),
                         backendTestName);

// ---- what differs per backend ----

class BackendDifferenceTest : public FakeRuntimeTest {};

TEST_F(BackendDifferenceTest, NativeMakesTheCgroupWritesTheSpecAndCompilesSeccomp) {
  open(Backend::Native);
  std::string sb = runSandbox(sandboxConfig());
  auto c = containerConfig();
  c.resources.memory_limit_bytes = 64 << 20;
  c.resources.cpu_shares = 512;
  std::string id = create(sb, c);
  const auto& cg = kernel_->cgroups().at("kubepods/besteffort/poduid-web-0/" + id);
  EXPECT_EQ(cg.resources.memory_limit_bytes, 64 << 20);
  EXPECT_EQ(cg.resources.cpu_shares, 512);
  EXPECT_TRUE(kernel_->fifos().count(containerDir(id) + "/start.fifo"));
  auto spec = nlohmann::json::parse(*readFile(containerDir(id) + "/spec.json"));
  EXPECT_EQ(spec["args"], nlohmann::json({"sleep", "1000"}));
  std::string program = spec["seccompProgram"].get<std::string>();
  EXPECT_EQ(program.rfind(options_.state_dir + "/seccomp/", 0), 0u) << program;
  EXPECT_TRUE(exists(program));
  EXPECT_FALSE(exists(containerDir(id) + "/config.json"));
  EXPECT_TRUE(kernel_->runcContainers().empty());
  // Native start reads the fifo; it is gone afterwards.
  ASSERT_TRUE(rt_->startContainer(id));
  EXPECT_TRUE(kernel_->commands().empty());  // no runc, no exec
}

TEST_F(BackendDifferenceTest, RuncGetsAnOciBundleAndIsDrivenByItsCommands) {
  open(Backend::Runc);
  std::string sb = runSandbox(sandboxConfig());
  auto c = containerConfig();
  c.resources.memory_limit_bytes = 64 << 20;
  std::string id = create(sb, c);
  auto config = nlohmann::json::parse(*readFile(containerDir(id) + "/config.json"));
  EXPECT_EQ(config["linux"]["cgroupsPath"], "/kubepods/besteffort/poduid-web-0/" + id);
  EXPECT_EQ(config["process"]["args"], nlohmann::json({"sleep", "1000"}));
  EXPECT_EQ(config["linux"]["resources"]["memory"]["limit"], 64 << 20);
  EXPECT_FALSE(exists(options_.state_dir + "/seccomp"));  // runc compiles config.json's profile
  EXPECT_EQ(kernel_->runcContainers(), std::set<std::string>{id});
  ASSERT_TRUE(rt_->startContainer(id));
  ASSERT_TRUE(rt_->removeContainer(id));
  std::vector<std::string> verbs;
  for (const auto& argv : kernel_->commands()) verbs.push_back(argv[3]);
  EXPECT_EQ(verbs, (std::vector<std::string>{"start", "delete"}));
  EXPECT_EQ(kernel_->commands().back(),
            (std::vector<std::string>{"runc", "--root", options_.state_dir + "/runc", "delete",
                                      "--force", id}));
}

TEST_F(BackendDifferenceTest, ContainerOfTheOtherBackendIsDrivenByItsOwn) {
  // Created by a runc runtime, re-adopted by a native one: removal still deletes runc's state.
  open(Backend::Runc);
  std::string sb = runSandbox(sandboxConfig());
  std::string id = create(sb, containerConfig());
  open(Backend::Native);
  ASSERT_TRUE(rt_->startContainer(id));
  EXPECT_EQ(kernel_->commands().back()[3], "start");
  ASSERT_TRUE(rt_->removeContainer(id));
  EXPECT_TRUE(kernel_->runcContainers().empty());
  EXPECT_TRUE(kernel_->livePids().empty());
}

TEST_F(BackendDifferenceTest, RuntimeWithoutAStateDirIsInvalid) {
  options_.state_dir.clear();
  auto rt = openRuntime(options_, {std::make_unique<testing::FakeImageStore>(tmp_ + "/images"),
                                   kernel_, kernel_->cgroupManager()});
  ASSERT_FALSE(rt);
  EXPECT_TRUE(rt.error().is(ErrorCode::Invalid));
}

TEST_F(BackendDifferenceTest, CreateRuntimeRefusesAHostWithoutCgroups) {
  // The mode comes from hostinfo; the runtime no longer guesses it.
  options_.cgroup_mode = hostinfo::CgroupMode::None;
  options_.cgroup_root = tmp_;
  auto rt = createRuntime(options_);
  ASSERT_FALSE(rt);
  EXPECT_TRUE(rt.error().is(ErrorCode::Unavailable));
  EXPECT_NE(rt.error().message().find("no cgroup filesystem"), std::string::npos);
}

}  // namespace
}  // namespace skiff::runtime
