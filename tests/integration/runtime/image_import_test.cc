// Image import: formats, whiteouts, ownership, and every way an archive can try to escape the
// rootfs or smuggle bad content. Each rejected import must leave the store exactly as it was.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>

#include "skiff/runtime/image_store.h"
#include "test_env.h"

namespace skiff::runtime {
namespace {

namespace fs = std::filesystem;
using testing::TarBuilder;

class ImageImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::isRoot()) GTEST_SKIP() << "needs root (CAP_CHOWN, CAP_MKNOD for whiteouts)";
    env_ = std::make_unique<testing::TestEnv>();
    auto s = openImageStore(env_->dir() + "/images");
    ASSERT_TRUE(s) << s.error().message();
    store_ = std::move(*s);
  }

  Result<std::vector<Image>> importBytes(const std::string& bytes,
                                         const std::string& name = "a.tar") {
    std::string p = env_->dir() + "/" + name;
    testing::writeFile(p, bytes);
    return store_->importArchive(p);
  }

  // Nothing new may appear in the store after a rejected import.
  void expectStoreEmpty() {
    auto l = store_->list();
    ASSERT_TRUE(l);
    EXPECT_TRUE(l->empty());
    EXPECT_TRUE(fs::is_empty(env_->dir() + "/images/blobs/sha256"));
    EXPECT_TRUE(fs::is_empty(env_->dir() + "/images/layers/sha256"));
    EXPECT_TRUE(fs::is_empty(env_->dir() + "/images/tmp"));
  }

  void expectRejected(const std::string& layer, const std::string& why) {
    auto r = importBytes(testing::ociArchive({layer}));
    ASSERT_FALSE(r) << "archive with " << why << " was accepted";
    EXPECT_TRUE(r.error().is(ErrorCode::Invalid)) << r.error().message();
    expectStoreEmpty();
  }

  std::unique_ptr<testing::TestEnv> env_;
  ImageStorePtr store_;
};

TEST_F(ImageImportTest, ROOT_ImportsBundledBusyboxAndNormalisesItsName) {
  auto r = store_->importArchive(SKIFF_BUSYBOX_IMAGE);
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].names, std::vector<std::string>{"docker.io/library/busybox:latest"});
  for (const char* q : {"busybox", "busybox:latest", "docker.io/library/busybox"}) {
    auto im = store_->get(q);
    ASSERT_TRUE(im) << q;
    EXPECT_EQ(im->id, (*r)[0].id);
  }
  EXPECT_FALSE(store_->get("busybox:1.36"));
  auto dirs = store_->layerDirs((*r)[0]);
  ASSERT_TRUE(dirs);
  EXPECT_TRUE(fs::exists((*dirs)[0] + "/bin/busybox"));
  EXPECT_EQ(fs::read_symlink((*dirs)[0] + "/bin/sh"), "/bin/busybox");
  // Importing again is idempotent.
  ASSERT_TRUE(store_->importArchive(SKIFF_BUSYBOX_IMAGE));
  EXPECT_EQ(store_->list()->size(), 1u);
}

