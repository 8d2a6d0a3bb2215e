// Where the API object source gets Services for env vars: from the watch cache once it has
// listed, from the API server before that.
#include "skiff/agent/object_source.h"

#include <gtest/gtest.h>

#include "skiff/agent/testing/fake_api_server.h"

namespace skiff::agent {
namespace {

using nlohmann::json;

json service(const std::string& ns, const std::string& name) {
  return {{"metadata", {{"name", name}, {"namespace", ns}}},
          {"spec", {{"clusterIP", "10.96.0.10"}, {"ports", {{{"port", 80}}}}}}};
}

int serviceRequests(testing::FakeApiServer& api) {
  int n = 0;
  for (const auto& r : api.requests()) n += r.find("/services") != std::string::npos;
  return n;
}

TEST(ObjectSourceTest, ServicesComeFromTheCacheOnceItListed) {
  auto api = std::make_shared<testing::FakeApiServer>();
  api->put("services", "default", service("default", "kubernetes"));
  api->put("services", "shop", service("shop", "api"));
  bool listed = false;
  std::map<std::string, std::vector<json>> cache = {
      {"default", {service("default", "kubernetes"), service("default", "other")}},
      {"shop", {service("shop", "api")}}};
  auto source = makeApiObjectSource(std::make_shared<KubeClient>(api), [&](const std::string& ns) {
    return listed ? std::optional(cache[ns]) : std::nullopt;
  });

  auto before = source->services("shop");  // the cache has not listed: ask the API server
  ASSERT_TRUE(before) << before.error().message();
  EXPECT_EQ(before->size(), 2u);
  int asked = serviceRequests(*api);
  EXPECT_GT(asked, 0);

  listed = true;
  auto after = source->services("shop");
  ASSERT_TRUE(after);
  ASSERT_EQ(after->size(), 2u);  // its own, plus default/kubernetes and nothing else of default
  EXPECT_EQ((*after)[0]["metadata"]["name"], "api");
  EXPECT_EQ((*after)[1]["metadata"]["name"], "kubernetes");
  EXPECT_EQ(source->services("default")->size(), 2u);
  EXPECT_EQ(serviceRequests(*api), asked);  // no request once cached
}

}  // namespace
}  // namespace skiff::agent
