// StatefulSet, Job, CronJob and cron schedule parsing against the fake API.
#include <gtest/gtest.h>

#include <map>

#include "harness.h"
#include "skiff/master/controllers/cron_schedule.h"

namespace skiff::master::testing {
namespace {

json statefulSet(int replicas, const std::string& image, const std::string& policy = "") {
  json s =
      json::parse(R"({"metadata":{"name":"db"},"spec":{"replicas":)" + std::to_string(replicas) +
                  R"(,"serviceName":"db","selector":{"matchLabels":{"app":"db"}},
    "template":{"metadata":{"labels":{"app":"db"}},"spec":{"containers":[{"name":"c","image":")" +
                  image + R"("}]}}}})");
  if (!policy.empty()) s["spec"]["podManagementPolicy"] = policy;
  return s;
}

// A harness running the one controller `factory` makes, started.
class WorkloadTest : public ::testing::Test {
 protected:
  explicit WorkloadTest(ControllerFactory factory) {
    h.add(factory(h.client, h.clock));
    h.start();
  }
  Harness h;
};

class StatefulSetTest : public WorkloadTest {
 protected:
  StatefulSetTest() : WorkloadTest(newStatefulSetController) {}
};

class JobTest : public WorkloadTest {
 protected:
  JobTest()
      : WorkloadTest([](ApiClient& client, std::shared_ptr<Clock> clock) {
          return newJobController(client, std::move(clock));
        }) {}
};

std::vector<std::string> names(const std::vector<json>& pods) {
  std::vector<std::string> out;
  for (const auto& p : pods) out.push_back(meta::name(p));
  std::sort(out.begin(), out.end());
  return out;
}

TEST_F(StatefulSetTest, OrderedCreationAndReverseScaleDown) {
  ASSERT_TRUE(h.client.create(gvr::kStatefulSets, "default", statefulSet(3, "v1")));
  h.settle();
  EXPECT_EQ(names(h.activePods()), (std::vector<std::string>{"db-0"}));  // waits for db-0
  json p0 = *h.client.get(gvr::kPods, "default", "db-0");
  EXPECT_EQ(p0["spec"]["hostname"], "db-0");
  EXPECT_EQ(p0["spec"]["subdomain"], "db");
  EXPECT_EQ(p0["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"], "db-0");
  for (int i = 0; i < 3; ++i) {
    h.runAllPods();
    h.settle();
  }
  EXPECT_EQ(names(h.activePods()), (std::vector<std::string>{"db-0", "db-1", "db-2"}));
  ASSERT_TRUE(h.client.patch(gvr::kStatefulSets, "default", "db", PatchType::Merge,
                             json{{"spec", {{"replicas", 1}}}}));
  h.settle();
  EXPECT_EQ(names(h.activePods()), (std::vector<std::string>{"db-0", "db-1"}));  // db-2 first
  h.finishDeletions();
  h.settle();
  EXPECT_EQ(names(h.activePods()), (std::vector<std::string>{"db-0"}));
}

TEST_F(StatefulSetTest, ParallelAndRollingUpdateWithPartition) {
  json s = statefulSet(3, "v1", "Parallel");
  s["spec"]["updateStrategy"] =
      json::parse(R"({"type":"RollingUpdate","rollingUpdate":{"partition":1}})");
  ASSERT_TRUE(h.client.create(gvr::kStatefulSets, "default", s));
  h.settle();
  EXPECT_EQ(h.activePods().size(), 3u);  // all at once
  h.runAllPods();
  h.settle();
  ASSERT_TRUE(h.setImage(gvr::kStatefulSets, "db", "v2"));
  for (int i = 0; i < 10; ++i) {
    h.settle();
    h.finishDeletions();
    h.settle();
    h.runAllPods();
  }
  h.settle();
  std::map<std::string, std::string> image;
  for (const auto& p : h.activePods()) image[meta::name(p)] = p["spec"]["containers"][0]["image"];
  EXPECT_EQ(image,
            (std::map<std::string, std::string>{{"db-0", "v1"}, {"db-1", "v2"}, {"db-2", "v2"}}));
  json st = h.client.get(gvr::kStatefulSets, "default", "db")->at("status");
  EXPECT_EQ(st["updatedReplicas"], 2);
  EXPECT_NE(st["currentRevision"], st["updateRevision"]);
  // Each pod's controller-revision-hash is its ControllerRevision's name, as upstream labels
  // StatefulSet pods (what the conformance tests compare with status.*Revision).
  for (const auto& p : h.activePods()) {
    std::string want = meta::name(p) == "db-0" ? st["currentRevision"] : st["updateRevision"];
    EXPECT_EQ(p["metadata"]["labels"]["controller-revision-hash"], want) << meta::name(p);
  }
}

