// From a CRI ContainerConfig and its image to the launch spec: users, command, env, validation.
#include "container_spec.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "skiff/common/file.h"
#include "skiff/common/testing/temp_dir.h"

namespace skiff::runtime {
namespace {

class ContainerSpecTest : public ::testing::Test {
 protected:
  skiff::testing::TempDir temp_dir_{"rtspec"};
  void SetUp() override {
    std::filesystem::create_directories(rootfs_ + "/etc");
    ASSERT_TRUE(writeFileReplace(rootfs_ + "/etc/passwd",
                                 "root:x:0:0:root:/root:/bin/sh\n"
                                 "nobody:x:65534:65534:nobody:/home:/bin/false\n"
                                 "www:x:33:33:www:/var/www:/bin/sh\n"));
    ASSERT_TRUE(writeFileReplace(rootfs_ + "/etc/group",
                                 "root:x:0:\nwww:x:33:\nadm:x:4:www,root\nvideo:x:44:www\n"));
    image_.config.entrypoint = {"/entry"};
    image_.config.cmd = {"serve"};
    image_.config.env = {"PATH=/opt/bin", "A=image"};
    sandbox_.metadata.name = "web-0";
  }
  Result<LaunchSpec> build(const ContainerConfig& c) {
    return buildLaunchSpec(c, image_, sandbox_, rootfs_, {"CAP_CHOWN"});
  }
  const std::string rootfs_ = temp_dir_.path();
  Image image_;
  PodSandboxConfig sandbox_;
};

TEST_F(ContainerSpecTest, UserByNameGetsItsGroupsAndHome) {
  auto u = resolveUser(rootfs_, "www");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->uid, 33u);
  EXPECT_EQ(u->gid, 33u);
  EXPECT_EQ(u->groups, (std::vector<std::uint32_t>{4, 44}));
  EXPECT_EQ(u->home, "/var/www");
  auto with_group = resolveUser(rootfs_, "www:video");
  EXPECT_EQ(with_group->gid, 44u);
}

TEST_F(ContainerSpecTest, NumericUserNotInPasswdRunsWithGidZero) {
  auto u = resolveUser(rootfs_, "1234");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->uid, 1234u);
  EXPECT_EQ(u->gid, 0u);  // runc's rule
  EXPECT_EQ(resolveUser(rootfs_, "1234:99")->gid, 99u);
  auto unknown = resolveUser(rootfs_, "alice");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().message(),
            "unable to find user alice: no matching entries in passwd file");
  EXPECT_FALSE(resolveUser(rootfs_, "www:nogroup"));
}

TEST_F(ContainerSpecTest, PasswdSymlinkCannotLeaveTheRootfs) {
  std::filesystem::remove(rootfs_ + "/etc/passwd");
  std::filesystem::create_symlink("/etc/passwd", rootfs_ + "/etc/passwd");
  // Resolved inside the rootfs: /etc/passwd -> <rootfs>/etc/passwd, itself; the host's file is
  // never read, so "nobody" (in every host's passwd) is unknown here.
  EXPECT_FALSE(resolveUser(rootfs_, "nobody"));
}

TEST_F(ContainerSpecTest, CommandReplacesEntrypointAndArgsReplaceCmd) {
  ContainerConfig c;
  c.name = "app";
  EXPECT_EQ(build(c)->args, (std::vector<std::string>{"/entry", "serve"}));
  c.args = {"debug"};
  EXPECT_EQ(build(c)->args, (std::vector<std::string>{"/entry", "debug"}));
  c.command = {"/bin/sh", "-c"};
  c.args = {"echo hi"};
  EXPECT_EQ(build(c)->args, (std::vector<std::string>{"/bin/sh", "-c", "echo hi"}));
  c.command.clear();
  c.args.clear();
  image_.config.entrypoint.clear();
  image_.config.cmd.clear();
  auto none = build(c);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().message(), "create container 'app': no command specified");
}

TEST_F(ContainerSpecTest, EnvLayersDefaultsImageAndContainer) {
  ContainerConfig c;
  c.name = "app";
  c.user = "www";
  c.env = {"A=container", "B=1"};
  auto spec = build(c);
  ASSERT_TRUE(spec);
  EXPECT_EQ(spec->env, (std::vector<std::string>{"PATH=/opt/bin", "HOSTNAME=web-0", "A=container",
                                                 "B=1", "HOME=/var/www"}));
  EXPECT_EQ(spec->uid, 33u);
  EXPECT_EQ(spec->cwd, "/");
  EXPECT_EQ(spec->capabilities, std::vector<std::string>{"CAP_CHOWN"});
  EXPECT_FALSE(spec->masked_paths.empty());  // not privileged
}

TEST_F(ContainerSpecTest, BadWorkingDirMountPathAndOomScoreAreInvalid) {
  ContainerConfig c;
  c.name = "app";
  c.mounts = {{"data", "/host/data", false}};
  auto mount = build(c);
  ASSERT_FALSE(mount);
  EXPECT_EQ(mount.error().message(), "create container 'app': mount path 'data' must be absolute");
  c.mounts.clear();
  c.oom_score_adj = 1001;
  auto oom = build(c);
  ASSERT_FALSE(oom);
  EXPECT_TRUE(oom.error().is(ErrorCode::Invalid));
  c.oom_score_adj = -997;  // Guaranteed
  EXPECT_EQ(build(c)->oom_score_adj, -997);
  c.privileged = true;
  EXPECT_TRUE(build(c)->masked_paths.empty());
}

}  // namespace
}  // namespace skiff::runtime
