#include "skiff/hostinfo/node_name.h"

#include <gtest/gtest.h>

namespace skiff::hostinfo {
namespace {

TEST(NodeNameTest, OverrideOrLowercasedHostname) {
  EXPECT_EQ(*resolveNodeName(std::nullopt, "  Worker-1.Example.COM\n"), "worker-1.example.com");
  EXPECT_EQ(*resolveNodeName(std::string("NODE-A"), "ignored"), "node-a");
  EXPECT_EQ(*resolveNodeName(std::string(""), "host"), "host");
  EXPECT_EQ(*resolveNodeName(std::nullopt, std::string(253, 'a')), std::string(253, 'a'));
}

TEST(NodeNameTest, RejectsInvalidNamesWithKubernetesMessage) {
  auto bad = resolveNodeName(std::string("Bad_Name!"), "host");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code(), ErrorCode::Invalid);
  EXPECT_EQ(bad.error().message(),
            "invalid node name 'bad_name!': a lowercase RFC 1123 subdomain must consist of lower "
            "case alphanumeric characters, '-' or '.', and must start and end with an "
            "alphanumeric character (e.g. 'example.com', regex used for validation is "
            "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
  for (const char* name : {"-a", "a-", "a..b", ".a", "a.", "a b", "ä"}) {
    EXPECT_FALSE(resolveNodeName(std::string(name), "h").has_value()) << name;
  }
  auto empty = resolveNodeName(std::nullopt, " \n");
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.error().message(), "empty hostname is invalid");
  auto longer = resolveNodeName(std::nullopt, std::string(254, 'a'));
  ASSERT_FALSE(longer.has_value());
  EXPECT_NE(longer.error().message().find("must be no more than 253 characters"), std::string::npos);
}

}  // namespace
}  // namespace skiff::hostinfo
