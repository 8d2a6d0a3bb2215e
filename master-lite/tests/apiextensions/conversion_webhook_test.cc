// CRD conversion strategy Webhook against an in-test HTTPS converter (testing/hook_server.h):
// v1 keeps `spec.hostPort: "host:port"`, v2 (the storage version) `spec.host` and
// `spec.port`, as upstream's sample converter. Checks where the webhook is called (write at
// another version, read of an object stored at another version, one call per list page,
// watch events) and what its answer may not do, with upstream's messages.
#include "skiff/master/apiextensions/conversion_webhook.h"

#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <thread>

#include "skiff/master/api/storage_keys.h"
#include "skiff/master/apiextensions/apiextensions.h"
#include "skiff/master/testing/crd.h"
#include "skiff/master/testing/hook_server.h"
#include "skiff/master/testing/registry_fixture.h"

namespace skiff::master::apiextensions {
namespace {

using api::findResource;
using api::ResourceInfo;
using json = nlohmann::json;

constexpr const char* kV1 = "conv.example.com/v1";
constexpr const char* kV2 = "conv.example.com/v2";

// The sample converter: hostPort <-> host + port. `mode` bends the answer.
json convert(const json& review, const std::string& mode) {
  const json& req = review["request"];
  std::string to = req["desiredAPIVersion"];
  json out = json::array();
  for (json o : req["objects"]) {
    json& spec = o["spec"];
    if (o["apiVersion"] == kV1 && to == kV2 && spec.contains("hostPort")) {
      std::string hp = spec["hostPort"];
      spec["host"] = hp.substr(0, hp.find(':'));
      spec["port"] = hp.substr(hp.find(':') + 1);
      spec.erase("hostPort");
    } else if (o["apiVersion"] == kV2 && to == kV1 && spec.contains("host")) {
      spec["hostPort"] = spec["host"].get<std::string>() + ":" + spec["port"].get<std::string>();
      spec.erase("host");
      spec.erase("port");
    }
    o["apiVersion"] = to;
    if (mode == "rename") o["metadata"]["name"] = "other";
    if (mode == "relabel") {
      o["metadata"]["labels"]["converted"] = "yes";
      o["metadata"]["generation"] = 99;
      o["metadata"].erase("annotations");
    }
    if (mode == "badlabel") o["metadata"]["labels"]["converted"] = "not valid!";
    out.push_back(std::move(o));
  }
  if (mode == "none") out = json::array();
  json result = {{"status", "Success"}};
  if (mode == "fail") result = {{"status", "Failure"}, {"message", "cannot convert"}};
  std::string version = review["apiVersion"];
  json response = {{"result", result}, {"convertedObjects", out}};
  if (version == "apiextensions.k8s.io/v1") response["uid"] = req["uid"];
  return {{"apiVersion", version}, {"kind", "ConversionReview"}, {"response", response}};
}

class ConversionWebhookTest : public testing::RegistryFixture {
 protected:
  void setUpRegistry() override {
    ASSERT_TRUE(pki_.make(dir_)) << "openssl failed";
    server_ = std::make_unique<testing::HookServer>(pki_.cert, pki_.key,
                                                    [this](const std::string&, const json& review) {
                                                      std::lock_guard l(mu_);
                                                      last_review_ = review;
                                                      return convert(review, mode_);
                                                    });
    reg_->setCustomConverter(newWebhookConverter(*reg_));
    ctl_ = startCrdController(*reg_, false);
    opts_ = adminWrites();
  }
  void TearDown() override {
    ctl_.reset();
    api::removeCustomResources("gizmos.conv.example.com");
    server_.reset();
    RegistryFixture::TearDown();
  }

  json crd(json review_versions = {"v1", "v1beta1"}, int port = 0) {
    json str = {{"type", "string"}};
    json c = testing::crdObject("conv.example.com",
                                {{"plural", "gizmos"}, {"singular", "gizmo"}, {"kind", "Gizmo"}},
                                {testing::crdVersion("v1", false, {{"hostPort", str}}),
                                 testing::crdVersion("v2", true, {{"host", str}, {"port", str}})});
    c["spec"]["conversion"] = {
        {"strategy", "Webhook"},
        {"webhook",
         {{"conversionReviewVersions", std::move(review_versions)},
          {"clientConfig",
           {{"url",
             "https://127.0.0.1:" + std::to_string(port ? port : server_->port()) + "/convert"},
            {"caBundle", pki_.ca}}}}}};
    return c;
  }
  void serve(json c) {
    auto made =
        reg_->create(*findResource("apiextensions.k8s.io", "v1", "customresourcedefinitions"), "",
                     std::move(c), opts_);
    ASSERT_TRUE(made) << made.error().message();
    ctl_->sync();
    ASSERT_NE(findResource("conv.example.com", "v2", "gizmos"), nullptr);
  }
  const ResourceInfo& v1() { return *findResource("conv.example.com", "v1", "gizmos"); }
  const ResourceInfo& v2() { return *findResource("conv.example.com", "v2", "gizmos"); }
  json atV1(const std::string& name, const std::string& hostport) {
    return {{"apiVersion", kV1},
            {"kind", "Gizmo"},
            {"metadata", {{"name", name}, {"annotations", {{"note", "kept"}}}}},
            {"spec", {{"hostPort", hostport}}}};
  }
  json atV2(const std::string& name, const std::string& host, const std::string& port) {
    return {{"apiVersion", kV2},
            {"kind", "Gizmo"},
            {"metadata", {{"name", name}}},
            {"spec", {{"host", host}, {"port", port}}}};
  }
  int calls() { return server_->calls("/convert"); }
  void setMode(const std::string& m) {
    std::lock_guard l(mu_);
    mode_ = m;
  }
  // How reading the stored "a" through v1 fails while the webhook answers in `mode`.
  Error readFailureIn(const std::string& mode) {
    setMode(mode);
    auto got = reg_->get(v1(), "default", "a");
    EXPECT_FALSE(got) << "mode " << mode;
    return got ? Error(ErrorCode::Internal, "read through v1 succeeded") : got.error();
  }
  json lastReview() {
    std::lock_guard l(mu_);
    return last_review_;
  }
  json stored(const std::string& name) {
    auto kv = store_->get(
        api::storagePrefix(api::RegistryOptions{}.storage_prefix, v2(), "default") + name);
    return kv ? json::parse(kv->value) : json();
  }

