#include "skiff/agent/eviction.h"

#include <gtest/gtest.h>

#include "skiff/agent/config.h"

namespace skiff::agent {
namespace {

using nlohmann::json;
using std::chrono::seconds;

constexpr int64_t kMi = 1024 * 1024;

class FakeStats : public EvictionStatsSource {
 public:
  Result<std::map<std::string, SignalObservation>> observe() override {
    if (fail) return Error(ErrorCode::Unavailable, "no stats");
    return signals;
  }
  std::map<std::string, PodUsage> podUsage(const std::vector<json>&) override { return usage; }
  std::map<std::string, SignalObservation> signals = {
      {"memory.available", {8000 * kMi, 16000 * kMi}},
      {"nodefs.available", {50'000 * kMi, 100'000 * kMi}},
      {"nodefs.inodesFree", {900'000, 1'000'000}},
      {"imagefs.available", {50'000 * kMi, 100'000 * kMi}},
      {"pid.available", {30'000, 32'768}}};
  std::map<std::string, PodUsage> usage;
  bool fail = false;
};

json pod(const std::string& name, const json& resources = json::object(), int64_t priority = 0) {
  return {{"metadata", {{"name", name}, {"namespace", "default"}, {"uid", "uid-" + name}}},
          {"spec",
           {{"priority", priority},
            {"containers", json::array({{{"name", "c"}, {"resources", resources}}})}}}};
}

PodUsage memUsage(int64_t bytes) {
  PodUsage u;
  u.memory_working_set = bytes;
  u.containers["c"].memory_working_set = bytes;
  return u;
}

class EvictionTest : public ::testing::Test {
 protected:
  std::unique_ptr<EvictionManager> make(std::map<std::string, std::string> hard) {
    return makeWith(EvictionSettings{std::move(hard), {}, {}, {}});
  }
  std::unique_ptr<EvictionManager> makeWith(const EvictionSettings& settings,
                                            seconds max_pod_grace = seconds(0)) {
    auto t = parseEvictionSettings(settings);
    EXPECT_TRUE(t) << t.error().message();
    return std::make_unique<EvictionManager>(
        *t, stats_, [this] { return pods_; },
        [this](const json& p, const std::string& msg, seconds grace) {
          evicted_.emplace_back(p["metadata"]["name"].get<std::string>(), msg);
          graces_.push_back(grace);
          return true;
        },
        [this] { return now_; }, std::chrono::minutes(5), max_pod_grace);
  }
  FakeStats stats_;
  std::vector<json> pods_;
  std::vector<std::pair<std::string, std::string>> evicted_;
  std::vector<seconds> graces_;
  std::chrono::system_clock::time_point now_ =
      std::chrono::system_clock::from_time_t(1'700'000'000);
};

TEST(EvictionQuantity, FormatsLikeGoQuantity) {
  EXPECT_EQ(formatBinaryQuantity(100 * kMi), "100Mi");
  EXPECT_EQ(formatBinaryQuantity(12345 * 1024), "12345Ki");
  EXPECT_EQ(formatBinaryQuantity(1000001), "1000001");
  EXPECT_EQ(formatBinaryQuantity(512), "512");
  EXPECT_EQ(formatBinaryQuantity(0), "0");
  EXPECT_EQ(formatDecimalQuantity(16'000'000), "16M");
  EXPECT_EQ(formatDecimalQuantity(12345), "12345");
}

TEST(EvictionThresholds, ParsesQuantitiesAndPercentagesMemoryFirst) {
  auto t = parseEvictionHard(
      {{"nodefs.available", "10%"}, {"memory.available", "100Mi"}, {"imagefs.available", "0%"}});
  ASSERT_TRUE(t);
  ASSERT_EQ(t->size(), 2u);  // 0% disables imagefs
  EXPECT_EQ((*t)[0].signal, "memory.available");
  EXPECT_EQ(*(*t)[0].quantity, 100 * kMi);
  EXPECT_DOUBLE_EQ((*t)[1].percentage, 0.10);
  EXPECT_FALSE(parseEvictionHard({{"nodefs.available", "120%"}}));
  EXPECT_FALSE(parseEvictionHard({{"memory.available", "lots"}}));
  EXPECT_FALSE(parseEvictionHard({{"cpu.available", "1"}}));
}

TEST(EvictionThresholds, GoDurations) {
  EXPECT_EQ(*parseGoDuration("5m0s", "x"), seconds(300));
  EXPECT_EQ(*parseGoDuration("1h30m", "x"), seconds(5400));
  EXPECT_EQ(*parseGoDuration("0", "x"), seconds(0));
  EXPECT_FALSE(parseGoDuration("5 minutes", "x"));
  EXPECT_FALSE(parseGoDuration("", "x"));
}

TEST_F(EvictionTest, NoThresholdCrossedNoPressureNoEviction) {
  auto m = make({{"memory.available", "100Mi"}, {"nodefs.available", "10%"}});
  pods_ = {pod("a")};
  EXPECT_FALSE(m->synchronize());
  EXPECT_EQ(m->pressure(), NodePressure{});
  EXPECT_TRUE(evicted_.empty());
  EXPECT_FALSE(m->admit(pod("new")));
}

TEST_F(EvictionTest, MemoryPressureEvictsOnePodAboveRequestWithKubeletMessage) {
  auto m = make({{"memory.available", "100Mi"}});
  stats_.signals["memory.available"] = {50 * kMi, 16000 * kMi};
  // "big" uses the most but stays within its request; "over" exceeds its request: it goes first.
  pods_ = {pod("big", {{"requests", {{"memory", "4Gi"}}}}),
           pod("over", {{"requests", {{"memory", "64Mi"}}}}), pod("idle")};
  stats_.usage["uid-big"] = memUsage(3000 * kMi);
  stats_.usage["uid-over"] = memUsage(200 * kMi);
  stats_.usage["uid-idle"] = memUsage(1 * kMi);
  auto uid = m->synchronize();
  ASSERT_TRUE(uid);
  ASSERT_EQ(evicted_.size(), 1u);  // one pod per pass
  EXPECT_EQ(*uid, "uid-over");
  EXPECT_EQ(evicted_[0].second,
            "The node was low on resource: memory. Threshold quantity: 100Mi, available: 50Mi. "
            "Container c was using 200Mi, request is 64Mi, has larger consumption of memory. ");
  EXPECT_TRUE(m->pressure().memory);
  EXPECT_FALSE(m->pressure().disk);
  EXPECT_EQ(m->thresholdsMet(), std::vector<std::string>{"memory.available"});
}

TEST_F(EvictionTest, RanksByUsageAboveRequestThenPriorityThenUsage) {
  std::vector<json> pods = {pod("within", {{"requests", {{"memory", "1Gi"}}}}),
                            pod("over-high-prio", {{"requests", {{"memory", "10Mi"}}}}, 1000),
                            pod("over-low-small", {{"requests", {{"memory", "10Mi"}}}}),
                            pod("over-low-big", {{"requests", {{"memory", "10Mi"}}}})};
  std::map<std::string, PodUsage> usage = {{"uid-within", memUsage(900 * kMi)},
                                           {"uid-over-high-prio", memUsage(500 * kMi)},
                                           {"uid-over-low-small", memUsage(20 * kMi)},
                                           {"uid-over-low-big", memUsage(300 * kMi)}};
  auto ranked = EvictionManager::rank("memory.available", pods, usage);
  std::vector<std::string> names;
  for (const auto& p : ranked) names.push_back(p["metadata"]["name"]);
  EXPECT_EQ(names, (std::vector<std::string>{"over-low-big", "over-low-small", "over-high-prio",
                                             "within"}));
}

TEST_F(EvictionTest, DiskPressureRanksByLocalStorageAndReportsPercentThreshold) {
  auto m = make({{"nodefs.available", "10%"}});
  stats_.signals["nodefs.available"] = {5 * 1024 * kMi, 100 * 1024 * kMi};
  pods_ = {pod("quiet"), pod("filler")};
  stats_.usage["uid-quiet"].disk_bytes = 4096;
  stats_.usage["uid-filler"].disk_bytes = 2 * 1024 * kMi;
  auto uid = m->synchronize();
  ASSERT_TRUE(uid);
  EXPECT_EQ(*uid, "uid-filler");
  EXPECT_EQ(evicted_[0].second,
            "The node was low on resource: ephemeral-storage. Threshold quantity: 10Gi, "
            "available: 5Gi. ");
  EXPECT_TRUE(m->pressure().disk);
}

TEST_F(EvictionTest, CriticalAndStaticPodsAreNeverEvicted) {
  auto m = make({{"memory.available", "100Mi"}});
  stats_.signals["memory.available"] = {10 * kMi, 16000 * kMi};
  json critical = pod("critical", json::object(), 2000001000);
  json stat = pod("static");
  stat["metadata"]["annotations"] = {{"kubernetes.io/config.source", "file"}};
  pods_ = {critical, stat};
  EXPECT_FALSE(m->synchronize());
  EXPECT_TRUE(evicted_.empty());
  EXPECT_TRUE(m->pressure().memory);  // the condition holds even with nothing to evict
}

TEST_F(EvictionTest, ConditionStaysForTransitionPeriodAfterRecovery) {
  auto m = make({{"memory.available", "100Mi"}});
  stats_.signals["memory.available"] = {10 * kMi, 16000 * kMi};
  m->synchronize();
  EXPECT_TRUE(m->pressure().memory);
  stats_.signals["memory.available"] = {8000 * kMi, 16000 * kMi};
  now_ += std::chrono::minutes(4);
  EXPECT_FALSE(m->synchronize());
  EXPECT_TRUE(m->pressure().memory);
  now_ += std::chrono::minutes(1);
  m->synchronize();
  EXPECT_FALSE(m->pressure().memory);
}

TEST_F(EvictionTest, FailedObservationKeepsState) {
  auto m = make({{"memory.available", "100Mi"}});
  stats_.fail = true;
  EXPECT_FALSE(m->synchronize());
  EXPECT_EQ(m->pressure(), NodePressure{});
}

TEST_F(EvictionTest, AdmissionUnderMemoryPressureRejectsOnlyBestEffort) {
  auto m = make({{"memory.available", "100Mi"}});
  stats_.signals["memory.available"] = {10 * kMi, 16000 * kMi};
  m->synchronize();
  auto why = m->admit(pod("be"));
  ASSERT_TRUE(why);
  EXPECT_EQ(why->reason, "Evicted");
  EXPECT_EQ(why->message, "The node had condition: [MemoryPressure]. ");
  EXPECT_FALSE(m->admit(pod("burstable", {{"requests", {{"memory", "10Mi"}}}})));
  json tolerant = pod("tolerant");
  tolerant["spec"]["tolerations"] = json::array({{{"key", "node.kubernetes.io/memory-pressure"},
                                                  {"operator", "Exists"},
                                                  {"effect", "NoSchedule"}}});
  EXPECT_FALSE(m->admit(tolerant));
}

TEST_F(EvictionTest, AdmissionUnderDiskPressureRejectsEveryPod) {
  auto m = make({{"nodefs.available", "10%"}});
  stats_.signals["nodefs.available"] = {1, 100 * kMi};
  m->synchronize();
  auto why = m->admit(pod("burstable", {{"requests", {{"memory", "10Mi"}}}}));
  ASSERT_TRUE(why);
  EXPECT_EQ(why->message, "The node had condition: [DiskPressure]. ");
}

TEST(EvictionThresholds, SoftThresholdsNeedGracePeriodsAndMinimumReclaimAttaches) {
  auto missing = parseEvictionSettings({{}, {{"memory.available", "1Gi"}}, {}, {}});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message(),
            "grace period must be specified for the soft eviction threshold memory.available");
  auto bad_signal = parseEvictionSettings({{}, {}, {{"cpu.available", "1m"}}, {}});
  ASSERT_FALSE(bad_signal);
  EXPECT_EQ(bad_signal.error().message(), "unsupported eviction signal cpu.available");
  EXPECT_FALSE(parseEvictionSettings(
      {{}, {{"memory.available", "1Gi"}}, {{"memory.available", "soon"}}, {}}));
  auto zero_pct =
      parseEvictionSettings({{{"nodefs.available", "10%"}}, {}, {}, {{"nodefs.available", "0%"}}});
  ASSERT_FALSE(zero_pct);
  EXPECT_EQ(zero_pct.error().message(),
            "eviction percentage minimum reclaim nodefs.available must be positive: 0%");

  auto t = parseEvictionSettings({{{"memory.available", "100Mi"}},
                                  {{"memory.available", "1Gi"}, {"nodefs.available", "15%"}},
                                  {{"memory.available", "1m30s"}, {"nodefs.available", "2m"}},
                                  {{"memory.available", "500Mi"}}});
  ASSERT_TRUE(t) << t.error().message();
  ASSERT_EQ(t->size(), 3u);
  EXPECT_EQ((*t)[0].signal, "memory.available");  // memory first, hard before soft
  EXPECT_TRUE((*t)[0].hard());
  EXPECT_EQ((*t)[1].signal, "memory.available");
  EXPECT_EQ((*t)[1].grace_period, seconds(90));
  ASSERT_TRUE((*t)[1].min_reclaim && (*t)[0].min_reclaim);  // on every memory threshold
  EXPECT_EQ(*(*t)[1].min_reclaim->quantity, 500 * kMi);
  EXPECT_EQ((*t)[2].grace_period, seconds(120));
  EXPECT_FALSE((*t)[2].min_reclaim);
}

TEST_F(EvictionTest, SoftThresholdRaisesPressureAtOnceButEvictsAfterItsGracePeriod) {
  auto m = makeWith(
      EvictionSettings{{}, {{"memory.available", "1Gi"}}, {{"memory.available", "1m"}}, {}},
      seconds(20));
  json slow = pod("slow");
  slow["spec"]["terminationGracePeriodSeconds"] = 60;
  json quick = pod("quick");
  quick["spec"]["terminationGracePeriodSeconds"] = 5;
  pods_ = {slow, quick};
  stats_.usage = {{"uid-slow", memUsage(600 * kMi)}, {"uid-quick", memUsage(100 * kMi)}};
  stats_.signals["memory.available"].available = 900 * kMi;
  EXPECT_FALSE(m->synchronize());
  EXPECT_TRUE(m->pressure().memory);  // the condition does not wait for the grace period
  now_ += seconds(59);
  EXPECT_FALSE(m->synchronize());
  EXPECT_TRUE(evicted_.empty());
  now_ += seconds(1);
  EXPECT_EQ(m->synchronize(), "uid-slow");
  ASSERT_EQ(graces_.size(), 1u);
  EXPECT_EQ(graces_[0], seconds(20));  // --eviction-max-pod-grace-period caps the pod's 60 s
  EXPECT_EQ(evicted_[0].second,
            "The node was low on resource: memory. Threshold quantity: 1Gi, available: 900Mi. "
            "Container c was using 600Mi, request is 0, has larger consumption of memory. ");
  pods_ = {quick};
  EXPECT_EQ(m->synchronize(), "uid-quick");
  EXPECT_EQ(graces_[1], seconds(5));  // the pod's own period when it is shorter
}

TEST_F(EvictionTest, SoftThresholdThatRecoversBeforeItsGracePeriodEvictsNothing) {
  auto m = makeWith(
      EvictionSettings{{}, {{"memory.available", "1Gi"}}, {{"memory.available", "1m"}}, {}});
  pods_ = {pod("a")};
  stats_.signals["memory.available"].available = 900 * kMi;
  EXPECT_FALSE(m->synchronize());
  now_ += seconds(30);
  stats_.signals["memory.available"].available = 2000 * kMi;
  EXPECT_FALSE(m->synchronize());
  now_ += seconds(30);
  stats_.signals["memory.available"].available = 900 * kMi;  // crossed again: the clock restarts
  EXPECT_FALSE(m->synchronize());
  now_ += seconds(59);
  EXPECT_FALSE(m->synchronize());
  EXPECT_TRUE(evicted_.empty());
}

TEST_F(EvictionTest, HardThresholdEvictsWithOneSecondAndHoldsUntilMinimumReclaim) {
  auto m = makeWith(
      EvictionSettings{{{"memory.available", "100Mi"}}, {}, {}, {{"memory.available", "200Mi"}}});
  pods_ = {pod("a"), pod("b")};
  stats_.signals["memory.available"].available = 50 * kMi;
  ASSERT_TRUE(m->synchronize());
  EXPECT_EQ(graces_[0], seconds(1));
  // Above the threshold but not above threshold + minimum reclaim: still acting.
  stats_.signals["memory.available"].available = 250 * kMi;
  ASSERT_TRUE(m->synchronize());
  EXPECT_EQ(evicted_.size(), 2u);
  stats_.signals["memory.available"].available = 301 * kMi;
  EXPECT_FALSE(m->synchronize());
  EXPECT_EQ(m->thresholdsMet(), std::vector<std::string>{});
  // Without having acted, being above the threshold alone is enough.
  stats_.signals["memory.available"].available = 150 * kMi;
  EXPECT_FALSE(m->synchronize());
}

}  // namespace
}  // namespace skiff::agent
