#include "skiff/master/api/patch.h"

#include <gtest/gtest.h>

namespace skiff::master::api {
namespace {

using json = nlohmann::json;

TEST(StrategicMergePatchTest, ContainersMergeByNameAndEnvByName) {
  json live = R"({"spec":{"template":{"spec":{"containers":[
      {"name":"a","image":"a:1","env":[{"name":"X","value":"1"}]},
      {"name":"b","image":"b:1"}]}}}})"_json;
  json patch = R"({"spec":{"template":{"spec":{"containers":[
      {"name":"a","env":[{"name":"Y","value":"2"}]}]}}}})"_json;
  auto out = applyStrategicMergePatch(live, patch);
  ASSERT_TRUE(out);
  const json& cs = (*out)["spec"]["template"]["spec"]["containers"];
  ASSERT_EQ(cs.size(), 2u);
  EXPECT_EQ(cs[0]["image"], "a:1");
  ASSERT_EQ(cs[0]["env"].size(), 2u);
  EXPECT_EQ(cs[0]["env"][1]["name"], "Y");
  EXPECT_EQ(cs[1]["name"], "b");
}

TEST(StrategicMergePatchTest, DeleteDirectiveAndNullRemove) {
  json live =
      R"({"metadata":{"labels":{"a":"1","b":"2"}},"spec":{"containers":[{"name":"a"},{"name":"b"}]}})"_json;
  json patch =
      R"({"metadata":{"labels":{"a":null}},"spec":{"containers":[{"name":"b","$patch":"delete"}]}})"_json;
  auto out = applyStrategicMergePatch(live, patch);
  ASSERT_TRUE(out);
  EXPECT_EQ((*out)["metadata"]["labels"], json({{"b", "2"}}));
  ASSERT_EQ((*out)["spec"]["containers"].size(), 1u);
  EXPECT_EQ((*out)["spec"]["containers"][0]["name"], "a");
}

TEST(StrategicMergePatchTest, SetElementOrderAndRetainKeys) {
  json live = R"({"spec":{"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":"25%"}},
                 "containers":[{"name":"a"},{"name":"b"}]}})"_json;
  json patch = R"({"spec":{"strategy":{"$retainKeys":["type"],"type":"Recreate"},
                  "$setElementOrder/containers":[{"name":"b"},{"name":"a"}],
                  "containers":[{"name":"a","image":"x"}]}})"_json;
  auto out = applyStrategicMergePatch(live, patch);
  ASSERT_TRUE(out);
  EXPECT_EQ((*out)["spec"]["strategy"], json({{"type", "Recreate"}}));
  EXPECT_EQ((*out)["spec"]["containers"][0]["name"], "b");
  EXPECT_EQ((*out)["spec"]["containers"][1]["image"], "x");
  EXPECT_FALSE((*out)["spec"].contains("$setElementOrder/containers"));
}

TEST(StrategicMergePatchTest, PortsKeysDifferForContainersAndServices) {
  json svc = R"({"spec":{"ports":[{"port":80,"targetPort":8080},{"port":443}]}})"_json;
  auto out =
      applyStrategicMergePatch(svc, R"({"spec":{"ports":[{"port":80,"targetPort":9090}]}})"_json);
  ASSERT_TRUE(out);
  ASSERT_EQ((*out)["spec"]["ports"].size(), 2u);
  EXPECT_EQ((*out)["spec"]["ports"][0]["targetPort"], 9090);
  EXPECT_EQ(strategicMergeKey("/spec/containers", "ports", json()), "containerPort");
  EXPECT_EQ(strategicMergeKey("/subsets", "ports", json()), "");
}

TEST(StrategicMergePatchTest, FinalizersMergeAsSetOtherListsReplace) {
  json live = R"({"metadata":{"finalizers":["a"]},"spec":{"args":["x","y"]}})"_json;
  auto out = applyStrategicMergePatch(
      live, R"({"metadata":{"finalizers":["b","a"]},"spec":{"args":["z"]}})"_json);
  ASSERT_TRUE(out);
  EXPECT_EQ((*out)["metadata"]["finalizers"], json({"a", "b"}));
  EXPECT_EQ((*out)["spec"]["args"], json({"z"}));
}

