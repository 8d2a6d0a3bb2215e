// The resource quota controller over the fake API: it recounts status.used when a quota
// changes and when usage goes away (replenishment), and, as upstream's QuotaMonitor, not on a
// create, which admission charged already.
#include <gtest/gtest.h>

#include "harness.h"

namespace skiff::master::testing {
namespace {

const GroupVersionResource kQuotas{"", "v1", "resourcequotas"};

json pod(const std::string& name) {
  return {{"metadata", {{"name", name}, {"namespace", "default"}}},
          {"spec",
           {{"containers", json::array({{{"name", "c"},
                                         {"image", "busybox"},
                                         {"resources", {{"requests", {{"cpu", "100m"}}}}}}})}}}};
}

json used(Harness& h) {
  auto q = h.client.get(kQuotas, "default", "q");
  return q ? q->value("status", json::object()).value("used", json()) : json();
}

// The controller started, then the pod a and the quota q with spec.hard `hard`, settled.
void startWithQuota(Harness& h, const json& hard) {
  h.add(newResourceQuotaController(h.client, h.clock));
  h.start();
  ASSERT_TRUE(h.client.create(gvr::kPods, "default", pod("a")));
  json q = {{"metadata", {{"name", "q"}, {"namespace", "default"}}}, {"spec", {{"hard", hard}}}};
  ASSERT_TRUE(h.client.create(kQuotas, "default", q));
  h.settle();
}

TEST(ResourceQuotaControllerTest, RecountsOnReplenishmentNotOnEveryCreate) {
  Harness h;
  ASSERT_NO_FATAL_FAILURE(startWithQuota(h, {{"pods", "10"}, {"requests.cpu", "1"}}));
  EXPECT_EQ(used(h), json({{"pods", "1"}, {"requests.cpu", "100m"}}));

  // A create: admission charged it (not modelled by the fake API), the controller neither
  // lists the namespace again nor writes the quota.
  int lists = h.client.callsForTest("list pods");
  int writes = h.client.callsForTest("update resourcequotas/status");
  ASSERT_TRUE(h.client.create(gvr::kPods, "default", pod("b")));
  h.settle();
  EXPECT_EQ(h.client.callsForTest("list pods"), lists);
  EXPECT_EQ(h.client.callsForTest("update resourcequotas/status"), writes);

  // A pod that finishes, and one that goes, give their usage back.
  json done = {{"status", {{"phase", "Succeeded"}}}};
  ASSERT_TRUE(h.client.patch(gvr::kPods, "default", "b", PatchType::Merge, done, "status"));
  h.settle();
  EXPECT_EQ(used(h), json({{"pods", "1"}, {"requests.cpu", "100m"}}));
  ASSERT_TRUE(h.client.forceRemove(gvr::kPods, "default", "a"));
  h.settle();
  EXPECT_EQ(used(h), json({{"pods", "0"}, {"requests.cpu", "0"}}));
}

// The controller writes status.hard in canonical form ("1k" for "1000"); a status write that
// leaves the limits as they are (an admission charge) is not a new intent and recounts nothing.
TEST(ResourceQuotaControllerTest, AChargeIsNotANewIntent) {
  Harness h;
  ASSERT_NO_FATAL_FAILURE(startWithQuota(h, {{"pods", "1000"}}));
  auto synced = h.client.get(kQuotas, "default", "q");
  ASSERT_TRUE(synced);
  EXPECT_EQ((*synced)["status"]["hard"], json({{"pods", "1k"}}));
  EXPECT_EQ((*synced)["status"]["used"], json({{"pods", "1"}}));

  int lists = h.client.callsForTest("list pods");
  json charged = *synced;
  charged["status"]["used"]["pods"] = "2";  // what admission writes for a second pod
  ASSERT_TRUE(h.client.update(kQuotas, "default", charged, "status"));
  ASSERT_TRUE(h.client.create(gvr::kPods, "default", pod("b")));
  h.settle();
  EXPECT_EQ(h.client.callsForTest("list pods"), lists);
  EXPECT_EQ(used(h), json({{"pods", "2"}}));

  // A new limit is an intent: recounted, and status.hard follows.
  auto cur = h.client.get(kQuotas, "default", "q");
  ASSERT_TRUE(cur);
  json raised = *cur;
  raised["spec"]["hard"]["pods"] = "2000";
  ASSERT_TRUE(h.client.update(kQuotas, "default", raised));
  h.settle();
  EXPECT_GT(h.client.callsForTest("list pods"), lists);
  auto after = h.client.get(kQuotas, "default", "q");
  ASSERT_TRUE(after);
  EXPECT_EQ((*after)["status"]["hard"], json({{"pods", "2k"}}));
}

}  // namespace
}  // namespace skiff::master::testing
