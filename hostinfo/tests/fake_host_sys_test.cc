#include "skiff/hostinfo/testing/fake_host_sys.h"

#include <gtest/gtest.h>

#include "skiff/hostinfo/host_info.h"
#include "test_util.h"

namespace skiff::hostinfo {
namespace {

using testing::FakeHostSys;

TEST(FakeHostSysTest, LoadsFixtureAndModelsMissingStateDir) {
  auto fake = FakeHostSys::fromFixture(test::fixtureDir("rhel9-x86_64"));
  ASSERT_TRUE(fake.has_value()) << fake.error().message();
  EXPECT_EQ(fake->uname()->machine, "x86_64");
  EXPECT_EQ(fake->schedGetAffinity()->size(), 16u);
  fake->missing_paths = {"/x/var/lib/skiff/agent", "/x/var/lib/skiff"};
  auto missing = fake->statfs("/x/var/lib/skiff/agent");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().sysErrno(), ENOENT);
  EXPECT_TRUE(fake->statfs("/x/var/lib").has_value());
  EXPECT_EQ(fake->statfs_calls.size(), 2u);
  auto config = testing::nodeConfigFromFixture(test::fixtureDir("rhel9-x86_64"));
  ASSERT_TRUE(config.has_value());
  EXPECT_EQ(config->max_pods, 250);
  EXPECT_EQ(config->system_reserved.at("memory").toString(), "2Gi");
}

TEST(FakeHostSysTest, BadFixtureFileIsReported) {
  auto r = FakeHostSys::fromFixture(test::fixtureDir("cpuinfo"));
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("fixture.json"), std::string::npos);
}

TEST(HostInfoTest, StateDirFallsBackToNearestExistingAncestor) {
  auto fake = FakeHostSys::fromFixture(test::fixtureDir("ubuntu2204-x86_64-cgroupv2"));
  ASSERT_TRUE(fake.has_value());
  HostPaths paths;
  paths.root = test::fixtureDir("ubuntu2204-x86_64-cgroupv2");
  paths.state_dir = "/var/lib/skiff/agent";
  fake->missing_paths = {paths.path("/var/lib/skiff/agent"), paths.path("/var/lib/skiff")};
  auto host = collectHostInfo(paths, *fake);
  ASSERT_TRUE(host.has_value()) << host.error().message();
  EXPECT_EQ(host->state_fs_path, paths.path("/var/lib"));
  EXPECT_EQ(fake->statfs_calls.size(), 3u);
}

TEST(HostInfoTest, GoArchNames) {
  EXPECT_EQ(goArch("x86_64"), "amd64");
  EXPECT_EQ(goArch("aarch64"), "arm64");
  EXPECT_EQ(goArch("ppc64le"), "ppc64le");
  EXPECT_EQ(goArch("s390x"), "s390x");
  EXPECT_EQ(goArch("armv7l"), "arm");
  EXPECT_EQ(goArch("i686"), "386");
  EXPECT_EQ(goArch("riscv64"), "riscv64");
}

TEST(HostInfoTest, RealSeamMatchesThisProcess) {
  auto sys = sys::makeRealHostSys();
  auto u = sys->uname();
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->sysname, "Linux");
  auto cpus = sys->schedGetAffinity();
  ASSERT_TRUE(cpus.has_value());
  EXPECT_FALSE(cpus->empty());
  auto st = sys->statfs("/");
  ASSERT_TRUE(st.has_value());
  EXPECT_GT(st->capacity_bytes, 0u);
  auto missing = sys->statfs("/nonexistent/skiff/state");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().sysErrno(), ENOENT);
}

}  // namespace
}  // namespace skiff::hostinfo