TEST_F(ImageImportTest, ROOT_AppliesOwnershipModesAndOverlayWhiteouts) {
  std::string l1 = TarBuilder()
                       .dir("a/")
                       .file("a/x", "x")
                       .file("a/keep", "k")
                       .dir("b/")
                       .file("b/y", "y")
                       .file("suid", "#!/bin/sh\n", 04755, 1234, 5678)
                       .charDevice("dev-sda", 8, 0)
                       .finish();
  std::string l2 = TarBuilder()
                       .file("a/.wh.x", "")
                       .dir("b/")
                       .file("b/.wh..wh..opq", "")
                       .file("b/z", "z")
                       .finish();
  auto r = importBytes(testing::ociArchive({l1, l2}));
  ASSERT_TRUE(r) << r.error().message();
  auto dirs = store_->layerDirs((*r)[0]);
  ASSERT_TRUE(dirs);
  ASSERT_EQ(dirs->size(), 2u);
  const std::string top = (*dirs)[0], bottom = (*dirs)[1];
  struct stat st {};
  ASSERT_EQ(::stat((bottom + "/suid").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 5678u);
  EXPECT_EQ(st.st_mode & 07777, 04755u);
  EXPECT_FALSE(fs::exists(bottom + "/dev-sda")) << "device nodes must be skipped";
  ASSERT_EQ(::lstat((top + "/a/x").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode) && st.st_rdev == 0) << "whiteout must be a 0/0 char device";
  char v[4] = {};
  EXPECT_EQ(::getxattr((top + "/b").c_str(), "trusted.overlay.opaque", v, sizeof v), 1);
  EXPECT_EQ(v[0], 'y');
}

TEST_F(ImageImportTest, ROOT_ImportsDockerSaveArchives) {
  std::string l = TarBuilder().dir("etc/").file("etc/hello", "from docker save\n").finish();
  auto r = importBytes(testing::dockerSaveArchive({l}, "registry:5000/team/app:v1"));
  ASSERT_TRUE(r) << r.error().message();
  auto im = store_->get("registry:5000/team/app:v1");
  ASSERT_TRUE(im);
  auto dirs = store_->layerDirs(*im);
  ASSERT_TRUE(dirs);
  EXPECT_TRUE(fs::exists((*dirs)[0] + "/etc/hello"));
}

TEST_F(ImageImportTest, ROOT_RejectsDotDotEntry) {
  expectRejected(TarBuilder().file("../evil", "x").finish(), "'..' entry");
}

TEST_F(ImageImportTest, ROOT_RejectsEntryThroughAbsoluteSymlink) {
  expectRejected(TarBuilder().symlink("etc", "/etc").file("etc/skiff-escape", "x").finish(),
                 "write through symlink to /etc");
  EXPECT_FALSE(fs::exists("/etc/skiff-escape"));
}

TEST_F(ImageImportTest, ROOT_RejectsRelativeSymlinkOutsideRoot) {
  expectRejected(TarBuilder().dir("a/").symlink("a/up", "../../../../etc/shadow").finish(),
                 "relative symlink escape");
}

TEST_F(ImageImportTest, ROOT_RejectsHardlinkOutsideLayer) {
  expectRejected(TarBuilder().hardlink("passwd", "../../../../etc/passwd").finish(),
                 "hardlink to ../../etc/passwd");
  expectRejected(TarBuilder().hardlink("passwd", "/etc/passwd").finish(),
                 "hardlink to /etc/passwd (not in the layer)");
}

TEST_F(ImageImportTest, ROOT_RejectsDigestMismatchAndCorruptArchives) {
  testing::OciArchiveOptions o;
  o.corrupt_layer = true;
  auto r = importBytes(
      testing::ociArchive({TarBuilder().file("f", std::string(3000, 'a')).finish()}, o));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("digest mismatch"), std::string::npos) << r.error().message();
  expectStoreEmpty();
  std::string good = testing::ociArchive({TarBuilder().file("f", "x").finish()});
  auto t = importBytes(good.substr(0, good.size() / 2), "truncated.tar");
  EXPECT_FALSE(t);
  expectStoreEmpty();
  std::string flipped = good;
  flipped[10] ^= 0x20;  // header checksum no longer matches
  EXPECT_FALSE(importBytes(flipped, "flipped.tar"));
  expectStoreEmpty();
}

TEST_F(ImageImportTest, ROOT_RemoveAndGarbageCollectByDiskThresholds) {
  ASSERT_TRUE(store_->importArchive(SKIFF_BUSYBOX_IMAGE));
  testing::OciArchiveOptions o;
  o.name = "docker.io/library/other:1";
  auto other = importBytes(
      testing::ociArchive({TarBuilder().file("o", std::string(100000, 'o')).finish()}, o), "o.tar");
  ASSERT_TRUE(other);
  auto bb = store_->get("busybox");
  ASSERT_TRUE(bb);
  store_->markUsed(bb->id, 1);  // pinned by a container: never collected
  auto now = std::chrono::system_clock::now() + std::chrono::minutes(10);
  ImageGcPolicy policy;
  // 80% used: below the 85% high threshold, nothing happens.
  auto none = store_->garbageCollect(
      policy,
      [] {
        return Result<DiskUsage>(DiskUsage{1000000, 200000});
      },
      now);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->removed.empty());
  // 90% used: free down to 80% (100 kB) -> the unpinned image goes.
  auto gc = store_->garbageCollect(
      policy,
      [] {
        return Result<DiskUsage>(DiskUsage{1000000, 100000});
      },
      now);
  ASSERT_TRUE(gc) << gc.error().message();
  EXPECT_EQ(gc->removed, std::vector<std::string>{(*other)[0].id});
  EXPECT_FALSE(store_->get("other:1"));
  EXPECT_TRUE(store_->get("busybox"));
  EXPECT_FALSE(store_->remove("busybox")) << "in-use image must not be removable";
  store_->markUsed(bb->id, -1);
  auto rm = store_->remove("busybox");
  ASSERT_TRUE(rm);
  EXPECT_TRUE(*rm);
  expectStoreEmpty();
  auto du = statvfsDiskUsage(env_->dir())();
  ASSERT_TRUE(du);
  EXPECT_GT(du->capacity_bytes, 0u);
  EXPECT_LE(du->available_bytes, du->capacity_bytes);
}

}  // namespace
}  // namespace skiff::runtime