// kubectl apply's patch of ingress-nginx's ValidatingWebhookConfiguration carries only what
// changed in the webhook (its rules) beside the merge key: the rest of the webhook stays.
TEST(StrategicMergePatchTest, WebhooksMergeByNameKeepingTheirOtherFields) {
  json live = R"({"webhooks":[{"name":"validate.nginx.ingress.kubernetes.io",
      "sideEffects":"None","admissionReviewVersions":["v1"],
      "clientConfig":{"service":{"namespace":"ingress-nginx","name":"admission"}},
      "matchConditions":[{"name":"a","expression":"true"}],
      "rules":[{"operations":["CREATE"],"resources":["ingresses"],"scope":"*"}]}]})"_json;
  json patch = R"({"$setElementOrder/webhooks":[{"name":"validate.nginx.ingress.kubernetes.io"}],
      "webhooks":[{"name":"validate.nginx.ingress.kubernetes.io",
      "matchConditions":[{"name":"b","expression":"false"}],
      "rules":[{"operations":["CREATE","UPDATE"],"resources":["ingresses"]}]}]})"_json;
  auto out = applyStrategicMergePatch(live, patch);
  ASSERT_TRUE(out);
  ASSERT_EQ((*out)["webhooks"].size(), 1u);
  const json& w = (*out)["webhooks"][0];
  EXPECT_EQ(w["sideEffects"], "None");
  EXPECT_EQ(w["admissionReviewVersions"], json::array({"v1"}));
  EXPECT_EQ(w["clientConfig"]["service"]["name"], "admission");
  EXPECT_EQ(w["rules"][0]["operations"].size(), 2u);  // rules are atomic: replaced
  EXPECT_EQ(w["matchConditions"].size(), 2u);         // merged by name
}

TEST(StrategicMergePatchTest, PodIPsMergeByIpAndPodCIDRsAsASet) {
  json live =
      R"({"spec":{"podCIDRs":["10.0.0.0/24"]},"status":{"podIPs":[{"ip":"10.0.0.5"}]}})"_json;
  json patch = R"({"spec":{"podCIDRs":["fd00::/64"]},"status":{"podIPs":[{"ip":"fd00::5"}]}})"_json;
  auto out = applyStrategicMergePatch(live, patch);
  ASSERT_TRUE(out);
  EXPECT_EQ((*out)["spec"]["podCIDRs"], json::array({"10.0.0.0/24", "fd00::/64"}));
  EXPECT_EQ((*out)["status"]["podIPs"].size(), 2u);
}

TEST(StrategicMergePatchTest, ElementWithoutMergeKeyIsBadRequest) {
  auto out = applyStrategicMergePatch(R"({"spec":{"containers":[{"name":"a"}]}})"_json,
                                      R"({"spec":{"containers":[{"image":"x"}]}})"_json);
  ASSERT_FALSE(out);
  EXPECT_TRUE(out.error().is(ErrorCode::BadRequest));
}

TEST(JsonPatchTest, AppliesAndReportsFailures) {
  auto ok =
      applyJsonPatch(R"({"data":{}})"_json, R"([{"op":"add","path":"/data/c","value":"3"}])"_json);
  ASSERT_TRUE(ok);
  EXPECT_EQ((*ok)["data"]["c"], "3");
  auto bad = applyJsonPatch(R"({"data":{}})"_json, R"([{"op":"remove","path":"/nope"}])"_json);
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().is(ErrorCode::Invalid));
  EXPECT_FALSE(applyJsonPatch(json::object(), json::object()));
}

TEST(MergePatchTest, ReplacesListsAndDeletesNulls) {
  auto out = applyMergePatch(R"({"a":[1,2],"b":1,"c":{"d":1}})"_json,
                             R"({"a":[3],"b":null,"c":{"e":2}})"_json);
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, R"({"a":[3],"c":{"d":1,"e":2}})"_json);
}

}  // namespace
}  // namespace skiff::master::api
