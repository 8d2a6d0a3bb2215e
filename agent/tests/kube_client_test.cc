#include "skiff/agent/kube_client.h"

#include <gtest/gtest.h>

#include <mutex>
#include <set>
#include <thread>

#include "skiff/agent/testing/fake_api_server.h"

namespace skiff::agent {
namespace {

using testing::FakeApiServer;

class KubeClientTest : public ::testing::Test {
 protected:
  std::shared_ptr<FakeApiServer> api_ = std::make_shared<FakeApiServer>();
  KubeClientPtr client_ = std::make_shared<KubeClient>(api_);
};

TEST_F(KubeClientTest, CreateGetPatchDelete) {
  std::string coll = apiPath("", "v1", "configmaps", "default");
  auto created = client_->create(coll, {{"metadata", {{"name", "cm"}}}, {"data", {{"a", "1"}}}});
  ASSERT_TRUE(created) << created.error().message();
  EXPECT_FALSE((*created)["metadata"]["uid"].get<std::string>().empty());
  auto dup = client_->create(coll, {{"metadata", {{"name", "cm"}}}});
  ASSERT_FALSE(dup);
  EXPECT_TRUE(dup.error().is(ErrorCode::AlreadyExists));

  std::string path = apiPath("", "v1", "configmaps", "default", "cm");
  auto patched = client_->patch(path, {{"data", {{"b", "2"}}}}, PatchType::Merge);
  ASSERT_TRUE(patched);
  EXPECT_EQ((*patched)["data"]["a"], "1");
  EXPECT_EQ((*patched)["data"]["b"], "2");

  auto stale = *created;
  stale["data"] = {{"c", "3"}};
  auto conflict = client_->update(path, stale);
  ASSERT_FALSE(conflict);
  EXPECT_TRUE(conflict.error().is(ErrorCode::Conflict));

  ASSERT_TRUE(client_->remove(path));
  auto gone = client_->get(path);
  ASSERT_FALSE(gone);
  EXPECT_TRUE(gone.error().is(ErrorCode::NotFound));
  EXPECT_NE(gone.error().message().find("not found"), std::string::npos);
}

TEST_F(KubeClientTest, ListFiltersByFieldSelector) {
  api_->put("pods", "default", {{"metadata", {{"name", "a"}}}, {"spec", {{"nodeName", "n1"}}}});
  api_->put("pods", "default", {{"metadata", {{"name", "b"}}}, {"spec", {{"nodeName", "n2"}}}});
  ListOptions o;
  o.field_selector = "spec.nodeName=n1";
  auto l = client_->list(apiPath("", "v1", "pods"), o);
  ASSERT_TRUE(l);
  ASSERT_EQ((*l)["items"].size(), 1u);
  EXPECT_EQ((*l)["items"][0]["metadata"]["name"], "a");
}

TEST_F(KubeClientTest, WatchDeliversEventsFromResourceVersion) {
  api_->put("pods", "default", {{"metadata", {{"name", "old"}}}});
  std::string rv = std::to_string(api_->revision());
  api_->put("pods", "default", {{"metadata", {{"name", "new"}}}});
  CancelToken cancel;
  std::vector<std::string> seen;
  ListOptions o;
  o.resource_version = rv;
  auto r = client_->watch(
      apiPath("", "v1", "pods"), o,
      [&](const WatchEvent& ev) {
        seen.push_back(ev.type + " " + ev.object["metadata"]["name"].get<std::string>());
        return false;
      },
      cancel);
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], "ADDED new");
}

class RecordingHandler : public ReflectorHandler {
 public:
  void replace(const std::vector<json>& items) override {
    std::lock_guard lk(mu);
    ++lists;
    names.clear();
    for (const auto& i : items) names.insert(i["metadata"]["name"].get<std::string>());
  }
  void apply(const WatchEvent& ev) override {
    std::lock_guard lk(mu);
    std::string n = ev.object["metadata"]["name"];
    if (ev.type == "DELETED") {
      names.erase(n);
    } else {
      names.insert(n);
    }
  }
  std::set<std::string> snapshot() {
    std::lock_guard lk(mu);
    return names;
  }
  std::mutex mu;
  int lists = 0;
  std::set<std::string> names;
};

bool eventually(const std::function<bool()>& f) {
  for (int i = 0; i < 400; ++i) {
    if (f()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

TEST_F(KubeClientTest, ReflectorListsThenWatchesAndRelistsOnExpiry) {
  api_->put("pods", "default", {{"metadata", {{"name", "a"}}}});
  RecordingHandler h;
  Reflector refl(client_, apiPath("", "v1", "pods"), {}, h, "pods");
  CancelToken cancel;
  std::thread t([&] { refl.run(cancel); });
  ASSERT_TRUE(eventually([&] { return h.snapshot() == std::set<std::string>{"a"}; }));
  api_->put("pods", "default", {{"metadata", {{"name", "b"}}}});
  ASSERT_TRUE(eventually([&] { return h.snapshot().count("b") == 1; }));
  api_->erase("pods", "default", "a");
  ASSERT_TRUE(eventually([&] { return h.snapshot() == std::set<std::string>{"b"}; }));
  cancel.cancel();
  t.join();

  // While disconnected, "b" goes away and history is compacted: the next watch gets 410 and the
  // reflector relists, so the handler learns about the deletion through replace().
  api_->erase("pods", "default", "b");
  api_->put("pods", "default", {{"metadata", {{"name", "c"}}}});
  api_->compact();
  CancelToken cancel2;
  std::thread t2([&] { refl.run(cancel2); });
  ASSERT_TRUE(eventually([&] { return h.snapshot() == std::set<std::string>{"c"}; }));
  cancel2.cancel();
  t2.join();
}

// An API server's error status as the agent reads it: the Status message, and codes the
// callers branch on; a busy or restarting server (429, 500, 502, 503) is Unavailable, retried.
TEST(StatusErrorTest, StatusCodesAndMessages) {
  const std::string conflict =
      R"({"kind":"Status","reason":"AlreadyExists","message":"pods \"web\" already exists"})";
  Error e = statusError(409, conflict, "POST /api/v1/namespaces/default/pods");
  EXPECT_EQ(e.code(), ErrorCode::AlreadyExists);
  EXPECT_EQ(e.message(), "POST /api/v1/namespaces/default/pods: pods \"web\" already exists");
  EXPECT_EQ(statusError(409, R"({"reason":"Conflict"})", "x").code(), ErrorCode::Conflict);
  EXPECT_EQ(statusError(500, "", "GET /x").message(), "GET /x: http status 500");
  EXPECT_EQ(statusError(502, "bad gateway", "GET /x").message(), "GET /x: bad gateway");
  for (auto [status, code] : {std::pair{400, ErrorCode::BadRequest},
                              {401, ErrorCode::Unauthorized},
                              {403, ErrorCode::Forbidden},
                              {404, ErrorCode::NotFound},
                              {405, ErrorCode::Internal},
                              {410, ErrorCode::Gone},
                              {413, ErrorCode::TooLarge},
                              {415, ErrorCode::Unsupported},
                              {422, ErrorCode::Invalid},
                              {429, ErrorCode::Unavailable},
                              {500, ErrorCode::Unavailable},
                              {501, ErrorCode::Internal},
                              {502, ErrorCode::Unavailable},
                              {503, ErrorCode::Unavailable},
                              {504, ErrorCode::Timeout},
                              {302, ErrorCode::Internal}}) {
    EXPECT_EQ(statusError(status, "", "x").code(), code) << status;
  }
}

}  // namespace
}  // namespace skiff::agent
