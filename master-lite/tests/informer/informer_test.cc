#include "skiff/master/informer/informer.h"

#include <gtest/gtest.h>

#include "skiff/master/informer/meta.h"
#include "skiff/master/informer/options.h"
#include "skiff/master/informer/shared_informers.h"
#include "skiff/master/informer/workqueue.h"
#include "skiff/master/testing/fake_api_client.h"

namespace skiff::master {
namespace {

using testing::FakeApiClient;

json pod(const std::string& name, const std::string& node = "") {
  json p = {{"metadata", {{"name", name}}}, {"spec", json::object()}};
  if (!node.empty()) p["spec"]["nodeName"] = node;
  return p;
}

TEST(InformerTest, ListsThenWatchesAndIndexes) {
  FakeApiClient c;
  ASSERT_TRUE(c.create(gvr::kPods, "default", pod("a", "n1")));
  Informer inf(c, gvr::kPods);
  inf.addIndex("node", [](const json& o) {
    return std::vector<std::string>{meta::str(o, {"spec", "nodeName"})};
  });
  std::vector<std::string> events;
  inf.addEventHandlers({
      .on_add = [&](const json& o) { events.push_back("add " + meta::name(o)); },
      .on_update = [&](const json&, const json& n) { events.push_back("update " + meta::name(n)); },
      .on_delete = [&](const json& o) { events.push_back("delete " + meta::name(o)); },
  });
  ASSERT_TRUE(inf.start(false));
  EXPECT_TRUE(inf.hasSynced());
  ASSERT_TRUE(c.create(gvr::kPods, "default", pod("b", "n2")));
  ASSERT_TRUE(
      c.patch(gvr::kPods, "default", "b", PatchType::Merge, json{{"spec", {{"nodeName", "n1"}}}}));
  EXPECT_EQ(inf.byIndex("node", "n1").size(), 2u);
  EXPECT_EQ(inf.byIndex("node", "n2").size(), 0u);
  ASSERT_TRUE(c.remove(gvr::kPods, "default", "a", opts::grace(0)));
  EXPECT_EQ(inf.size(), 1u);
  EXPECT_EQ(events, (std::vector<std::string>{"add a", "add b", "update b", "delete a"}));
  inf.stop();
}

TEST(InformerTest, RelistsAfterGoneAndReportsMissedChanges) {
  FakeApiClient c;
  ASSERT_TRUE(c.create(gvr::kPods, "default", pod("a")));
  Informer inf(c, gvr::kPods);
  std::vector<std::string> events;
  inf.addEventHandlers({
      .on_add = [&](const json& o) { events.push_back("add " + meta::name(o)); },
      .on_update = nullptr,
      .on_delete = [&](const json& o) { events.push_back("delete " + meta::name(o)); },
  });
  ASSERT_TRUE(inf.start(false));
  c.expireWatchesForTest();
  // Changes the informer cannot see until it relists.
  ASSERT_TRUE(c.create(gvr::kPods, "default", pod("b")));
  ASSERT_TRUE(c.remove(gvr::kPods, "default", "a"));
  EXPECT_EQ(events, (std::vector<std::string>{"add a"}));
  EXPECT_TRUE(inf.relistIfNeededForTest());
  EXPECT_EQ(inf.relistCountForTest(), 2);
  EXPECT_EQ(events, (std::vector<std::string>{"add a", "add b", "delete a"}));
  ASSERT_TRUE(c.create(gvr::kPods, "default", pod("c")));
  EXPECT_EQ(events.back(), "add c");
  inf.stop();
}

TEST(SharedInformersTest, CachedObjectsAndHandlersCarryNoManagedFields) {
  FakeApiClient c;
  json mf = json::array({{{"manager", "kubectl"},
                          {"operation", "Update"},
                          {"fieldsV1", {{"f:spec", json::object()}}}}});
  json listed = pod("listed");
  listed["metadata"]["managedFields"] = mf;
  ASSERT_TRUE(c.create(gvr::kPods, "default", listed));
  SharedInformers shared(c);
  Informer& inf = shared.get(gvr::kPods);
  int handed_with_fields = 0, handed = 0;
  inf.addEventHandlers({
      .on_add =
          [&](const json& o) {
            ++handed;
            handed_with_fields += o["metadata"].contains("managedFields");
          },
      .on_update = nullptr,
      .on_delete = nullptr,
  });
  ASSERT_TRUE(shared.start(false));
  json watched = pod("watched");
  watched["metadata"]["managedFields"] = mf;
  ASSERT_TRUE(c.create(gvr::kPods, "default", watched));
  ASSERT_EQ(handed, 2);  // one from the list, one from the watch
  EXPECT_EQ(handed_with_fields, 0);
  for (const auto& p : inf.listShared()) {
    EXPECT_FALSE((*p)["metadata"].contains("managedFields")) << meta::name(*p);
  }
  shared.stop();
}

TEST(WorkQueueTest, DedupsAndRequeuesWhileProcessing) {
  auto clock = std::make_shared<FakeClock>();
  WorkQueue q(clock);
  q.add("a");
  q.add("a");
  q.add("b");
  EXPECT_EQ(q.len(), 2u);
  auto k = q.tryGet();
  ASSERT_TRUE(k);
  EXPECT_EQ(*k, "a");
  q.add("a");  // while processing: not handed out twice
  EXPECT_EQ(*q.tryGet(), "b");
  EXPECT_FALSE(q.tryGet());
  q.done("a");
  EXPECT_EQ(*q.tryGet(), "a");
}

TEST(WorkQueueTest, ExponentialBackoffOnFakeClock) {
  auto clock = std::make_shared<FakeClock>();
  WorkQueue q(clock, std::chrono::milliseconds(5), std::chrono::milliseconds(40));
  q.addRateLimited("k");  // 5ms
  EXPECT_FALSE(q.tryGet());
  clock->advance(std::chrono::milliseconds(5));
  ASSERT_TRUE(q.tryGet());
  q.done("k");
  q.addRateLimited("k");  // 10ms
  clock->advance(std::chrono::milliseconds(9));
  EXPECT_FALSE(q.tryGet());
  clock->advance(std::chrono::milliseconds(1));
  ASSERT_TRUE(q.tryGet());
  q.done("k");
  q.addRateLimited("k");  // 20
  q.addRateLimited("k");  // 40 (cap); the earlier pending add wins
  EXPECT_EQ(q.numRequeues("k"), 4);
  clock->advance(std::chrono::milliseconds(20));
  ASSERT_TRUE(q.tryGet());
  q.done("k");
  q.forget("k");
  EXPECT_EQ(q.numRequeues("k"), 0);
}

}  // namespace
}  // namespace skiff::master