  testing::HookPki pki_;
  std::unique_ptr<testing::HookServer> server_;
  std::unique_ptr<CrdController> ctl_;
  api::WriteOptions opts_;
  std::mutex mu_;
  std::string mode_ = "ok";
  json last_review_;
};

TEST_F(ConversionWebhookTest, AWriteAtV1IsStoredAtV2AndReadBackAtEither) {
  serve(crd());
  auto made = reg_->create(v1(), "default", atV1("a", "localhost:80"), opts_);
  ASSERT_TRUE(made) << made.error().message();
  EXPECT_EQ(calls(), 1);
  EXPECT_EQ(made->object["apiVersion"], kV1);
  EXPECT_EQ(made->object["spec"], json({{"hostPort", "localhost:80"}}));
  // The request: a v1 ConversionReview to the v2 storage version, no ?timeout in the URL
  // (upstream's conversion client sets none).
  json review = lastReview();
  EXPECT_EQ(review["apiVersion"], "apiextensions.k8s.io/v1");
  EXPECT_EQ(review["request"]["desiredAPIVersion"], kV2);
  EXPECT_FALSE(review["request"]["uid"].get<std::string>().empty());
  EXPECT_EQ(server_->lastTarget("/convert"), "/convert");

  json raw = stored("a");
  EXPECT_EQ(raw["apiVersion"], kV2);
  EXPECT_EQ(raw["spec"], json({{"host", "localhost"}, {"port", "80"}}));

  auto got2 = reg_->get(v2(), "default", "a");
  ASSERT_TRUE(got2) << got2.error().message();
  EXPECT_EQ(calls(), 1) << "the storage version needs no conversion";
  auto got1 = reg_->get(v1(), "default", "a");
  ASSERT_TRUE(got1) << got1.error().message();
  EXPECT_EQ(calls(), 2);
  EXPECT_EQ((*got1)["apiVersion"], kV1);
  EXPECT_EQ((*got1)["spec"], json({{"hostPort", "localhost:80"}}));
  EXPECT_EQ((*got1)["metadata"]["resourceVersion"], (*got2)["metadata"]["resourceVersion"]);
  EXPECT_EQ((*got1)["metadata"]["annotations"]["note"], "kept");
}

TEST_F(ConversionWebhookTest, AListIsConvertedInOneCallAndSelectorsSeeTheServedVersion) {
  serve(crd());
  for (const char* n : {"a", "b", "c"})
    ASSERT_TRUE(reg_->create(v2(), "default", atV2(n, n, "8080"), opts_));
  EXPECT_EQ(calls(), 0);
  auto list = reg_->list(v1(), "default", {});
  ASSERT_TRUE(list) << list.error().message();
  EXPECT_EQ(calls(), 1);
  EXPECT_EQ(lastReview()["request"]["objects"].size(), 3u);
  ASSERT_EQ((*list)["items"].size(), 3u);
  EXPECT_EQ((*list)["items"][1]["spec"], json({{"hostPort", "b:8080"}}));
  EXPECT_EQ((*list)["items"][1]["apiVersion"], kV1);
  auto text = reg_->listText(v1(), "default", {});
  ASSERT_TRUE(text) << text.error().message();
  EXPECT_EQ(json::parse(*text)["items"], (*list)["items"]);
  api::Selection by_name;
  by_name.field_selector = "metadata.name=c";
  auto one = reg_->list(v1(), "default", by_name);
  ASSERT_TRUE(one);
  ASSERT_EQ((*one)["items"].size(), 1u);
  EXPECT_EQ((*one)["items"][0]["spec"]["hostPort"], "c:8080");
}

TEST_F(ConversionWebhookTest, OnlyLabelsAndAnnotationsOfTheAnswerAreKept) {
  serve(crd());
  ASSERT_TRUE(reg_->create(v2(), "default", atV2("a", "h", "1"), opts_));
  auto stored_a = reg_->get(v2(), "default", "a");
  ASSERT_TRUE(stored_a);
  setMode("relabel");
  auto got = reg_->get(v1(), "default", "a");
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ((*got)["metadata"]["labels"]["converted"], "yes");
  EXPECT_EQ((*got)["metadata"]["generation"], (*stored_a)["metadata"]["generation"]);
  EXPECT_EQ((*got)["metadata"]["uid"], (*stored_a)["metadata"]["uid"]);

  Error renamed = readFailureIn("rename");
  EXPECT_EQ(renamed.message(),
            "conversion webhook for conv.example.com/v2, Kind=Gizmo returned invalid object: "
            "must have the same name: a != other");
  json status = api::statusFromError(renamed, &v1(), "a");
  EXPECT_EQ(status["code"], 500);
  EXPECT_FALSE(status.contains("reason")) << "upstream's reason is Unknown (empty)";

  std::string bad_label = readFailureIn("badlabel").message();
  EXPECT_EQ(bad_label.rfind("conversion webhook for conv.example.com/v2, Kind=Gizmo returned "
                            "invalid metadata: metadata.labels: Invalid value: \"not valid!\"",
                            0),
            0u)
      << bad_label;
}

TEST_F(ConversionWebhookTest, FailuresNameTheWebhookAndAFailedWriteStoresNothing) {
  serve(crd());
  ASSERT_TRUE(reg_->create(v2(), "default", atV2("a", "h", "1"), opts_));
  EXPECT_EQ(readFailureIn("fail").message(),
            "conversion webhook for conv.example.com/v2, Kind=Gizmo failed: cannot convert");
  auto made = reg_->create(v1(), "default", atV1("b", "x:1"), opts_);
  ASSERT_FALSE(made);
  EXPECT_EQ(made.error().message(),
            "conversion webhook for conv.example.com/v1, Kind=Gizmo failed: cannot convert");
  EXPECT_TRUE(stored("b").is_null());
  auto list = reg_->list(v1(), "default", {});
  ASSERT_FALSE(list);

  EXPECT_EQ(readFailureIn("none").message(),
            "conversion webhook for conv.example.com/v2, Kind=Gizmo returned 0 objects, "
            "expected 1");
}

TEST_F(ConversionWebhookTest, AnUnreachableWebhookIsAPostError) {
  int dead = 0;
  {
    testing::HookServer gone(pki_.cert, pki_.key,
                             [](const std::string&, const json&) { return json::object(); });
    dead = gone.port();
  }
  serve(crd({"v1"}, dead));
  auto made = reg_->create(v1(), "default", atV1("a", "x:1"), opts_);
  ASSERT_FALSE(made);
  std::string want =
      "conversion webhook for conv.example.com/v1, Kind=Gizmo failed: Post "
      "\"https://127.0.0.1:" +
      std::to_string(dead) + "/convert\": ";
  EXPECT_EQ(made.error().message().rfind(want, 0), 0u) << made.error().message();
}

TEST_F(ConversionWebhookTest, V1beta1ReviewsAreSentWhenTheCrdAsksForThem) {
  serve(crd({"v1beta1"}));
  ASSERT_TRUE(reg_->create(v2(), "default", atV2("a", "h", "1"), opts_));
  auto got = reg_->get(v1(), "default", "a");
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ(lastReview()["apiVersion"], "apiextensions.k8s.io/v1beta1");
  EXPECT_EQ((*got)["spec"]["hostPort"], "h:1");
}

TEST_F(ConversionWebhookTest, AWatchAtV1ConvertsEachEventAndEndsWithAnErrorEvent) {
  serve(crd());
  auto before = reg_->list(v2(), "default", {});
  ASSERT_TRUE(before);
  api::Selection sel;
  sel.resource_version = (*before)["metadata"]["resourceVersion"];
  auto w = reg_->watch(v1(), "default", sel);
  ASSERT_TRUE(w) << w.error().message();
  ASSERT_TRUE(reg_->create(v2(), "default", atV2("a", "h", "1"), opts_));
  std::vector<api::WatchQueue::Item> got;
  for (int i = 0; i < 200 && got.empty(); ++i) {
    got = (*w)->next();
    if (got.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].type, WatchEventType::Added);
  EXPECT_EQ(got[0].object["spec"]["hostPort"], "h:1");

  setMode("fail");
  ASSERT_TRUE(reg_->create(v2(), "default", atV2("b", "h", "2"), opts_));
  got.clear();
  for (int i = 0; i < 200 && got.empty(); ++i) {
    got = (*w)->next();
    if (got.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].type, WatchEventType::Error);
  EXPECT_EQ(got[0].object["code"], 500);
  EXPECT_EQ(got[0].object["message"],
            "conversion webhook for conv.example.com/v2, Kind=Gizmo failed: cannot convert");
  EXPECT_TRUE((*w)->closed());
}

}  // namespace
}  // namespace skiff::master::apiextensions
