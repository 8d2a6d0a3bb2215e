#include "skiff/master/controllers/expectations.h"

#include <gtest/gtest.h>

namespace skiff::master {
namespace {

class ExpectationsTest : public ::testing::Test {
 protected:
  std::shared_ptr<FakeClock> clock = std::make_shared<FakeClock>();
  ControllerExpectations e{clock};
};

TEST_F(ExpectationsTest, NothingRecordedIsSatisfied) { EXPECT_TRUE(e.satisfied("ns/rs")); }

TEST_F(ExpectationsTest, CreationsAreCountedOff) {
  e.expectCreations("ns/rs", 2);
  EXPECT_FALSE(e.satisfied("ns/rs"));
  e.creationObserved("ns/rs");
  EXPECT_FALSE(e.satisfied("ns/rs"));
  e.creationObserved("ns/rs");
  EXPECT_TRUE(e.satisfied("ns/rs"));
  e.creationObserved("ns/rs");  // a late extra event does not owe a future creation
  e.expectCreations("ns/rs", 1);
  EXPECT_FALSE(e.satisfied("ns/rs"));
  EXPECT_TRUE(e.satisfied("ns/other"));
}

TEST_F(ExpectationsTest, DeletionsCountOnlyTheExpectedObjectsOnce) {
  e.expectDeletions("ns/rs", {"ns/a", "ns/b"});
  e.deletionObserved("ns/rs", "ns/x");  // not one of ours
  e.deletionObserved("ns/rs", "ns/a");
  e.deletionObserved("ns/rs", "ns/a");  // the delete event after the graceful-delete update
  EXPECT_FALSE(e.satisfied("ns/rs"));
  e.deletionObserved("ns/rs", "ns/b");
  EXPECT_TRUE(e.satisfied("ns/rs"));
}

TEST_F(ExpectationsTest, ExpireAfterFiveMinutes) {
  e.expectCreations("ns/rs", 1);
  clock->advance(std::chrono::minutes(5));
  EXPECT_FALSE(e.satisfied("ns/rs"));
  clock->advance(std::chrono::seconds(1));
  EXPECT_TRUE(e.satisfied("ns/rs"));
}

TEST_F(ExpectationsTest, ForgetDropsTheRecord) {
  e.expectCreations("ns/rs", 3);
  e.forget("ns/rs");
  EXPECT_TRUE(e.satisfied("ns/rs"));
}

}  // namespace
}  // namespace skiff::master
