// One image store shared by several processes (the agent and `skiff-agent ctr`): each
// ImageStore here stands for one process (its own flock file description, its own index view).
// What one writes the others see at their next lookup; concurrent imports and image GC never
// lose or corrupt an image: every image listed afterwards has every blob (digest verified) and
// every layer, and staging is empty.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "skiff/common/file.h"
#include "skiff/runtime/image_store.h"
#include "test_env.h"

namespace skiff::runtime {
namespace {

namespace fs = std::filesystem;
using testing::TarBuilder;

class ImageStoreSharedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::isRoot()) GTEST_SKIP() << "needs root (layer ownership)";
    env_ = std::make_unique<testing::TestEnv>();
    root_ = env_->dir() + "/images";
  }
  ImageStorePtr open() {
    auto s = openImageStore(root_);
    EXPECT_TRUE(s) << s.error().message();
    return s ? std::move(*s) : nullptr;
  }
  // An archive for image `name` whose top layer is unique to it (`shared` adds a common base).
  std::string archive(const std::string& name, const std::string& tag, bool shared = true) {
    std::vector<std::string> layers;
    if (shared) layers.push_back(TarBuilder().dir("etc/").file("etc/base", "base\n").finish());
    layers.push_back(TarBuilder().file("id", name + ":" + tag + "\n").finish());
    std::string p = env_->dir() + "/" + name + "-" + tag + ".tar";
    testing::writeFile(p, testing::ociArchive(layers, {.name = "example.com/" + name + ":" + tag}));
    return p;
  }
  // Every listed image is whole: manifest and layer blobs present with the right digest, every
  // layer directory present; nothing left in staging.
  void expectIntact(ImageStore& s) {
    auto list = s.list();
    ASSERT_TRUE(list) << list.error().message();
    for (const auto& im : *list) {
      auto manifest = readFile(root_ + "/blobs/sha256/" + im.manifest_digest.substr(7));
      ASSERT_TRUE(manifest) << im.id;
      EXPECT_EQ("sha256:" + testing::sha256Hex(*manifest), im.manifest_digest);
      auto j = nlohmann::json::parse(*manifest);
      for (const auto& l : j["layers"]) {
        std::string d = l["digest"];
        auto blob = readFile(root_ + "/blobs/sha256/" + d.substr(7), 64u << 20);
        ASSERT_TRUE(blob) << "image " << im.id << " lost layer blob " << d;
        EXPECT_EQ("sha256:" + testing::sha256Hex(*blob), d);
      }
      auto dirs = s.layerDirs(im);
      EXPECT_TRUE(dirs) << (dirs ? "" : dirs.error().message());
    }
    EXPECT_TRUE(fs::is_empty(root_ + "/tmp"));
  }

  std::unique_ptr<testing::TestEnv> env_;
  std::string root_;
};

TEST_F(ImageStoreSharedTest, ROOT_AnImportByOneProcessIsSeenByTheOtherAtOnce) {
  auto agent = open(), ctr = open();
  ASSERT_TRUE(agent && ctr);
  EXPECT_FALSE(agent->get("example.com/app:1"));  // the agent's view is loaded
  ASSERT_TRUE(ctr->importArchive(archive("app", "1")));
  auto seen = agent->get("example.com/app:1");
  ASSERT_TRUE(seen) << "the agent does not see ctr's import";
  EXPECT_EQ(agent->list()->size(), 1u);
  // A removal by ctr, too.
  ASSERT_TRUE(ctr->remove("example.com/app:1"));
  EXPECT_FALSE(agent->get("example.com/app:1"));
  // And the other way round, with a write by the agent after a write by ctr.
  ASSERT_TRUE(ctr->importArchive(archive("app", "2")));
  ASSERT_TRUE(agent->importArchive(archive("app", "3")));
  auto l = ctr->list();
  ASSERT_TRUE(l);
  EXPECT_EQ(l->size(), 2u) << "an import lost the other process's image";
  expectIntact(*agent);
}

TEST_F(ImageStoreSharedTest, ROOT_TwoWritersAtOnceLoseNothing) {
  auto a = open(), b = open();
  ASSERT_TRUE(a && b);
  constexpr int kEach = 8;
  std::vector<std::string> pa, pb;
  for (int i = 0; i < kEach; ++i) {
    pa.push_back(archive("a", std::to_string(i)));
    pb.push_back(archive("b", std::to_string(i)));
  }
  std::atomic<int> failures{0};
  auto run = [&](ImageStore& s, const std::vector<std::string>& ps) {
    for (const auto& p : ps)
      if (!s.importArchive(p)) ++failures;
  };
  std::thread ta(run, std::ref(*a), std::cref(pa)), tb(run, std::ref(*b), std::cref(pb));
  ta.join();
  tb.join();
  EXPECT_EQ(failures.load(), 0);
  auto fresh = open();
  ASSERT_TRUE(fresh);
  for (int i = 0; i < kEach; ++i) {
    for (const char* n : {"a", "b"}) {
      std::string ref = std::string("example.com/") + n + ":" + std::to_string(i);
      EXPECT_TRUE(fresh->get(ref)) << ref << " was lost";
      EXPECT_TRUE(a->get(ref)) << ref << " not seen by writer a";
    }
  }
  EXPECT_EQ(fresh->list()->size(), 2u * kEach);
  expectIntact(*fresh);
}

