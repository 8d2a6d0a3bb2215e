// Requests without credentials through api::Handler, as kube-apiserver treats them: with
// --anonymous-auth (the default) they are system:anonymous and RBAC decides (the bootstrap
// policy's system:public-info-viewer allows /healthz, /livez, /readyz and /version; anything
// else is 403 with the authorizer's message); with it off, every one is 401.
#include <gtest/gtest.h>

#include "skiff/master/testing/temp_handler.h"

namespace skiff::master::api {
namespace {

using json = nlohmann::json;

class AnonymousTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    HandlerOptions ho;
    ho.anonymous_auth = GetParam();
    ho.ready = [] { return true; };
    std::string err;
    server_ = testing::TempHandler::create({}, ho, &err);
    ASSERT_NE(server_, nullptr) << err;
  }
  HttpResponse get(const std::string& target, const std::string& impersonate = "") {
    HttpRequest r;
    r.method = "GET";
    r.target = target;
    r.headers = {{"accept", "application/json"}};
    if (!impersonate.empty()) r.headers["impersonate-user"] = impersonate;
    return server_->handler().handle(r);
  }
  std::unique_ptr<testing::TempHandler> server_;
};

TEST_P(AnonymousTest, PublicInfoPathsAndEverythingElse) {
  const bool anonymous = GetParam();
  for (const char* p : {"/healthz", "/livez", "/readyz", "/version"})
    EXPECT_EQ(get(p).status, anonymous ? 200 : 401) << p;
  HttpResponse api = get("/api");
  HttpResponse pods = get("/api/v1/namespaces/default/pods");
  HttpResponse imp = get("/api/v1/namespaces/default/pods", "kubernetes-admin");
  if (!anonymous) {
    for (const HttpResponse* r : {&api, &pods, &imp}) {
      EXPECT_EQ(r->status, 401);
      EXPECT_EQ(json::parse(r->body)["message"], "Unauthorized");
    }
    return;
  }
  EXPECT_EQ(api.status, 403);
  EXPECT_EQ(json::parse(api.body)["message"],
            "forbidden: User \"system:anonymous\" cannot get path \"/api\"");
  EXPECT_EQ(pods.status, 403);
  EXPECT_EQ(json::parse(pods.body)["message"],
            "pods is forbidden: User \"system:anonymous\" cannot list resource \"pods\" in API "
            "group \"\" in the namespace \"default\"");
  // Anonymous may not impersonate either: 403 from the impersonation check, not 401.
  EXPECT_EQ(imp.status, 403);
  EXPECT_EQ(json::parse(imp.body)["message"],
            "users \"kubernetes-admin\" is forbidden: User \"system:anonymous\" cannot impersonate "
            "resource \"users\" in API group \"\" at the cluster scope");
}

// A list whose fieldSelector names one object is authorized as a request for that name, so a
// Role's resourceNames allow it (how aggregated API servers read
// extension-apiserver-authentication through the bootstrap reader role).
TEST_P(AnonymousTest, ListPinnedByFieldSelectorMatchesResourceNames) {
  if (!GetParam()) GTEST_SKIP() << "anonymous requests are refused outright";
  Registry& reg = server_->registry();
  WriteOptions admin;
  admin.user = {"admin", {"system:masters"}};
  json binding = {{"metadata", {{"name", "reader"}}},
                  {"roleRef",
                   {{"apiGroup", "rbac.authorization.k8s.io"},
                    {"kind", "Role"},
                    {"name", "extension-apiserver-authentication-reader"}}},
                  {"subjects", json::array({{{"kind", "User"},
                                             {"apiGroup", "rbac.authorization.k8s.io"},
                                             {"name", "system:anonymous"}}})}};
  auto b = reg.create(*findResource("rbac.authorization.k8s.io", "v1", "rolebindings"),
                      "kube-system", binding, admin);
  ASSERT_TRUE(b) << b.error().message();
  const std::string cms = "/api/v1/namespaces/kube-system/configmaps";
  EXPECT_EQ(get(cms + "?fieldSelector=metadata.name%3Dextension-apiserver-authentication").status,
            200);
  EXPECT_EQ(get(cms + "?fieldSelector=metadata.name%3Dextension-apiserver-authentication&watch=1"
                      "&timeoutSeconds=1")
                .status,
            200);
  EXPECT_EQ(get(cms).status, 403);
  EXPECT_EQ(get(cms + "?fieldSelector=metadata.name%3Dother").status, 403);
  EXPECT_EQ(get(cms + "?fieldSelector=metadata.name!%3Dextension-apiserver-authentication").status,
            403);
}

INSTANTIATE_TEST_SUITE_P(AnonymousAuth, AnonymousTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "On" : "Off"; });

}  // namespace
}  // namespace skiff::master::api
