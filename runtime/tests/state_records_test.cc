// The runtime's records on disk: what a re-opened runtime reads back.
#include "state_records.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "skiff/common/file.h"
#include "skiff/common/testing/temp_dir.h"

namespace skiff::runtime {
namespace {

class StateRecordsTest : public ::testing::Test {
 protected:
  skiff::testing::TempDir temp_dir_{"rtstate"};
  void SetUp() override {
    std::filesystem::create_directories(root_ + "/sandboxes");
    std::filesystem::create_directories(root_ + "/containers");
  }
  const std::string root_ = temp_dir_.path();
};

TEST_F(StateRecordsTest, SandboxAndContainerRecordsRoundTrip) {
  SandboxRecord s;
  s.id = "sb1";
  s.dir = root_ + "/sandboxes/sb1";
  s.config.metadata = {"web-0", "u1", "prod", 2};
  s.config.hostname = "web";
  s.config.qos = QosClass::Burstable;
  s.config.labels = {{"app", "web"}};
  s.ready = false;
  s.netns = "/run/netns/x";
  std::filesystem::create_directories(s.dir);
  ASSERT_TRUE(writeSandboxRecord(s));

  ContainerRecord c;
  c.id = "c1";
  c.dir = root_ + "/containers/c1";
  c.sandbox_id = "sb1";
  c.config = {"app", 3, "busybox", {{"k", "v"}}, {{"a", "b"}}};
  c.image_id = "sha256:abc";
  c.init_pid = 42;
  c.init_start = 99;
  c.shim_pid = 41;
  c.backend = Backend::Runc;
  c.started_at_ns = 77;
  std::filesystem::create_directories(c.dir);
  ASSERT_TRUE(writeContainerRecord(c));
  ASSERT_TRUE(writeStartedRecord(c));
  EXPECT_FALSE(writeContainerRecord(c));  // written once

  auto state = loadState(root_);
  ASSERT_TRUE(state) << state.error().message();
  ASSERT_EQ(state->sandboxes.size(), 1u);
  const auto& rs = state->sandboxes[0];
  EXPECT_EQ(rs.config.metadata.namespace_, "prod");
  EXPECT_EQ(rs.config.metadata.attempt, 2u);
  EXPECT_EQ(rs.config.qos, QosClass::Burstable);
  EXPECT_FALSE(rs.ready);
  EXPECT_EQ(rs.config.netns_path, "/run/netns/x");
  ASSERT_EQ(state->containers.size(), 1u);
  const auto& rc = state->containers[0];
  EXPECT_EQ(rc.config.attempt, 3u);
  EXPECT_EQ(rc.config.annotations.at("a"), "b");
  EXPECT_EQ(rc.init_start, 99u);
  EXPECT_EQ(rc.backend, Backend::Runc);
  EXPECT_EQ(rc.started_at_ns, 77);  // from the `started` record
  EXPECT_EQ(rc.dir, c.dir);
}

TEST_F(StateRecordsTest, DirectoriesWithoutARecordAreDebrisAndBadJsonIsUnreadable) {
  std::filesystem::create_directories(root_ + "/containers/half/rootfs");
  std::filesystem::create_directories(root_ + "/containers/bad");
  ASSERT_TRUE(writeFileReplace(root_ + "/containers/bad/state.json", "{\"id\": \"bad\"}"));
  auto state = loadState(root_);
  ASSERT_TRUE(state);
  EXPECT_EQ(state->debris, std::vector<std::string>{root_ + "/containers/half"});
  ASSERT_EQ(state->unreadable.size(), 1u);
  EXPECT_EQ(state->unreadable[0].first, root_ + "/containers/bad/state.json");
  EXPECT_TRUE(state->containers.empty());
  auto missing = loadState(root_ + "/nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().sysErrno(), ENOENT);
}

TEST_F(StateRecordsTest, ExitRecordIsReadOnlyWhenComplete) {
  std::string dir = root_ + "/containers/c1";
  std::filesystem::create_directories(dir);
  EXPECT_EQ(readExitRecord(dir), std::nullopt);
  ASSERT_TRUE(writeFileReplace(dir + "/exit", "137 1700000000 1 9"));  // no newline yet
  EXPECT_EQ(readExitRecord(dir), std::nullopt);
  ASSERT_TRUE(writeFileReplace(dir + "/exit", "127 1700000000 0 0 exec: \"x\": not found\n"));
  auto e = readExitRecord(dir);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->exit_code, 127);
  EXPECT_EQ(e->finished_ns, 1700000000);
  EXPECT_EQ(e->start_error, "exec: \"x\": not found");
}

}  // namespace
}  // namespace skiff::runtime
