#include "skiff/master/api/selectors.h"

#include <gtest/gtest.h>

namespace skiff::master::api {
namespace {

using json = nlohmann::json;

TEST(LabelSelectorTest, EqualityAndSetBased) {
  json labels = {{"app", "web"}, {"tier", "fe"}};
  auto m = [&](const std::string& s) {
    auto sel = LabelSelector::parse(s);
    EXPECT_TRUE(sel) << s;
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
  EXPECT_TRUE(m("env notin (prod)"));  // absent key satisfies notin
}

TEST(LabelSelectorTest, BadSyntaxIsBadRequest) {
  auto s = LabelSelector::parse("app in x");
  ASSERT_FALSE(s);
  EXPECT_TRUE(s.error().is(ErrorCode::BadRequest));
  EXPECT_FALSE(LabelSelector::parse("a b=c"));
}

TEST(LabelSelectorTest, FromObjectAndCanonicalString) {
  auto s = LabelSelector::fromObject(
      R"({"matchLabels":{"app":"web"},"matchExpressions":[{"key":"tier","operator":"In","values":["a","b"]}]})"_json);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->toString(), "app=web,tier in (a,b)");
  EXPECT_TRUE(s->matches(json{{"app", "web"}, {"tier", "b"}}));
}

TEST(FieldSelectorTest, SupportedFieldsPerKind) {
  auto s = FieldSelector::parse("spec.nodeName=n1,status.phase!=Failed", "Pod");
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->matches(R"({"spec":{"nodeName":"n1"},"status":{"phase":"Running"}})"_json));
  EXPECT_FALSE(s->matches(R"({"spec":{"nodeName":"n1"},"status":{"phase":"Failed"}})"_json));
  auto ev = FieldSelector::parse("involvedObject.name=p,involvedObject.kind=Pod", "Event");
  ASSERT_TRUE(ev);
  EXPECT_TRUE(ev->matches(R"({"involvedObject":{"name":"p","kind":"Pod"}})"_json));
  auto bad = FieldSelector::parse("spec.nodeName=x", "ConfigMap");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(), "field label not supported: spec.nodeName");
  auto unsched = FieldSelector::parse("spec.unschedulable=false", "Node");
  ASSERT_TRUE(unsched);
  EXPECT_TRUE(unsched->matches(json::object()));
}

}  // namespace
}  // namespace skiff::master::api