// The canary test: a pod below the partition that is deleted comes back from the current
// revision's template and label, not the update revision's.
TEST_F(StatefulSetTest, PodBelowPartitionIsRecreatedAtCurrentRevision) {
  json s = statefulSet(3, "v1");
  s["spec"]["updateStrategy"] =
      json::parse(R"({"type":"RollingUpdate","rollingUpdate":{"partition":2}})");
  ASSERT_TRUE(h.client.create(gvr::kStatefulSets, "default", s));
  for (int i = 0; i < 4; ++i) {
    h.settle();
    h.runAllPods();
  }
  ASSERT_TRUE(h.setImage(gvr::kStatefulSets, "db", "v2"));
  auto roll = [&] {
    for (int i = 0; i < 6; ++i) {
      h.settle();
      h.finishDeletions();
      h.settle();
      h.runAllPods();
    }
    h.settle();
  };
  roll();
  ASSERT_TRUE(h.client.remove(gvr::kPods, "default", "db-0"));
  ASSERT_TRUE(h.client.remove(gvr::kPods, "default", "db-2"));
  roll();
  json st = h.client.get(gvr::kStatefulSets, "default", "db")->at("status");
  ASSERT_NE(st["currentRevision"], st["updateRevision"]);
  std::map<std::string, std::string> image, revision;
  for (const auto& p : h.activePods()) {
    image[meta::name(p)] = p["spec"]["containers"][0]["image"];
    revision[meta::name(p)] = p["metadata"]["labels"]["controller-revision-hash"];
  }
  EXPECT_EQ(image,
            (std::map<std::string, std::string>{{"db-0", "v1"}, {"db-1", "v1"}, {"db-2", "v2"}}));
  EXPECT_EQ(revision["db-0"], st["currentRevision"]);
  EXPECT_EQ(revision["db-2"], st["updateRevision"]);
  // Lowering the partition to 0 finishes the rollout and the current revision follows.
  ASSERT_TRUE(h.client.patch(
      gvr::kStatefulSets, "default", "db", PatchType::Merge,
      json{{"spec", {{"updateStrategy", {{"rollingUpdate", {{"partition", 0}}}}}}}}));
  roll();
  roll();
  st = h.client.get(gvr::kStatefulSets, "default", "db")->at("status");
  EXPECT_EQ(st["currentRevision"], st["updateRevision"]);
  for (const auto& p : h.activePods()) EXPECT_EQ(p["spec"]["containers"][0]["image"], "v2");
}

// OrderedReady scale-down halts while a pod is unready; only the lowest unhealthy ordinal
// (the one holding the set back) may still go.
TEST_F(StatefulSetTest, OrderedScaleDownHaltsOnUnhealthyPod) {
  ASSERT_TRUE(h.client.create(gvr::kStatefulSets, "default", statefulSet(3, "v1")));
  for (int i = 0; i < 4; ++i) {
    h.settle();
    h.runAllPods();
  }
  ASSERT_EQ(h.activePods().size(), 3u);
  auto setReady = [&](const std::string& pod, bool ready) {
    json st = {{"status",
                {{"conditions",
                  json::array({{{"type", "Ready"}, {"status", ready ? "True" : "False"}}})}}}};
    ASSERT_TRUE(h.client.patch(gvr::kPods, "default", pod, PatchType::Merge, st, "status"));
  };
  for (auto p : {"db-0", "db-1", "db-2"}) setReady(p, false);
  ASSERT_TRUE(h.client.patch(gvr::kStatefulSets, "default", "db", PatchType::Merge,
                             json{{"spec", {{"replicas", 0}}}}));
  h.settle();
  h.finishDeletions();
  h.settle();
  EXPECT_EQ(names(h.activePods()), (std::vector<std::string>{"db-0", "db-1", "db-2"}));
  for (auto p : {"db-0", "db-1", "db-2"}) setReady(p, true);
  h.settle();
  EXPECT_EQ(names(h.activePods()), (std::vector<std::string>{"db-0", "db-1"}));
  setReady("db-1", false);  // db-1 is now the first unhealthy pod: it may go
  h.finishDeletions();
  h.settle();
  EXPECT_EQ(names(h.activePods()), (std::vector<std::string>{"db-0"}));
}

json job(int completions, int parallelism, int backoff = 6) {
  return json::parse(R"({"metadata":{"name":"pi"},"spec":{"completions":)" +
                     std::to_string(completions) + R"(,"parallelism":)" +
                     std::to_string(parallelism) + R"(,"backoffLimit":)" + std::to_string(backoff) +
                     R"(,
    "template":{"spec":{"restartPolicy":"Never","containers":[{"name":"c","image":"perl"}]}}}})");
}

