#include "skiff/agent/image_import_dir.h"
#include "skiff/common/testing/temp_dir.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

namespace skiff::agent {
namespace {

namespace fs = std::filesystem;

// The watcher against a real temp dir and real inotify; the import itself is a recording fake
// (the store's import is tested in tests/integration/runtime).
class ImageImportDirTest : public ::testing::Test {
 protected:
  void TearDown() override { watcher_.reset(); }
  void make() {
    watcher_ = std::make_unique<ImageImportDir>(
        dir_.string(), [this](const std::string& path) -> Result<std::vector<std::string>> {
          std::string content;
          std::ifstream(path) >> content;
          std::lock_guard lk(mu_);
          imports_.push_back(fs::path(path).filename().string() + "=" + content);
          cv_.notify_all();
          if (content == "broken") return Error(ErrorCode::Invalid, "import: not an archive");
          return std::vector<std::string>{"example.com/" + content};
        });
  }
  static void write(const fs::path& p, const std::string& content) { std::ofstream(p) << content; }
  // Waits until `n` imports were attempted (or 5 s).
  bool waitFor(std::size_t n) {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, std::chrono::seconds(5), [&] { return imports_.size() >= n; });
  }
  std::vector<std::string> imports() {
    std::lock_guard lk(mu_);
    return imports_;
  }

  skiff::testing::TempDir tmp_{"importdir"};
  fs::path dir_ = fs::path(tmp_.path()) / "images";  // not there yet
  std::unique_ptr<ImageImportDir> watcher_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> imports_;
};

TEST_F(ImageImportDirTest, OnlyImageArchiveNamesCount) {
  for (const char* n : {"a.tar", "a.tar.gz", "a.tgz", "a.tar.zst"})
    EXPECT_TRUE(ImageImportDir::isArchiveName(n)) << n;
  for (const char* n : {"a.txt", "a.tar.part", ".a.tar", "tar", ".tar", "a.zst", "a.tar.bz2"})
    EXPECT_FALSE(ImageImportDir::isArchiveName(n)) << n;
}

TEST_F(ImageImportDirTest, CreatesTheDirectoryAndImportsWhatIsThereAtStart) {
  fs::create_directories(dir_);
  write(dir_ / "one.tar", "one");
  write(dir_ / "two.tar.zst", "two");
  write(dir_ / "notes.txt", "ignored");
  make();
  ASSERT_TRUE(watcher_->start());
  ASSERT_TRUE(waitFor(2));
  auto got = imports();
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{"one.tar=one", "two.tar.zst=two"}));

  fs::path other = dir_ / "fresh";
  fs::remove_all(other);
  ImageImportDir fresh(other.string(), [](const std::string&) {
    return Result<std::vector<std::string>>(std::vector<std::string>{});
  });
  ASSERT_TRUE(fresh.start());
  EXPECT_TRUE(fs::is_directory(other));
}

TEST_F(ImageImportDirTest, ImportsAnArchiveWhenItIsWrittenOrMovedInAndWhenItChanges) {
  make();
  ASSERT_TRUE(watcher_->start());
  write(dir_ / "copied.tar", "copied");  // cp: IN_CLOSE_WRITE
  ASSERT_TRUE(waitFor(1)) << "a copied archive was not imported";
  fs::path staged = dir_.parent_path() / (dir_.filename().string() + "-staged.tar");
  write(staged, "moved");
  fs::rename(staged, dir_ / "moved.tar");  // mv from the same filesystem: IN_MOVED_TO
  ASSERT_TRUE(waitFor(2)) << "a moved-in archive was not imported";
  // The same archive rewritten is imported again; a non-archive is not looked at.
  write(dir_ / "readme.txt", "x");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  write(dir_ / "copied.tar", "copied2");
  ASSERT_TRUE(waitFor(3)) << "a changed archive was not imported again";
  EXPECT_EQ(imports(), (std::vector<std::string>{"copied.tar=copied", "moved.tar=moved",
                                                 "copied.tar=copied2"}));
}

TEST_F(ImageImportDirTest, ABrokenArchiveIsTriedOncePerVersion) {
  fs::create_directories(dir_);
  write(dir_ / "bad.tar", "broken");
  make();
  ASSERT_TRUE(watcher_->start());
  ASSERT_TRUE(waitFor(1));
  // Unchanged: a rescan (as after an inotify overflow) does not try it again.
  EXPECT_EQ(watcher_->scan(), 0);
  EXPECT_EQ(imports().size(), 1u);
  // Fixed in place: tried again.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  write(dir_ / "bad.tar", "fixed");
  ASSERT_TRUE(waitFor(2));
  EXPECT_EQ(imports().back(), "bad.tar=fixed");
}

TEST_F(ImageImportDirTest, StopReturnsPromptly) {
  make();
  ASSERT_TRUE(watcher_->start());
  auto t0 = std::chrono::steady_clock::now();
  watcher_->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));
  watcher_->stop();  // idempotent
}

}  // namespace
}  // namespace skiff::agent
