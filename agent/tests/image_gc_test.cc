#include "skiff/agent/image_gc.h"

#include <gtest/gtest.h>

#include "skiff/agent/eviction.h"
#include "skiff/agent/testing/fake_runtime.h"

namespace skiff::agent {
namespace {

using Event = std::tuple<std::string, std::string, std::string>;

class ImageGcTest : public ::testing::Test {
 protected:
  ImageGcManager make(ImageGcPolicy p = {}) {
    return ImageGcManager(rt_, p,
                          [this](const std::string& t, const std::string& r, const std::string& m) {
                            events_.emplace_back(t, r, m);
                          });
  }
  testing::FakeRuntime rt_;
  std::vector<Event> events_;
};

TEST_F(ImageGcTest, PolicyIsValidatedLikeTheKubelet) {
  EXPECT_TRUE(validateImageGcPolicy({}));
  auto high = validateImageGcPolicy({101, 80, std::chrono::seconds(120)});
  ASSERT_FALSE(high);
  EXPECT_EQ(high.error().message(),
            "invalid configuration: imageGCHighThresholdPercent (--image-gc-high-threshold) 101 "
            "must be between 0 "
            "and 100, inclusive");
  auto order = validateImageGcPolicy({80, 80, std::chrono::seconds(120)});
  ASSERT_FALSE(order);
  EXPECT_EQ(order.error().message(),
            "invalid configuration: imageGCLowThresholdPercent (--image-gc-low-threshold) 80 must "
            "be less than "
            "imageGCHighThresholdPercent (--image-gc-high-threshold) 80");
}

TEST_F(ImageGcTest, BelowTheHighThresholdNothingGoes) {
  rt_.addImage("a");
  rt_.image_disk_percent_ = 84;
  make().garbageCollect();
  EXPECT_EQ(rt_.listImages()->size(), 1u);
  EXPECT_TRUE(events_.empty());
}

TEST_F(ImageGcTest, AboveTheHighThresholdUnusedImagesGoAndAShortfallIsReported) {
  rt_.addImage("a");
  rt_.addImage("b");
  SandboxConfig sc;
  sc.name = "p";
  sc.ns = "default";
  sc.uid = "uid";
  auto sb = rt_.runPodSandbox(sc);
  ASSERT_TRUE(sb);
  ContainerConfig c;
  c.name = "c";
  c.image = "b";
  ASSERT_TRUE(rt_.createContainer(*sb, c));
  rt_.image_disk_percent_ = 90;  // 9000 of 10000 bytes; the low threshold wants 1000 freed
  make().garbageCollect();
  auto left = rt_.listImages();
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ(left->front().repo_tags.front(), "b");  // in use by a container
  EXPECT_TRUE(events_.empty());

  rt_.image_disk_percent_ = 95;  // wants 1500 bytes; only the in-use image is left
  make().garbageCollect();
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(
      events_[0],
      Event("Warning", "FreeDiskSpaceFailed",
            "Failed to garbage collect required amount of images. Attempted to free 1500 bytes, "
            "but only found 0 bytes eligible to free."));
}

TEST_F(ImageGcTest, HighThresholdOfHundredDisablesThePeriodicPass) {
  rt_.addImage("a");
  rt_.image_disk_percent_ = 100;
  make({100, 80, std::chrono::seconds(120)}).garbageCollect();
  EXPECT_EQ(rt_.listImages()->size(), 1u);
}

TEST_F(ImageGcTest, DeleteUnusedImagesIgnoresTheThresholds) {
  rt_.addImage("a");
  rt_.addImage("b");
  rt_.image_disk_percent_ = 20;
  auto freed = make().deleteUnusedImages();
  ASSERT_TRUE(freed);
  EXPECT_EQ(*freed, 2000u);
  EXPECT_TRUE(rt_.listImages()->empty());
}

// Under disk pressure the eviction manager first removes unused images; a pod goes only if that
// was not enough.
class ReclaimStats : public EvictionStatsSource {
 public:
  Result<std::map<std::string, SignalObservation>> observe() override {
    return std::map<std::string, SignalObservation>{{"imagefs.available", {available, 100'000}}};
  }
  std::map<std::string, PodUsage> podUsage(const std::vector<nlohmann::json>&) override {
    return {};
  }
  int64_t available = 10'000;
};

TEST(EvictionReclaim, ImageGcBeforeEvictingForDiskPressure) {
  ReclaimStats stats;
  auto t = parseEvictionHard({{"imagefs.available", "15%"}});
  ASSERT_TRUE(t);
  std::vector<std::string> evicted;
  nlohmann::json pod = {{"metadata", {{"name", "a"}, {"namespace", "default"}, {"uid", "uid-a"}}},
                        {"spec", {{"containers", nlohmann::json::array({{{"name", "c"}}})}}}};
  EvictionManager m(
      *t, stats, [&] { return std::vector<nlohmann::json>{pod}; },
      [&](const nlohmann::json& p, const std::string&, std::chrono::seconds) {
        evicted.push_back(p["metadata"]["name"]);
        return true;
      },
      [] { return std::chrono::system_clock::now(); });
  int reclaims = 0;
  m.setNodeReclaim([&](const std::string& signal) {
    EXPECT_EQ(signal, "imagefs.available");
    ++reclaims;
    stats.available += 50'000;  // the unused images were this big
    return true;
  });
  EXPECT_FALSE(m.synchronize());
  EXPECT_EQ(reclaims, 1);
  EXPECT_TRUE(evicted.empty());
  EXPECT_TRUE(m.pressure().disk);  // the condition was still observed this pass

  stats.available = 10'000;
  m.setNodeReclaim([&](const std::string&) { return false; });  // nothing left to remove
  EXPECT_EQ(m.synchronize(), "uid-a");
  EXPECT_EQ(evicted, std::vector<std::string>{"a"});
}

}  // namespace
}  // namespace skiff::agent
