#include "skiff/common/result.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <memory>
#include <string>

#include "skiff/common/http_status.h"

namespace skiff {
namespace {

Result<int> parsePositive(int v) {
  if (v <= 0) return Error(ErrorCode::Invalid, "parse value: must be positive");
  return v;
}

Result<int> doubled(int v) {
  SKIFF_ASSIGN_OR_RETURN(int x, parsePositive(v));
  return x * 2;
}

Result<void> checkBoth(int a, int b) {
  SKIFF_TRY(parsePositive(a));
  SKIFF_TRY(parsePositive(b));
  return {};
}

TEST(ResultTest, ValueAndErrorPropagate) {
  EXPECT_EQ(*doubled(4), 8);
  auto r = doubled(-1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::Invalid);
  EXPECT_EQ(r.error().message(), "parse value: must be positive");
}

TEST(ResultTest, VoidResultPropagatesFirstError) {
  EXPECT_TRUE(checkBoth(1, 2));
  auto r = checkBoth(1, 0);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(ErrorCode::Invalid));
}

TEST(ResultTest, MoveOnlyValues) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(7);
  ASSERT_TRUE(r);
  std::unique_ptr<int> p = std::move(r).value();
  EXPECT_EQ(*p, 7);
}

TEST(ResultTest, ValueOrFallsBack) {
  EXPECT_EQ(parsePositive(-3).value_or(5), 5);
  EXPECT_EQ(parsePositive(3).value_or(5), 3);
}

TEST(ErrorTest, WrapAddsContextKeepsCodeAndErrno) {
  Error e = Error::fromErrno(EEXIST, "add link");
  e.wrap("create veth 'sk12ab'");
  EXPECT_EQ(e.message(), "create veth 'sk12ab': add link: File exists");
  EXPECT_EQ(e.code(), ErrorCode::AlreadyExists);
  EXPECT_EQ(e.sysErrno(), EEXIST);
}

TEST(ErrorTest, ErrnoMapsToCodes) {
  EXPECT_EQ(Error::fromErrno(ENOENT, "x").code(), ErrorCode::NotFound);
  EXPECT_EQ(Error::fromErrno(EPERM, "x").code(), ErrorCode::Forbidden);
  EXPECT_EQ(Error::fromErrno(EINVAL, "x").code(), ErrorCode::Invalid);
  EXPECT_EQ(Error::fromErrno(EIO, "x").code(), ErrorCode::Internal);
}

TEST(ResultDeathTest, ValueOnErrorAborts) {
  auto r = parsePositive(0);
  EXPECT_DEATH((void)r.value(), "check failed");
}

// What a client makes of an API server's (or a webhook's) answer: 409 is AlreadyExists only when
// the Status reason says so; unknown 4xx/5xx fall back to BadRequest/Internal.
TEST(ErrorCodeTest, FromHttpStatus) {
  EXPECT_EQ(errorCodeForHttpStatus(404), ErrorCode::NotFound);
  EXPECT_EQ(errorCodeForHttpStatus(409), ErrorCode::Conflict);
  EXPECT_EQ(errorCodeForHttpStatus(409, "AlreadyExists"), ErrorCode::AlreadyExists);
  EXPECT_EQ(errorCodeForHttpStatus(410), ErrorCode::Gone);
  EXPECT_EQ(errorCodeForHttpStatus(422), ErrorCode::Invalid);
  EXPECT_EQ(errorCodeForHttpStatus(429), ErrorCode::BadRequest);
  EXPECT_EQ(errorCodeForHttpStatus(503), ErrorCode::Unavailable);
  EXPECT_EQ(errorCodeForHttpStatus(502), ErrorCode::Internal);
}

}  // namespace
}  // namespace skiff
