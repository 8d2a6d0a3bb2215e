// core v1 and events.k8s.io/v1 Events are one resource, as in kube-apiserver: written through
// either API, read, listed, selected and watched through both, with the v1.20 conformance
// test's field selectors (core `source` falls back to the reporting component).
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "skiff/master/testing/registry_fixture.h"

namespace skiff::master::api {
namespace {

class EventsApiTest : public testing::RegistryFixture {
 protected:
  const ResourceInfo& core() { return *findResource("", "v1", "events"); }
  const ResourceInfo& events() { return *findResource("events.k8s.io", "v1", "events"); }
  json newEvent(const std::string& name) {
    return {{"apiVersion", "events.k8s.io/v1"},
            {"kind", "Event"},
            {"metadata", {{"name", name}, {"labels", {{"testevent-constant", "true"}}}}},
            {"regarding", {{"kind", "Pod"}, {"name", "p"}, {"namespace", "default"}}},
            {"eventTime", "2017-09-19T13:49:16.000000Z"},
            {"note", "This is " + name},
            {"action", "Do"},
            {"reason", "Test"},
            {"type", "Normal"},
            {"reportingController", "test-controller"},
            {"reportingInstance", "test-node"}};
  }
  std::vector<std::string> names(const Result<json>& list) {
    std::vector<std::string> out;
    if (!list) return {"error: " + list.error().message()};
    for (const auto& i : (*list)["items"]) out.push_back(i["metadata"]["name"]);
    return out;
  }
};

TEST_F(EventsApiTest, AnEventWrittenThroughEitherApiIsReadThroughBoth) {
  auto made = reg_->create(events(), "default", newEvent("e1"), adminWrites());
  ASSERT_TRUE(made) << made.error().message();
  EXPECT_EQ(made->object["note"], "This is e1");
  auto as_core = reg_->get(core(), "default", "e1");
  ASSERT_TRUE(as_core) << as_core.error().message();
  EXPECT_EQ((*as_core)["apiVersion"], "v1");
  EXPECT_EQ((*as_core)["message"], "This is e1");
  EXPECT_EQ((*as_core)["involvedObject"]["name"], "p");
  EXPECT_EQ((*as_core)["reportingComponent"], "test-controller");
  EXPECT_FALSE(as_core->contains("note"));

  json c = {{"metadata", {{"name", "c1"}}},
            {"involvedObject", {{"kind", "Pod"}, {"name", "q"}}},
            {"message", "from core"},
            {"source", {{"component", "kubelet"}}},
            {"count", 3},
            {"reason", "Pulled"},
            {"type", "Normal"}};
  ASSERT_TRUE(reg_->create(core(), "default", c, adminWrites()));
  auto as_events = reg_->get(events(), "default", "c1");
  ASSERT_TRUE(as_events) << as_events.error().message();
  EXPECT_EQ((*as_events)["apiVersion"], "events.k8s.io/v1");
  EXPECT_EQ((*as_events)["note"], "from core");
  EXPECT_EQ((*as_events)["regarding"]["name"], "q");
  EXPECT_EQ((*as_events)["deprecatedSource"]["component"], "kubelet");
  EXPECT_EQ((*as_events)["deprecatedCount"], 3);

  EXPECT_EQ(names(reg_->list(core(), "default", {})), (std::vector<std::string>{"c1", "e1"}));
  EXPECT_EQ(names(reg_->list(events(), "", {})), (std::vector<std::string>{"c1", "e1"}));
  auto text = reg_->listText(events(), "default", {});
  ASSERT_TRUE(text);
  EXPECT_EQ(json::parse(*text)["items"][1]["note"], "This is e1");
}

TEST_F(EventsApiTest, FieldSelectorsOfBothApis) {
  ASSERT_TRUE(reg_->create(events(), "default", newEvent("e1"), adminWrites()));
  Selection source;
  source.field_selector = "source=test-controller";
  EXPECT_EQ(names(reg_->list(core(), "default", source)), std::vector<std::string>{"e1"});
  auto text = reg_->listText(core(), "default", source);
  ASSERT_TRUE(text);
  EXPECT_EQ(json::parse(*text)["items"].size(), 1u);
  Selection reporting;
  reporting.field_selector = "reportingController=test-controller";
  EXPECT_EQ(names(reg_->list(events(), "default", reporting)), std::vector<std::string>{"e1"});
  text = reg_->listText(events(), "default", reporting);
  ASSERT_TRUE(text);
  EXPECT_EQ(json::parse(*text)["items"].size(), 1u);
  Selection regarding;
  regarding.field_selector = "regarding.name=p";
  EXPECT_EQ(names(reg_->list(events(), "default", regarding)), std::vector<std::string>{"e1"});
  regarding.field_selector = "regarding.name=other";
  EXPECT_TRUE(names(reg_->list(events(), "default", regarding)).empty());
}

TEST_F(EventsApiTest, AnEventsWatcherSelectsOnItsOwnFieldNames) {
  auto before = reg_->list(events(), "default", {});
  ASSERT_TRUE(before);
  Selection sel;
  sel.resource_version = (*before)["metadata"]["resourceVersion"];
  sel.field_selector = "reportingController=test-controller";
  auto w = reg_->watch(events(), "default", sel);
  ASSERT_TRUE(w) << w.error().message();
  json other = newEvent("e0");
  other["reportingController"] = "someone-else";
  ASSERT_TRUE(reg_->create(events(), "default", other, adminWrites()));
  ASSERT_TRUE(reg_->create(events(), "default", newEvent("e1"), adminWrites()));
  std::vector<WatchQueue::Item> got;
  for (int i = 0; i < 200 && got.empty(); ++i) {
    got = (*w)->next();
    if (got.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].object["metadata"]["name"], "e1");
  EXPECT_EQ(got[0].object["note"], "This is e1");
}

}  // namespace
}  // namespace skiff::master::api
