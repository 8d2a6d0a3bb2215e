// Lease-based leader election with a fake clock and the fake API client: acquisition, renewal,
// takeover after lease_duration without renewals, loss after renew_deadline, release.
#include "skiff/master/leaderelection/leader_elector.h"

#include <gtest/gtest.h>

#include "skiff/master/testing/fake_api_client.h"

namespace skiff::master {
namespace {

using namespace std::chrono_literals;
using testing::FakeApiClient;

class LeaderElectorTest : public ::testing::Test {
 protected:
  // A candidate that has made its first attempt at the lease.
  std::unique_ptr<LeaderElector> candidate(const std::string& id, bool force = false) {
    LeaderElectionConfig c;
    c.lock_name = "kube-scheduler";
    c.identity = id;
    c.clock = clock_;
    c.force_acquire = force;
    c.on_started_leading = [this, id] { events_.push_back("started " + id); };
    c.on_stopped_leading = [this, id] { events_.push_back("stopped " + id); };
    auto e = std::make_unique<LeaderElector>(api_, c);
    e->step();
    return e;
  }
  // The leadership callbacks called so far, in order.
  void expectEvents(const std::vector<std::string>& want) { EXPECT_EQ(events_, want); }
  json lease() { return *api_.get(gvr::kLeases, "kube-system", "kube-scheduler"); }

  std::shared_ptr<FakeClock> clock_ = std::make_shared<FakeClock>();
  FakeApiClient api_{clock_};
  std::vector<std::string> events_;
};

TEST_F(LeaderElectorTest, FirstCandidateCreatesTheLeaseAndLeads) {
  auto a = candidate("host-a_1");
  EXPECT_TRUE(a->isLeader());
  json l = lease();
  EXPECT_EQ(l["spec"]["holderIdentity"], "host-a_1");
  EXPECT_EQ(l["spec"]["leaseDurationSeconds"], 15);
  EXPECT_EQ(l["spec"]["leaseTransitions"], 0);
  EXPECT_EQ(l["spec"]["renewTime"], formatMicroTime(clock_->now()));
  expectEvents({"started host-a_1"});
  clock_->advance(2s);
  a->step();
  EXPECT_EQ(lease()["spec"]["renewTime"], formatMicroTime(clock_->now()));
  EXPECT_EQ(events_.size(), 1u);  // renewing is not starting again
}

TEST_F(LeaderElectorTest, SecondCandidateWaitsUntilTheLeaseExpiresThenTakesOver) {
  auto a = candidate("host-a_1");
  auto b = candidate("host-b_2");
  EXPECT_FALSE(b->isLeader());
  // a keeps renewing: b never gets it.
  for (int i = 0; i < 10; ++i) {
    clock_->advance(2s);
    a->step();
    b->step();
  }
  EXPECT_FALSE(b->isLeader());
  // a dies (no more renewals): b waits lease_duration from the last change it observed.
  clock_->advance(14s);
  b->step();
  EXPECT_FALSE(b->isLeader());
  clock_->advance(2s);
  b->step();
  EXPECT_TRUE(b->isLeader());
  json l = lease();
  EXPECT_EQ(l["spec"]["holderIdentity"], "host-b_2");
  EXPECT_EQ(l["spec"]["leaseTransitions"], 1);
  EXPECT_EQ(l["spec"]["acquireTime"], formatMicroTime(clock_->now()));
  // a comes back (it was stalled, not dead): b holds the lease and a's last renewal is older
  // than its renew deadline, so it stops leading at once.
  a->step();
  EXPECT_FALSE(a->isLeader());
  expectEvents({"started host-a_1", "started host-b_2", "stopped host-a_1"});
}

TEST_F(LeaderElectorTest, LeaderThatCannotRenewForTheDeadlineStopsLeading) {
  auto a = candidate("host-a_1");
  ASSERT_TRUE(a->isLeader());
  api_.failNextForTest("update", "leases", ErrorCode::Unavailable, 100);
  for (int i = 0; i < 4; ++i) {
    clock_->advance(2s);
    a->step();
    EXPECT_TRUE(a->isLeader()) << i;
  }
  clock_->advance(2s);  // 10 s since the last renewal
  a->step();
  EXPECT_FALSE(a->isLeader());
  expectEvents({"started host-a_1", "stopped host-a_1"});
}

TEST_F(LeaderElectorTest, StopReleasesTheLeaseForAnImmediateTakeover) {
  auto a = candidate("host-a_1");
  auto b = candidate("host-b_2");
  a->stop();
  EXPECT_EQ(lease()["spec"]["holderIdentity"], "");
  EXPECT_EQ(lease()["spec"]["leaseDurationSeconds"], 1);
  b->step();
  EXPECT_TRUE(b->isLeader());
  expectEvents({"started host-a_1", "stopped host-a_1", "started host-b_2"});
}

// The single SQLite master after a crash: its previous life's lease is taken at once.
TEST_F(LeaderElectorTest, ForcedAcquireTakesALeaseLeftByAPreviousLife) {
  auto old = candidate("host-a_old");
  auto again = candidate("host-a_new", /*force=*/true);
  EXPECT_TRUE(again->isLeader());
  EXPECT_EQ(lease()["spec"]["holderIdentity"], "host-a_new");
}

TEST(LeaderElectionIdentityTest, HostnameUnderscoreUuid) {
  std::string id = leaderElectionIdentity();
  auto us = id.rfind('_');
  ASSERT_NE(us, std::string::npos);
  std::string uuid = id.substr(us + 1);
  ASSERT_EQ(uuid.size(), 36u);
  EXPECT_EQ(uuid[14], '4');
  EXPECT_NE(leaderElectionIdentity(), id);
}

}  // namespace
}  // namespace skiff::master
