// Pod sandboxes against the fake kernel: namespaces held by bind mounts, hostname, state,
// teardown.
#include <algorithm>

#include "runtime_test_fixture.h"

namespace skiff::runtime {
namespace {

using testing::FakeKernel;

TEST_P(BothBackendsTest, RunPodSandboxHoldsItsNamespacesByBindMounts) {
  std::string id = runSandbox(sandboxConfig("web-0"));
  auto st = rt_->podSandboxStatus(id);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->state, SandboxState::Ready);
  EXPECT_EQ(st->metadata.name, "web-0");
  std::string dir = options_.state_dir + "/sandboxes/" + id;
  EXPECT_EQ(st->netns_path, dir + "/net");
  EXPECT_EQ(st->log_directory, options_.log_dir + "/default_web-0_uid-web-0");
  for (const char* ns : {"net", "ipc", "uts"}) {
    auto it = kernel_->mounts().find(dir + "/" + ns);
    ASSERT_NE(it, kernel_->mounts().end()) << ns;
    EXPECT_EQ(it->second.back().fstype, "nsfs");
    EXPECT_EQ(it->second.back().source, std::string("/proc/self/ns/") + ns);
  }
  // The pod's hostname defaults to its name (kubelet: spec.hostname, else the pod name).
  EXPECT_EQ(kernel_->hostnameAt(dir + "/uts"), "web-0");
}

TEST_P(BothBackendsTest, SandboxHostnameAndNetnsPathAreTheCallers) {
  auto c = sandboxConfig();
  c.hostname = "db";
  c.netns_path = tmp_ + "/netns/pod1";
  std::string id = runSandbox(c);
  EXPECT_EQ(rt_->podSandboxStatus(id)->netns_path, tmp_ + "/netns/pod1");
  EXPECT_TRUE(kernel_->mounts().count(tmp_ + "/netns/pod1"));
  EXPECT_EQ(kernel_->hostnameAt(options_.state_dir + "/sandboxes/" + id + "/uts"), "db");
}

TEST_P(BothBackendsTest, HostNetworkSandboxHoldsNoNetworkNamespace) {
  auto c = sandboxConfig();
  c.host_network = true;
  std::string id = runSandbox(c);
  EXPECT_EQ(rt_->podSandboxStatus(id)->netns_path, "");
  EXPECT_EQ(kernel_->mounts().size(), 2u);  // ipc and uts only
  EXPECT_FALSE(kernel_->mounts().count(options_.state_dir + "/sandboxes/" + id + "/net"));
}

TEST_P(BothBackendsTest, SandboxWithoutNameOrUidIsInvalid) {
  auto c = sandboxConfig();
  c.metadata.uid.clear();
  auto id = rt_->runPodSandbox(c);
  ASSERT_FALSE(id);
  EXPECT_TRUE(id.error().is(ErrorCode::Invalid));
  EXPECT_TRUE(std::filesystem::is_empty(options_.state_dir + "/sandboxes"));
  EXPECT_TRUE(kernel_->mounts().empty());
}

TEST_P(BothBackendsTest, FailedNamespaceSetupLeavesNoSandboxBehind) {
  kernel_->failNextForTest("holdNamespaces", Error::fromErrno(EPERM, "unshare namespaces"));
  auto id = rt_->runPodSandbox(sandboxConfig());
  ASSERT_FALSE(id);
  EXPECT_NE(id.error().message().find("create sandbox namespaces: unshare namespaces"),
            std::string::npos)
      << id.error().message();
  EXPECT_EQ(id.error().sysErrno(), EPERM);
  EXPECT_TRUE(std::filesystem::is_empty(options_.state_dir + "/sandboxes"));
  EXPECT_TRUE(kernel_->mounts().empty());
  EXPECT_TRUE(rt_->listPodSandbox({})->empty());
}

TEST_P(BothBackendsTest, StopPodSandboxStopsItsContainersAndKeepsTheNetns) {
  std::string sb = runSandbox(sandboxConfig());
  std::string c = create(sb, containerConfig());
  ASSERT_TRUE(rt_->startContainer(c));
  ASSERT_TRUE(rt_->stopPodSandbox(sb, std::chrono::seconds(1)));
  EXPECT_EQ(rt_->podSandboxStatus(sb)->state, SandboxState::NotReady);
  EXPECT_EQ(status(c).state, ContainerState::Exited);
  EXPECT_EQ(status(c).exit_code, 143);  // SIGTERM
  // The network helper still needs the namespace to tear the pod network down.
  EXPECT_TRUE(kernel_->mounts().count(rt_->podSandboxStatus(sb)->netns_path));
  EXPECT_TRUE(rt_->stopPodSandbox(sb, std::chrono::seconds(1)));  // idempotent
}

TEST_P(BothBackendsTest, RemovePodSandboxLeavesNoMountProcessOrCgroup) {
  auto cfg = sandboxConfig();
  cfg.qos = QosClass::Burstable;
  std::string sb = runSandbox(cfg);
  std::string a = create(sb, containerConfig("a"));
  std::string b = create(sb, containerConfig("b"));
  ASSERT_TRUE(rt_->startContainer(a));
  auto removed = rt_->removePodSandbox(sb);
  ASSERT_TRUE(removed) << removed.error().message();
  EXPECT_TRUE(*removed);
  EXPECT_TRUE(kernel_->mounts().empty());
  EXPECT_TRUE(kernel_->livePids().empty());
  EXPECT_TRUE(kernel_->cgroupsUnder("kubepods/burstable/poduid-web-0").empty());
  EXPECT_TRUE(kernel_->runcContainers().empty());
  EXPECT_FALSE(exists(options_.state_dir + "/sandboxes/" + sb));
  EXPECT_FALSE(exists(containerDir(a)));
  EXPECT_FALSE(exists(containerDir(b)));
  EXPECT_TRUE(rt_->listContainers({})->empty());
  EXPECT_EQ(images_->useCount(image_.id), 0);
  // Unknown id: false, not an error (CRI RemovePodSandbox is idempotent).
  EXPECT_FALSE(*rt_->removePodSandbox(sb));
}

TEST_P(BothBackendsTest, ListPodSandboxMatchesEveryLabelOfTheSelector) {
  auto web = sandboxConfig("web-0");
  auto db = sandboxConfig("db-0");
  db.labels = {{"app", "db"}, {"tier", "backend"}};
  runSandbox(web);
  std::string db_id = runSandbox(db);
  EXPECT_EQ(rt_->listPodSandbox({})->size(), 2u);
  auto only_db = rt_->listPodSandbox({{"tier", "backend"}});
  ASSERT_EQ(only_db->size(), 1u);
  EXPECT_EQ(only_db->front().id, db_id);
  EXPECT_TRUE(rt_->listPodSandbox({{"app", "db"}, {"tier", "frontend"}})->empty());
}

TEST_P(BothBackendsTest, SandboxIsFoundByAUniqueIdPrefix) {
  std::string id = runSandbox(sandboxConfig());
  EXPECT_EQ(rt_->podSandboxStatus(id.substr(0, 8))->id, id);
  auto short_prefix = rt_->podSandboxStatus(id.substr(0, 3));
  ASSERT_FALSE(short_prefix);
  EXPECT_TRUE(short_prefix.error().is(ErrorCode::NotFound));
}

TEST_P(BothBackendsTest, PodCgroupFollowsTheQosClass) {
  options_.cgroup_parent = "skiff-test";
  open(GetParam());
  struct Case {
    QosClass qos;
    const char* prefix;
  } cases[] = {{QosClass::Guaranteed, "skiff-test/kubepods/poduid-g/"},
               {QosClass::Burstable, "skiff-test/kubepods/burstable/poduid-b/"},
               {QosClass::BestEffort, "skiff-test/kubepods/besteffort/poduid-e/"}};
  for (const auto& c : cases) {
    auto cfg = sandboxConfig(std::string(1, c.prefix[std::string(c.prefix).size() - 2]));
    cfg.qos = c.qos;
    std::string sb = runSandbox(cfg);
    std::string id = create(sb, containerConfig());
    EXPECT_TRUE(kernel_->hasCgroup(c.prefix + id)) << c.prefix;
    auto* init = kernel_->process(status(id).pid);
    ASSERT_NE(init, nullptr);
    EXPECT_EQ(init->cgroup, c.prefix + id);
  }
}

INSTANTIATE_TEST_SUITE_P(Runtime, BothBackendsTest,
                         ::testing::Values(Backend::Native, Backend::Runc), backendTestName);

}  // namespace
}  // namespace skiff::runtime