void finishPods(Harness& h, const std::string& phase) {
  for (const auto& p : h.pods()) {
    if (meta::str(p, {"status", "phase"}) == "Pending") {
      ASSERT_TRUE(h.client.patch(gvr::kPods, "default", meta::name(p), PatchType::Merge,
                                 json{{"status", {{"phase", phase}}}}, "status"));
    }
  }
}

std::string conditionOf(const json& j) {
  const json& conds = meta::at(j, {"status", "conditions"});
  if (!conds.is_array()) return "";
  for (const auto& c : conds) {
    if ((c["type"] == "Complete" || c["type"] == "Failed") && c["status"] == "True")
      return c["type"];
  }
  return "";
}

TEST_F(JobTest, RunsToCompletionsWithParallelism) {
  ASSERT_TRUE(h.client.create(gvr::kJobs, "default", job(3, 2)));
  h.settle();
  auto pods = h.pods();
  ASSERT_EQ(pods.size(), 2u);
  EXPECT_EQ(pods[0]["metadata"]["labels"]["batch.kubernetes.io/job-name"], "pi");
  EXPECT_EQ(pods[0]["metadata"]["labels"]["job-name"], "pi");
  EXPECT_FALSE(pods[0]["metadata"]["labels"]["controller-uid"].get<std::string>().empty());
  finishPods(h, "Succeeded");
  h.settle();
  EXPECT_EQ(h.pods().size(), 3u);  // only one more needed
  finishPods(h, "Succeeded");
  h.settle();
  json j = *h.client.get(gvr::kJobs, "default", "pi");
  EXPECT_EQ(conditionOf(j), "Complete");
  EXPECT_EQ(j["status"]["succeeded"], 3);
  EXPECT_TRUE(j["status"].contains("completionTime"));
}

// The conformance test "Job should adopt matching orphans and release non-matching pods".
TEST_F(JobTest, AdoptsMatchingOrphansAndReleasesNonMatchingPods) {
  ASSERT_TRUE(h.client.create(gvr::kJobs, "default", job(2, 2)));
  h.settle();
  ASSERT_EQ(h.pods().size(), 2u);
  std::string pod = meta::name(h.pods()[0]);
  ASSERT_TRUE(h.client.patch(gvr::kPods, "default", pod, PatchType::Merge,
                             json{{"metadata", {{"ownerReferences", nullptr}}}}));
  h.settle();
  auto adopted = h.client.get(gvr::kPods, "default", pod);
  ASSERT_TRUE(adopted);
  auto ref = meta::controllerRef(*adopted);
  ASSERT_TRUE(ref);
  EXPECT_EQ(ref->value("kind", ""), "Job");
  EXPECT_EQ(h.pods().size(), 2u) << "the orphan was adopted, not replaced";

  ASSERT_TRUE(h.client.patch(gvr::kPods, "default", pod, PatchType::Merge,
                             json{{"metadata", {{"labels", nullptr}}}}));
  h.settle();
  auto released = h.client.get(gvr::kPods, "default", pod);
  ASSERT_TRUE(released);
  EXPECT_FALSE(meta::controllerRef(*released));
}

TEST_F(JobTest, BackoffLimitAndTtl) {
  json jb = job(1, 1, 1);
  jb["spec"]["ttlSecondsAfterFinished"] = 60;
  ASSERT_TRUE(h.client.create(gvr::kJobs, "default", jb));
  for (int i = 0; i < 3; ++i) {
    h.settle();
    finishPods(h, "Failed");
  }
  h.settle();
  json j = *h.client.get(gvr::kJobs, "default", "pi");
  EXPECT_EQ(conditionOf(j), "Failed");
  EXPECT_EQ(j["status"]["failed"], 2);
  h.clock->advance(std::chrono::seconds(61));
  h.settle();
  auto gone = h.client.get(gvr::kJobs, "default", "pi");
  EXPECT_TRUE(!gone || meta::isDeleting(*gone));
}

TEST_F(JobTest, ActiveDeadline) {
  json jb = job(1, 1);
  jb["spec"]["activeDeadlineSeconds"] = 10;
  ASSERT_TRUE(h.client.create(gvr::kJobs, "default", jb));
  h.settle();
  h.clock->advance(std::chrono::seconds(11));
  h.settle();
  json j = *h.client.get(gvr::kJobs, "default", "pi");
  EXPECT_EQ(conditionOf(j), "Failed");
  bool deadline = false;
  for (const auto& c : j["status"]["conditions"]) deadline |= c["reason"] == "DeadlineExceeded";
  EXPECT_TRUE(deadline);
  EXPECT_TRUE(h.activePods().empty());
}

