#include "skiff/common/file.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>
#include <vector>

#include "skiff/common/testing/temp_dir.h"

namespace skiff {
namespace {

class FileTest : public ::testing::Test {
 protected:
  skiff::testing::TempDir temp_dir_{"file-test"};
  const std::string dir_ = temp_dir_.path();
};

TEST_F(FileTest, WriteAtomicThenRead) {
  std::string p = dir_ + "/state.json";
  ASSERT_TRUE(writeFileAtomic(p, "{\"a\":1}"));
  auto r = readFile(p);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "{\"a\":1}");
  ASSERT_TRUE(writeFileAtomic(p, "x"));
  EXPECT_EQ(*readFile(p), "x");
  // no temporary left behind
  int n = 0;
  for (auto& e : std::filesystem::directory_iterator(dir_)) (void)e, ++n;
  EXPECT_EQ(n, 1);
}

TEST_F(FileTest, WriteReplaceSwapsContentWithMode) {
  std::string p = dir_ + "/hosts";
  ASSERT_TRUE(writeFileReplace(p, "one", 0644));
  ASSERT_TRUE(writeFileReplace(p, "two", 0644));
  EXPECT_EQ(*readFile(p), "two");
  EXPECT_EQ(std::filesystem::status(p).permissions() & std::filesystem::perms::all,
            std::filesystem::perms(0644));
  int n = 0;
  for (auto& e : std::filesystem::directory_iterator(dir_)) (void)e, ++n;
  EXPECT_EQ(n, 1);
  // A directory in the way: an error naming the path, and no temporary left.
  std::filesystem::create_directory(dir_ + "/d");
  auto r = writeFileReplace(dir_ + "/d", "x");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("/d"), std::string::npos);
  n = 0;
  for (auto& e : std::filesystem::directory_iterator(dir_)) (void)e, ++n;
  EXPECT_EQ(n, 2);  // hosts and d
}

TEST_F(FileTest, ConcurrentReplacesOfOnePathAllSucceed) {
  std::string p = dir_ + "/program.bpf";
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int i = 0; i < 8; ++i) {
    writers.emplace_back([&, i] {
      for (int j = 0; j < 50; ++j) {
        if (!writeFileReplace(p, std::string(100, static_cast<char>('a' + i)))) ++failures;
      }
    });
  }
  for (auto& w : writers) w.join();
  EXPECT_EQ(failures, 0);
  auto text = readFile(p);
  ASSERT_TRUE(text);
  EXPECT_EQ(*text, std::string(100, (*text)[0]));  // one writer's content, whole
  int n = 0;
  for (auto& e : std::filesystem::directory_iterator(dir_)) (void)e, ++n;
  EXPECT_EQ(n, 1);
}

TEST_F(FileTest, MissingFileErrorNamesPath) {
  auto r = readFile(dir_ + "/nope");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::NotFound);
  EXPECT_NE(r.error().message().find("/nope'"), std::string::npos);
}

TEST_F(FileTest, OversizedFileRefused) {
  std::string p = dir_ + "/big";
  ASSERT_TRUE(writeFileAtomic(p, std::string(100, 'a')));
  auto r = readFile(p, 10);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::TooLarge);
}

TEST(JoinRootTest, JoinsWithOneSlash) {
  EXPECT_EQ(joinRoot("/", "/proc/cpuinfo"), "/proc/cpuinfo");
  EXPECT_EQ(joinRoot("", "/proc/cpuinfo"), "/proc/cpuinfo");
  EXPECT_EQ(joinRoot("/fx/deb12/", "/proc/cpuinfo"), "/fx/deb12/proc/cpuinfo");
}

}  // namespace
}  // namespace skiff