TEST_F(ImageStoreSharedTest, ROOT_ImageGcRacingImportsNeverLeavesAHalfImage) {
  auto importer = open(), collector = open();
  ASSERT_TRUE(importer && collector);
  std::vector<std::string> ps;
  for (int i = 0; i < 6; ++i) ps.push_back(archive("gc", std::to_string(i)));
  std::atomic<bool> done{false};
  std::atomic<int> removed{0};
  // Always "disk full", no minimum age: GC removes every image it may, as fast as it can.
  DiskUsageFn full = [] { return Result<DiskUsage>(DiskUsage{1000, 0}); };
  ImageGcPolicy policy{.high_threshold_percent = 85,
                       .low_threshold_percent = 80,
                       .min_age = std::chrono::seconds(0)};
  std::thread gc([&] {
    while (!done) {
      auto r = collector->garbageCollect(policy, full, std::chrono::system_clock::now());
      ASSERT_TRUE(r) << r.error().message();
      removed += static_cast<int>(r->removed.size());
    }
  });
  int imported = 0;
  for (int round = 0; round < 5; ++round) {
    for (const auto& p : ps) {
      auto r = importer->importArchive(p);
      ASSERT_TRUE(r) << r.error().message();
      ++imported;
      // Whatever GC did meanwhile, what the index lists now is whole.
    }
  }
  done = true;
  gc.join();
  EXPECT_GT(removed.load(), 0) << "GC never ran against the imports";
  expectIntact(*importer);
  // An image that survives is usable; a fresh import after all that is whole.
  ASSERT_TRUE(importer->importArchive(ps[0]));
  auto im = importer->get("example.com/gc:0");
  ASSERT_TRUE(im);
  auto dirs = importer->layerDirs(*im);
  ASSERT_TRUE(dirs) << dirs.error().message();
  EXPECT_TRUE(fs::exists((*dirs)[0] + "/id"));
  EXPECT_TRUE(fs::exists((*dirs)[1] + "/etc/base"));
}

TEST_F(ImageStoreSharedTest, ROOT_OpeningTheStoreKeepsAnotherProcesssStaging) {
  auto a = open();
  ASSERT_TRUE(a);
  // A live process's import in progress (this test's pid) and a dead one's debris.
  fs::create_directories(root_ + "/tmp/import-" + std::to_string(::getpid()) + "-abcdef/x");
  fs::create_directories(root_ + "/tmp/import-999999999-abcdef/x");
  fs::create_directories(root_ + "/tmp/import-old");
  auto b = open();
  ASSERT_TRUE(b);
  EXPECT_TRUE(fs::exists(root_ + "/tmp/import-" + std::to_string(::getpid()) + "-abcdef/x"));
  EXPECT_FALSE(fs::exists(root_ + "/tmp/import-999999999-abcdef"));
  EXPECT_FALSE(fs::exists(root_ + "/tmp/import-old"));
}

TEST_F(ImageStoreSharedTest, ROOT_ImportsZstdAndGzipArchives) {
  std::string plain = archive("z", "1");
  for (const char* tool : {"zstd", "gzip"}) {
    std::string ext = std::string(tool) == "zstd" ? ".zst" : ".gz";
    std::string cmd = std::string(tool) + " -q -k -f " + plain;
    if (std::system(cmd.c_str()) != 0) GTEST_SKIP() << tool << " not installed";
    auto s = open();
    auto r = s->importArchive(plain + ext);
    ASSERT_TRUE(r) << tool << ": " << r.error().message();
    EXPECT_TRUE(s->get("example.com/z:1"));
  }
  // A truncated zstd archive is rejected and changes nothing.
  auto bytes = readFile(plain + ".zst");
  ASSERT_TRUE(bytes);
  testing::writeFile(env_->dir() + "/cut.tar.zst", bytes->substr(0, bytes->size() / 2));
  auto s = open();
  auto before = s->list()->size();
  auto r = s->importArchive(env_->dir() + "/cut.tar.zst");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("zstd"), std::string::npos) << r.error().message();
  EXPECT_EQ(s->list()->size(), before);
  expectIntact(*s);
}

}  // namespace
}  // namespace skiff::runtime
