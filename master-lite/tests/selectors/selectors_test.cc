#include "skiff/master/selectors.h"

#include <gtest/gtest.h>

namespace skiff::master {
namespace {

using json = nlohmann::json;
using Labels = std::map<std::string, std::string>;

TEST(LabelSelectorTest, EqualityAndSetBasedOnMapsAndJson) {
  auto s = LabelSelector::parse("app=web, tier in (a,b),env notin (prod),track,!legacy");
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_TRUE(s->matches(Labels{{"app", "web"}, {"tier", "a"}, {"track", "x"}}));
  EXPECT_FALSE(s->matches(Labels{{"app", "web"}, {"tier", "c"}, {"track", "x"}}));
  EXPECT_FALSE(s->matches(Labels{{"app", "web"}, {"tier", "a"}, {"track", "x"}, {"env", "prod"}}));
  EXPECT_FALSE(s->matches(Labels{{"app", "web"}, {"tier", "a"}}));
  EXPECT_FALSE(s->matches(Labels{{"app", "web"}, {"tier", "a"}, {"track", "x"}, {"legacy", "1"}}));
  // The same answers from metadata.labels as stored JSON.
  EXPECT_TRUE(s->matches(json{{"app", "web"}, {"tier", "a"}, {"track", "x"}}));
  EXPECT_FALSE(s->matches(json{{"app", "web"}, {"tier", "a"}, {"track", "x"}, {"legacy", "1"}}));
  EXPECT_FALSE(s->matches(json(nullptr)));
  EXPECT_EQ(s->toString(), "app=web,tier in (a,b),env notin (prod),track,!legacy");
}

TEST(LabelSelectorTest, OperatorsOneByOne) {
  json labels = {{"app", "web"}, {"tier", "fe"}, {"replicas", "3"}};
  auto m = [&](const std::string& text) {
    auto sel = LabelSelector::parse(text);
    EXPECT_TRUE(sel) << text;
    return sel && sel->matches(labels);
  };
  EXPECT_TRUE(m(""));
  EXPECT_TRUE(m("app=web"));
  EXPECT_TRUE(m("app==web,tier"));
  EXPECT_FALSE(m("app!=web"));
  EXPECT_TRUE(m("tier in (fe, be)"));
  EXPECT_FALSE(m("tier notin (fe)"));
  EXPECT_TRUE(m("!canary"));
  EXPECT_FALSE(m("canary"));
  EXPECT_TRUE(m("env notin (prod)"));  // an absent key satisfies notin and !=
  EXPECT_TRUE(m("env!=prod"));
  EXPECT_TRUE(m("replicas>2"));
  EXPECT_FALSE(m("replicas<3"));
  EXPECT_FALSE(m("app>1"));  // not a number: no match
}

TEST(LabelSelectorTest, BadSyntaxIsBadRequest) {
  for (const char* text : {"app in x", "a b=c", "a in (x", "a,,b", "a in ()", "a>b", "a=b c"}) {
    auto s = LabelSelector::parse(text);
    ASSERT_FALSE(s) << text;
    EXPECT_TRUE(s.error().is(ErrorCode::BadRequest)) << text;
    EXPECT_NE(s.error().message().find("unable to parse requirement"), std::string::npos);
  }
}

TEST(LabelSelectorTest, FromJsonNullMatchesNothingEmptyMatchesAll) {
  EXPECT_FALSE(LabelSelector::fromJson(nullptr)->matches(Labels{{"a", "b"}}));
  EXPECT_FALSE(LabelSelector::fromJson(nullptr)->empty());
  EXPECT_TRUE(LabelSelector::fromJson(json::object())->matches(Labels{{"a", "b"}}));
  auto s = LabelSelector::fromJson(json::parse(
      R"({"matchLabels":{"app":"web"},"matchExpressions":[{"key":"tier","operator":"In","values":["b","a"]}]})"));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->toString(), "app=web,tier in (a,b)");
  EXPECT_TRUE(s->matches(Labels{{"app", "web"}, {"tier", "a"}}));
  EXPECT_FALSE(s->matches(Labels{{"app", "web"}}));
  auto bad = LabelSelector::fromJson(
      json::parse(R"({"matchExpressions":[{"key":"a","operator":"Bogus"}]})"));
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().is(ErrorCode::Invalid));
}

TEST(FieldSelectorTest, MatchesPathsWithMissingFieldsAsEmpty) {
  auto f = FieldSelector::parse("spec.nodeName=n1,status.phase!=Failed");
  ASSERT_TRUE(f);
  EXPECT_TRUE(
      f->matches(json::parse(R"({"spec":{"nodeName":"n1"},"status":{"phase":"Running"}})")));
  EXPECT_FALSE(
      f->matches(json::parse(R"({"spec":{"nodeName":"n1"},"status":{"phase":"Failed"}})")));
  EXPECT_FALSE(f->matches(json::parse(R"({"spec":{}})")));
  auto unbound = FieldSelector::parse("spec.nodeName=");
  ASSERT_TRUE(unbound);
  EXPECT_TRUE(unbound->matches(json::parse(R"({"spec":{}})")));
  auto bad = FieldSelector::parse("bogus");
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().is(ErrorCode::BadRequest));
}

TEST(FieldSelectorTest, SupportedFieldsPerKindAndAliases) {
  auto ev = FieldSelector::parseFor("involvedObject.name=p,source=kubelet", "Event");
  ASSERT_TRUE(ev);
  EXPECT_TRUE(
      ev->matches(R"({"involvedObject":{"name":"p"},"source":{"component":"kubelet"}})"_json));
  auto bad = FieldSelector::parseFor("spec.nodeName=x", "ConfigMap");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(), "field label not supported: spec.nodeName");
  EXPECT_TRUE(FieldSelector::parseFor("metadata.name=x", "ConfigMap"));
  auto unsched = FieldSelector::parseFor("spec.unschedulable=false", "Node");
  ASSERT_TRUE(unsched);
  EXPECT_TRUE(unsched->matches(json::object()));
}

}  // namespace
}  // namespace skiff::master