TEST(CronScheduleTest, ParsesStandardSyntax) {
  struct Case {
    const char* spec;
    const char* after;
    const char* next;
  };
  const Case cases[] = {
      {"*/5 * * * *", "2026-01-01T00:03:10Z", "2026-01-01T00:05:00Z"},
      {"@hourly", "2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z"},
      // 2026-01-03 is a Saturday: next run is Monday the 5th.
      {"30 9 * * mon-fri", "2026-01-02T10:00:00Z", "2026-01-05T09:30:00Z"},
      {"0 0 * * 7", "2026-01-01T00:00:00Z", "2026-01-04T00:00:00Z"},
      {"@yearly", "2026-03-01T00:00:00Z", "2027-01-01T00:00:00Z"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.spec);
    auto schedule = CronSchedule::parse(c.spec);
    ASSERT_TRUE(schedule);
    TimePoint after;
    ASSERT_TRUE(parseTime(c.after, &after));
    EXPECT_EQ(formatTime(*schedule->next(after)), c.next);
  }
  EXPECT_FALSE(CronSchedule::parse("* * * *"));
  EXPECT_FALSE(CronSchedule::parse("61 * * * *"));
  EXPECT_FALSE(CronSchedule::parse("* * * foo *"));
}

TEST(CronJobTest, CreatesJobsPerScheduleWithForbidAndHistory) {
  Harness h;
  h.add(newCronJobController(h.client, h.clock));
  h.start();
  json cj = json::parse(R"({"metadata":{"name":"tick"},"spec":{"schedule":"* * * * *",
    "concurrencyPolicy":"Forbid","successfulJobsHistoryLimit":1,
    "jobTemplate":{"spec":{"template":{"spec":{"restartPolicy":"Never","containers":[{"name":"c","image":"x"}]}}}}}})");
  ASSERT_TRUE(h.client.create(gvr::kCronJobs, "default", cj));
  h.settle();
  EXPECT_TRUE(h.client.list(gvr::kJobs, "default", ListOptions{})->items.empty());
  h.clock->advance(std::chrono::seconds(61));
  h.settle();
  auto jobs = h.client.list(gvr::kJobs, "default", ListOptions{})->items;
  ASSERT_EQ(jobs.size(), 1u);
  std::int64_t minutes =
      std::chrono::duration_cast<std::chrono::minutes>(
          std::chrono::floor<std::chrono::minutes>(h.clock->now()).time_since_epoch())
          .count();
  EXPECT_EQ(meta::name(jobs[0]), "tick-" + std::to_string(minutes));
  json cur = *h.client.get(gvr::kCronJobs, "default", "tick");
  ASSERT_TRUE(cur["status"].contains("active")) << cur.dump();
  EXPECT_EQ(cur["status"]["active"].size(), 1u);
  // Forbid: the next minute does not start another while the first runs.
  h.clock->advance(std::chrono::seconds(60));
  h.settle();
  EXPECT_EQ(h.client.list(gvr::kJobs, "default", ListOptions{})->items.size(), 1u);
  // Finish it: the next run starts and history keeps one successful job.
  auto mark = [&](const json& j) {
    ASSERT_TRUE(h.client.patch(
        gvr::kJobs, "default", meta::name(j), PatchType::Merge,
        json{{"status",
              {{"completionTime", formatTime(h.clock->now())},
               {"conditions", json::array({{{"type", "Complete"}, {"status", "True"}}})}}}},
        "status"));
  };
  mark(jobs[0]);
  h.clock->advance(std::chrono::seconds(60));
  h.settle();
  jobs = h.client.list(gvr::kJobs, "default", ListOptions{})->items;
  ASSERT_EQ(jobs.size(), 2u);
  for (const auto& j : jobs) {
    if (conditionOf(j).empty()) mark(j);
  }
  h.clock->advance(std::chrono::seconds(60));
  h.settle();
  int complete = 0;
  auto remaining = h.client.list(gvr::kJobs, "default", ListOptions{})->items;
  for (const auto& j : remaining) {
    if (!meta::isDeleting(j) && conditionOf(j) == "Complete") ++complete;
  }
  EXPECT_EQ(complete, 1) << json(h.client.list(gvr::kJobs, "default", ListOptions{})->items).dump();
  // Suspend stops new runs.
  ASSERT_TRUE(h.client.patch(gvr::kCronJobs, "default", "tick", PatchType::Merge,
                             json{{"spec", {{"suspend", true}}}}));
  std::size_t before = h.client.list(gvr::kJobs, "default", ListOptions{})->items.size();
  h.clock->advance(std::chrono::seconds(120));
  h.controllers[0]->resync();
  h.settle();
  EXPECT_EQ(h.client.list(gvr::kJobs, "default", ListOptions{})->items.size(), before);
}

}  // namespace
}  // namespace skiff::master::testing
