// lumberjack's rotation with a fake clock and a tiny size limit, and the writer thread's bound.
#include "skiff/master/audit/log_writer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "skiff/common/testing/temp_dir.h"

namespace skiff::master::audit {
namespace {

namespace fs = std::filesystem;
using std::chrono::system_clock;

class RotatingFileTest : public ::testing::Test {
 protected:
  skiff::testing::TempDir temp_dir_{"audit"};
  void SetUp() override {
    // 2024-01-02T03:04:05.678Z
    now_ = system_clock::time_point(std::chrono::milliseconds(1704164645678LL));
  }
  RotationOptions opts(std::int64_t max_bytes) {
    RotationOptions o;
    o.path = dir_ + "/audit.log";
    o.max_size_bytes_for_test = max_bytes;
    o.now = [this] { return now_; };
    return o;
  }
  std::string read(const std::string& name) {
    std::ifstream f(dir_ + "/" + name);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }

  const std::string dir_ = temp_dir_.path();
  system_clock::time_point now_;
};

TEST_F(RotatingFileTest, RotatesWhenTheNextLineWouldExceedTheLimit) {
  auto f = RotatingFile::open(opts(10));
  ASSERT_TRUE(f);
  ASSERT_TRUE((*f)->write("aaaa\n"));
  ASSERT_TRUE((*f)->write("bbbb\n"));  // exactly 10: no rotation
  EXPECT_TRUE((*f)->backupsForTest().empty());
  ASSERT_TRUE((*f)->write("cc\n"));
  EXPECT_EQ((*f)->backupsForTest(), std::vector<std::string>{"audit-2024-01-02T03-04-05.678.log"});
  EXPECT_EQ(read("audit-2024-01-02T03-04-05.678.log"), "aaaa\nbbbb\n");
  EXPECT_EQ(read("audit.log"), "cc\n");
  EXPECT_EQ(fs::status(dir_ + "/audit.log").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
}

TEST_F(RotatingFileTest, TooLargeWriteIsAnError) {
  auto f = RotatingFile::open(opts(4));
  ASSERT_TRUE(f);
  auto r = (*f)->write("0123456789\n");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "write length 11 exceeds maximum file size 4");
}

TEST_F(RotatingFileTest, AppendsToAnExistingFileAndRotatesItWhenFull) {
  std::ofstream(dir_ + "/audit.log") << "old\n";
  auto f = RotatingFile::open(opts(8));
  ASSERT_TRUE(f);
  ASSERT_TRUE((*f)->write("new\n"));
  EXPECT_EQ(read("audit.log"), "old\nnew\n");
  now_ += std::chrono::seconds(1);
  ASSERT_TRUE((*f)->write("x\n"));
  EXPECT_EQ(read("audit-2024-01-02T03-04-06.678.log"), "old\nnew\n");
}

TEST_F(RotatingFileTest, MaxBackupsKeepsTheNewest) {
  RotationOptions o = opts(2);
  o.max_backups = 2;
  auto f = RotatingFile::open(o);
  ASSERT_TRUE(f);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE((*f)->write(std::to_string(i) + "\n"));
    now_ += std::chrono::milliseconds(1);
  }
  // Four rotations (at writes 1..4); the two newest backups stay.
  EXPECT_EQ((*f)->backupsForTest(),
            (std::vector<std::string>{"audit-2024-01-02T03-04-05.681.log",
                                      "audit-2024-01-02T03-04-05.682.log"}));
  EXPECT_EQ(read("audit-2024-01-02T03-04-05.682.log"), "3\n");
}

TEST_F(RotatingFileTest, MaxAgeDropsOldBackups) {
  std::ofstream(dir_ + "/audit-2023-12-01T00-00-00.000.log") << "ancient\n";
  std::ofstream(dir_ + "/audit-2024-01-01T12-00-00.000.log") << "recent\n";
  std::ofstream(dir_ + "/unrelated.log") << "x\n";
  RotationOptions o = opts(2);
  o.max_age_days = 3;
  auto f = RotatingFile::open(o);
  ASSERT_TRUE(f);
  ASSERT_TRUE((*f)->write("a\n"));
  ASSERT_TRUE((*f)->write("b\n"));  // rotates, then cleans up
  EXPECT_EQ((*f)->backupsForTest(),
            (std::vector<std::string>{"audit-2024-01-01T12-00-00.000.log",
                                      "audit-2024-01-02T03-04-05.678.log"}));
  EXPECT_TRUE(fs::exists(dir_ + "/unrelated.log"));
}

TEST(AsyncWriterTest, WritesInOrderFromOneThread) {
  std::vector<std::string> got;
  std::thread::id writer_thread;
  {
    AsyncWriter w(
        [&](const std::string& line) -> Result<void> {
          writer_thread = std::this_thread::get_id();
          got.push_back(line);
          return ok();
        },
        100);
    for (int i = 0; i < 50; ++i) w.push(std::to_string(i));
    w.flush();
    EXPECT_EQ(got.size(), 50u);
    EXPECT_EQ(w.dropped(), 0u);
  }
  EXPECT_NE(writer_thread, std::this_thread::get_id());
  for (int i = 0; i < 50; ++i) EXPECT_EQ(got[i], std::to_string(i));
}

TEST(AsyncWriterTest, FullQueueDropsAndCountsWithoutBlocking) {
  std::mutex gate;
  gate.lock();  // the sink blocks until released: the queue fills up
  std::atomic<int> written{0};
  AsyncWriter w(
      [&](const std::string&) -> Result<void> {
        std::lock_guard<std::mutex> lk(gate);
        ++written;
        return ok();
      },
      3);
  std::uint64_t pushes = 1;
  w.push("first");  // taken by the thread, which then blocks in the sink
  while (w.dropped() == 0) {
    w.push("probe");
    ++pushes;
  }
  gate.unlock();
  w.flush();
  EXPECT_EQ(static_cast<std::uint64_t>(written.load()) + w.dropped(), pushes);
  EXPECT_LE(written.load(), 4);
}

}  // namespace
}  // namespace skiff::master::audit
