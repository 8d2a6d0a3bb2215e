// ObjectCache (object_cache.h): a kind's objects in memory, current after every committed
// write, listed by namespace in key order.
#include "skiff/master/api/object_cache.h"

#include <gtest/gtest.h>

#include "skiff/master/api/registry.h"
#include "skiff/master/testing/registry_fixture.h"

namespace skiff::master::api {
namespace {

using json = nlohmann::json;

class ObjectCacheTest : public ::skiff::master::testing::RegistryFixture {
 protected:
  const ResourceInfo& limitRanges() { return *findResource("", "v1", "limitranges"); }
  void createRange(const std::string& ns, const std::string& name, const std::string& memory) {
    json lr = {
        {"metadata", {{"name", name}}},
        {"spec",
         {{"limits", json::array({{{"type", "Container"}, {"default", {{"memory", memory}}}}})}}}};
    auto c = reg_->create(limitRanges(), ns, lr, opts_);
    ASSERT_TRUE(c) << c.error().message();
  }
  static std::vector<std::string> names(const std::vector<ObjectCache::ObjectPtr>& objs) {
    std::vector<std::string> out;
    for (const auto& o : objs) out.push_back((*o)["metadata"]["name"]);
    return out;
  }
  WriteOptions opts_;
};

TEST_F(ObjectCacheTest, FollowsEveryWriteAndListsByNamespace) {
  ASSERT_TRUE(reg_->create(*findResource("", "v1", "namespaces"), "",
                           {{"metadata", {{"name", "other"}}}}, opts_));
  createRange("default", "b", "64Mi");
  ObjectCache cache(*reg_, limitRanges());
  auto first = cache.list("default");
  ASSERT_TRUE(first) << first.error().message();
  EXPECT_EQ(names(*first), std::vector<std::string>{"b"});
  // Written after the cache started: seen by the next list, without waiting.
  createRange("default", "a", "32Mi");
  createRange("other", "c", "16Mi");
  EXPECT_EQ(names(*cache.list("default")), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(names(*cache.list("other")), std::vector<std::string>{"c"});
  EXPECT_EQ(names(*cache.list()), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(cache.list("none")->empty());
  // As the registry lists them: apiVersion, kind, resourceVersion and defaults.
  const json& a = *cache.list("default")->front();
  EXPECT_EQ(a["apiVersion"], "v1");
  EXPECT_EQ(a["kind"], "LimitRange");
  EXPECT_EQ(a["metadata"]["resourceVersion"],
            (*reg_->get(limitRanges(), "default", "a"))["metadata"]["resourceVersion"]);
  // An update and a delete are seen at once too.
  ASSERT_TRUE(reg_->patch(limitRanges(), "default", "a", PatchKind::Merge,
                          {{"metadata", {{"labels", {{"x", "y"}}}}}}, opts_));
  EXPECT_EQ((*cache.list("default")->front())["metadata"]["labels"]["x"], "y");
  ASSERT_TRUE(reg_->remove(limitRanges(), "default", "b", {}, opts_));
  EXPECT_EQ(names(*cache.list("default")), std::vector<std::string>{"a"});
}

}  // namespace
}  // namespace skiff::master::api
