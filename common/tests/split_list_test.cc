#include "skiff/common/split_list.h"

#include <gtest/gtest.h>

namespace skiff {
namespace {

TEST(SplitListTest, TrimsEntriesAndDropsEmptyOnes) {
  EXPECT_EQ(splitList("https://a:6443, https://b:6443,,"),
            (std::vector<std::string>{"https://a:6443", "https://b:6443"}));
  EXPECT_EQ(splitList("one"), (std::vector<std::string>{"one"}));
  EXPECT_TRUE(splitList("").empty());
  EXPECT_TRUE(splitList(" , ").empty());
  EXPECT_EQ(splitList("a;b", ';'), (std::vector<std::string>{"a", "b"}));
}

TEST(SplitAtTest, KeepsEveryFieldAsItIs) {
  using V = std::vector<std::string_view>;
  EXPECT_EQ(splitAt("a,,b", ','), (V{"a", "", "b"}));
  EXPECT_EQ(splitAt("a, b,", ','), (V{"a", " b", ""}));
  EXPECT_EQ(splitAt("", ':'), (V{""}));
  EXPECT_EQ(splitAt("/x/", '/'), (V{"", "x", ""}));
}

}  // namespace
}  // namespace skiff
