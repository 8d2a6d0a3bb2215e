#include "skiff/agent/token_manager.h"

#include <gtest/gtest.h>

#include <unistd.h>
#include <filesystem>

#include "skiff/agent/volumes.h"
#include "skiff/common/file.h"
#include "skiff/common/testing/temp_dir.h"

namespace skiff::agent {
namespace {

using namespace std::chrono_literals;
using TimePoint = std::chrono::system_clock::time_point;

// A token server that issues "tok-<n>" valid for the requested seconds (status view), with a
// clock the test moves.
struct FakeTokens {
  TimePoint now = TimePoint(std::chrono::seconds(1'800'000'000));
  int issued = 0;
  bool fail = false;
  TokenRequestSpec last;

  ServiceAccountTokenManager manager() {
    return ServiceAccountTokenManager(
        [this](const TokenRequestSpec& s) -> Result<IssuedServiceAccountToken> {
          last = s;
          if (fail) return Error(ErrorCode::Unavailable, "api server down");
          return IssuedServiceAccountToken{"tok-" + std::to_string(++issued),
                                           now + std::chrono::seconds(s.expiration_seconds)};
        },
        [this] { return now; });
  }
};

TokenRequestSpec podSpec(std::int64_t seconds = 3607, const std::string& uid = "uid-1") {
  return {"default", "default", "", seconds, "web", uid};
}

TEST(ServiceAccountTokenManagerTest, ServesTheCachedTokenUntilEightyPercentOfItsLife) {
  FakeTokens f;
  auto m = f.manager();
  EXPECT_EQ(*m.getServiceAccountToken(podSpec(600)), "tok-1");
  EXPECT_EQ(f.last.pod_uid, "uid-1");
  f.now += 469s;  // before 80 % less the largest jitter
  EXPECT_EQ(*m.getServiceAccountToken(podSpec(600)), "tok-1");
  f.now += 11s;  // 480 s = 80 % of 600
  EXPECT_EQ(*m.getServiceAccountToken(podSpec(600)), "tok-2");
  f.now += 469s;
  EXPECT_EQ(*m.getServiceAccountToken(podSpec(600)), "tok-2");
  EXPECT_EQ(f.issued, 2);
}

TEST(ServiceAccountTokenManagerTest, LongTokensAreRefreshedAfterADay) {
  FakeTokens f;
  auto m = f.manager();
  std::int64_t week = 7 * 24 * 3600;
  EXPECT_EQ(*m.getServiceAccountToken(podSpec(week)), "tok-1");
  f.now += 24h - 1s;
  EXPECT_EQ(*m.getServiceAccountToken(podSpec(week)), "tok-1");
  f.now += 1s;
  EXPECT_EQ(*m.getServiceAccountToken(podSpec(week)), "tok-2");
}

TEST(ServiceAccountTokenManagerTest, RequiresRefreshBoundaries) {
  TimePoint t0(std::chrono::seconds(1000));
  IssuedServiceAccountToken t{"x", t0 + 3607s};
  EXPECT_FALSE(ServiceAccountTokenManager::requiresRefresh(t, 3607, t0 + 2885s));
  EXPECT_TRUE(ServiceAccountTokenManager::requiresRefresh(t, 3607, t0 + 2886s));
  // A jitter moves the refresh earlier by that much.
  EXPECT_TRUE(ServiceAccountTokenManager::requiresRefresh(t, 3607, t0 + 2876s, 10s));
  EXPECT_FALSE(ServiceAccountTokenManager::requiresRefresh(t, 3607, t0 + 2875s, 10s));
}

TEST(ServiceAccountTokenManagerTest, KeysSeparatePodsAudiencesAndLifetimes) {
  FakeTokens f;
  auto m = f.manager();
  EXPECT_EQ(*m.getServiceAccountToken(podSpec()), "tok-1");
  EXPECT_EQ(*m.getServiceAccountToken(podSpec(3607, "uid-2")), "tok-2");
  TokenRequestSpec vault = podSpec();
  vault.audience = "vault";
  EXPECT_EQ(*m.getServiceAccountToken(vault), "tok-3");
  EXPECT_EQ(f.last.audience, "vault");
  EXPECT_EQ(*m.getServiceAccountToken(podSpec(7200)), "tok-4");
  EXPECT_EQ(*m.getServiceAccountToken(podSpec()), "tok-1");
  m.deleteServiceAccountTokens("uid-1");
  EXPECT_EQ(m.sizeForTest(), 1u);
  EXPECT_EQ(*m.getServiceAccountToken(podSpec()), "tok-5");
}

TEST(ServiceAccountTokenManagerTest, FailedRefreshKeepsAValidTokenAndExpiredOnesGo) {
  FakeTokens f;
  auto m = f.manager();
  EXPECT_EQ(*m.getServiceAccountToken(podSpec(600)), "tok-1");
  f.fail = true;
  f.now += 500s;  // refresh due, server down: the old token is still good
  EXPECT_EQ(*m.getServiceAccountToken(podSpec(600)), "tok-1");
  f.now += 101s;  // past expiry: nothing to serve
  auto r = m.getServiceAccountToken(podSpec(600));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "api server down");
  EXPECT_EQ(m.sizeForTest(), 0u);
  f.fail = false;
  EXPECT_EQ(*m.getServiceAccountToken(podSpec(600)), "tok-2");
}

class AtomicWriterTest : public ::testing::Test {
 protected:
  skiff::testing::TempDir temp_dir_{"atomic"};
  std::string link(const std::string& name) {
    return std::filesystem::read_symlink(dir_ + "/" + name).string();
  }
  const std::string dir_ = temp_dir_.path();
};

TEST_F(AtomicWriterTest, KeysPointThroughDataAtATimestampedDirectory) {
  ASSERT_TRUE(*writeAtomicDir(dir_, {{"token", {"t1", 0644}}, {"ca.crt", {"ca", 0644}}}));
  EXPECT_EQ(link("token"), "..data/token");
  EXPECT_EQ(link("ca.crt"), "..data/ca.crt");
  std::string first = link("..data");
  EXPECT_EQ(first.rfind("..", 0), 0u);
  EXPECT_TRUE(std::filesystem::is_directory(dir_ + "/" + first));
  EXPECT_EQ(*readFile(dir_ + "/token"), "t1");
  // Same content: nothing happens.
  EXPECT_FALSE(*writeAtomicDir(dir_, {{"token", {"t1", 0644}}, {"ca.crt", {"ca", 0644}}}));
  EXPECT_EQ(link("..data"), first);
  // A rotated token: a new directory, ..data swapped, the old directory removed.
  ASSERT_TRUE(*writeAtomicDir(dir_, {{"token", {"t2", 0644}}, {"ca.crt", {"ca", 0644}}}));
  std::string second = link("..data");
  EXPECT_NE(second, first);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/" + first));
  EXPECT_EQ(*readFile(dir_ + "/token"), "t2");
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/..data_tmp"));
}

TEST_F(AtomicWriterTest, RemovedKeysLoseTheirLinkAndBadPathsAreRefused) {
  ASSERT_TRUE(*writeAtomicDir(dir_, {{"a", {"1", 0644}}, {"b", {"2", 0600}}}));
  ASSERT_TRUE(*writeAtomicDir(dir_, {{"a", {"1", 0644}}}));
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::symlink_status(dir_ + "/b")));
  std::string before = link("..data");
  EXPECT_FALSE(writeAtomicDir(dir_, {{"../escape", {"x", 0644}}}));
  EXPECT_FALSE(writeAtomicDir(dir_, {{"/etc/passwd", {"x", 0644}}}));
  EXPECT_EQ(link("..data"), before);
  EXPECT_EQ(*readFile(dir_ + "/a"), "1");
}

}  // namespace
}  // namespace skiff::agent
