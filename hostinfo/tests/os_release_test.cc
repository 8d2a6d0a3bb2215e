#include "skiff/hostinfo/os_release.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace skiff::hostinfo {
namespace {

TEST(OsReleaseTest, ParsesRealFiles) {
  auto deb = parseOsRelease(test::fixtureFile("debian12-x86_64-hybrid", "/etc/os-release"), "d");
  ASSERT_TRUE(deb.has_value()) << deb.error().message();
  EXPECT_EQ(osImage(*deb), "Debian GNU/Linux 12 (bookworm)");
  EXPECT_EQ(deb->at("VERSION_CODENAME"), "bookworm");
  auto rhel = parseOsRelease(test::fixtureFile("rhel9-x86_64", "/etc/os-release"), "r");
  ASSERT_TRUE(rhel.has_value()) << rhel.error().message();
  EXPECT_EQ(rhel->at("REDHAT_BUGZILLA_PRODUCT_VERSION"), "9.3");
  auto alpine = parseOsRelease(test::fixtureFile("alpine319-x86_64", "/usr/lib/os-release"), "a");
  ASSERT_TRUE(alpine.has_value());
  EXPECT_EQ(alpine->at("VERSION_ID"), "3.19.1");
}

TEST(OsReleaseTest, HandlesQuotesEscapesAndComments) {
  auto r = parseOsRelease(
      "# a comment\n"
      "\n"
      "  NAME='Single $quoted \\ \"text\"'\n"
      "PRETTY_NAME=\"Fancy \\\"OS\\\" \\$HOME \\`x\\` back\\\\slash \\n\"  # trailing comment\n"
      "ID=fancy\n"
      "VARIANT=with\\ space\n"
      "EMPTY=\n"
      "QUOTED_EMPTY=\"\"\n",
      "/etc/os-release");
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->at("NAME"), "Single $quoted \\ \"text\"");
  EXPECT_EQ(r->at("PRETTY_NAME"), "Fancy \"OS\" $HOME `x` back\\slash \\n");
  EXPECT_EQ(r->at("ID"), "fancy");
  EXPECT_EQ(r->at("VARIANT"), "with space");
  EXPECT_EQ(r->at("EMPTY"), "");
  EXPECT_EQ(r->at("QUOTED_EMPTY"), "");
}

TEST(OsReleaseTest, MissingPrettyNameFallsBackToLinux) {
  auto r = parseOsRelease("ID=minimal\n", "x");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(osImage(*r), "Linux");
  EXPECT_EQ(osImage(OsRelease{{"PRETTY_NAME", ""}}), "Linux");
}

TEST(OsReleaseTest, RejectsMalformedLinesNamingFileAndLine) {
  auto unterminated = parseOsRelease("ID=x\nPRETTY_NAME=\"Debian GNU/Lin", "/etc/os-release");
  ASSERT_FALSE(unterminated.has_value());
  EXPECT_EQ(unterminated.error().message(),
            "parse '/etc/os-release' line 2: unterminated quote in value of 'PRETTY_NAME'");
  EXPECT_FALSE(parseOsRelease("just words\n", "f").has_value());
  EXPECT_FALSE(parseOsRelease("1KEY=v\n", "f").has_value());
  EXPECT_FALSE(parseOsRelease("KEY=\"a\"b\n", "f").has_value());
  EXPECT_FALSE(parseOsRelease("KEY=a b\n", "f").has_value());
  EXPECT_FALSE(parseOsRelease(std::string("ID=a\0b\n", 7), "f").has_value());
}

}  // namespace
}  // namespace skiff::hostinfo
