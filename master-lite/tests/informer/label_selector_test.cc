#include "skiff/master/informer/label_selector.h"

#include <gtest/gtest.h>

namespace skiff::master {
namespace {

TEST(LabelSelectorTest, ParsesEqualityAndSetBased) {
  auto s = LabelSelector::parse("app=web, tier in (a,b),env notin (prod),track,!legacy");
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_TRUE(s->matches({{"app", "web"}, {"tier", "a"}, {"track", "x"}}));
  EXPECT_FALSE(s->matches({{"app", "web"}, {"tier", "c"}, {"track", "x"}}));
  EXPECT_FALSE(s->matches({{"app", "web"}, {"tier", "a"}, {"track", "x"}, {"env", "prod"}}));
  EXPECT_FALSE(s->matches({{"app", "web"}, {"tier", "a"}}));
  EXPECT_FALSE(s->matches({{"app", "web"}, {"tier", "a"}, {"track", "x"}, {"legacy", "1"}}));
  EXPECT_EQ(s->toString(), "app=web,tier in (a,b),env notin (prod),track,!legacy");
  EXPECT_FALSE(LabelSelector::parse("a in (x"));
  EXPECT_TRUE(LabelSelector::parse("")->matches({}));
}

TEST(LabelSelectorTest, FromJsonNullMatchesNothingEmptyMatchesAll) {
  EXPECT_FALSE(LabelSelector::fromJson(nullptr)->matches({{"a", "b"}}));
  EXPECT_TRUE(LabelSelector::fromJson(json::object())->matches({{"a", "b"}}));
  auto s = LabelSelector::fromJson(
      json::parse(R"({"matchLabels":{"app":"web"},"matchExpressions":[{"key":"tier","operator":"In","values":["fe"]}]})"));
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->matches({{"app", "web"}, {"tier", "fe"}}));
  EXPECT_FALSE(s->matches({{"app", "web"}}));
  EXPECT_FALSE(LabelSelector::fromJson(json::parse(R"({"matchExpressions":[{"key":"a","operator":"Bogus"}]})")));
}

TEST(FieldSelectorTest, MatchesPaths) {
  auto f = FieldSelector::parse("spec.nodeName=n1,status.phase!=Failed");
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->matches(json::parse(R"({"spec":{"nodeName":"n1"},"status":{"phase":"Running"}})")));
  EXPECT_FALSE(f->matches(json::parse(R"({"spec":{"nodeName":"n1"},"status":{"phase":"Failed"}})")));
  EXPECT_FALSE(f->matches(json::parse(R"({"spec":{}})")));
  EXPECT_FALSE(FieldSelector::parse("bogus"));
}

}  // namespace
}  // namespace skiff::master
