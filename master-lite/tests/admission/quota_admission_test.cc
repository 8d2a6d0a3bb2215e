// The ResourceQuota admission plugin over a real registry and store: upstream's messages, the
// charge committed with the object, the quotas kept in memory (and what happens when memory
// trails the store), and concurrent creates that never over-admit.
#include "skiff/master/admission/quota.h"

#include <gtest/gtest.h>

#include <deque>
#include <mutex>
#include <vector>

#include "skiff/common/testing/temp_dir.h"
#include "skiff/master/testing/create_race.h"
#include "skiff/master/testing/registry_fixture.h"
#include "skiff/master/testing/temp_registry.h"

namespace skiff::master::admission {
namespace {

using json = nlohmann::json;

const api::ResourceInfo& res(const char* r) { return *api::findResource("", "v1", r); }

api::WriteOptions admin() {
  api::WriteOptions w;
  w.user = {"admin", {"system:masters", "system:authenticated"}};
  return w;
}

json pod(const std::string& name) {
  return {{"metadata", {{"name", name}}},
          {"spec", {{"containers", json::array({{{"name", "c"}, {"image", "busybox"}}})}}}};
}

// A Store that forwards everything, except that while held it keeps back the events of the
// watches on ResourceQuotas: what another server's write looks like before its event arrived.
class LaggingStore : public store::Store {
 public:
  explicit LaggingStore(store::StorePtr inner) : inner_(std::move(inner)) {}

  void hold() {
    std::lock_guard l(mu_);
    held_ = true;
  }
  // Delivers what was kept back, in order.
  void release() {
    std::deque<std::pair<store::WatchHandler*, store::EventPtr>> q;
    {
      std::lock_guard l(mu_);
      held_ = false;
      q.swap(pending_);
    }
    for (auto& [h, ev] : q) (*h)(ev);
  }

  Result<store::KeyValue> get(const std::string& key) override { return inner_->get(key); }
  Result<store::ListResult> list(const std::string& prefix, const std::string& start_after,
                                 std::int64_t limit) override {
    return inner_->list(prefix, start_after, limit);
  }
  Result<store::KeyValue> create(const std::string& key, const std::string& value) override {
    return inner_->create(key, value);
  }
  Result<store::KeyValue> update(const std::string& key, const std::string& value,
                                 std::int64_t expected) override {
    return inner_->update(key, value, expected);
  }
  Result<store::KeyValue> remove(const std::string& key, std::int64_t expected) override {
    return inner_->remove(key, expected);
  }
  Result<std::vector<store::KeyValue>> commit(const std::vector<store::TxnOp>& ops) override {
    return inner_->commit(ops);
  }
  Result<store::WatchPtr> watch(const std::string& prefix, std::int64_t from,
                                store::WatchHandler handler) override {
    if (prefix.find("resourcequotas") == std::string::npos)
      return inner_->watch(prefix, from, std::move(handler));
    auto h = std::make_unique<store::WatchHandler>(std::move(handler));
    store::WatchHandler* raw = h.get();
    handlers_.push_back(std::move(h));
    return inner_->watch(prefix, from, [this, raw](const store::EventPtr& ev) {
      std::lock_guard l(mu_);
      if (held_) {
        pending_.emplace_back(raw, ev);
        return;
      }
      (*raw)(ev);
    });
  }
  std::int64_t currentRevision() override { return inner_->currentRevision(); }
  std::int64_t compactedRevision() override { return inner_->compactedRevision(); }
  Result<void> compact(std::int64_t revision) override { return inner_->compact(revision); }

 private:
  store::StorePtr inner_;
  std::mutex mu_;
  bool held_ = false;
  std::deque<std::pair<store::WatchHandler*, store::EventPtr>> pending_;
  std::vector<std::unique_ptr<store::WatchHandler>> handlers_;
};

class QuotaAdmissionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::Options so;
    so.fsync_every_write = false;
    auto s = store::openSqliteStore(dir_.path() + "/db", so);
    ASSERT_TRUE(s) << s.error().message();
    store_ = std::make_unique<LaggingStore>(std::move(s).value());
    reg_ = std::make_unique<api::Registry>(*store_, api::RegistryOptions{});
    ASSERT_TRUE(reg_->bootstrap("192.0.2.10", 6443));
    ResourceQuotaOptions o;
    o.live_ttl = std::chrono::milliseconds(0);  // a lister miss always looks the store up
    reg_->addAdmissionPlugin(newLimitRanger(*reg_));
    reg_->addAdmissionPlugin(newResourceQuotaAdmission(*reg_, o));
    ASSERT_TRUE(reg_->create(res("namespaces"), "", {{"metadata", {{"name", "ns"}}}}, admin()));
  }

  // A quota as the quota controller leaves it: status.hard = spec.hard, status.used as given.
  void setQuota(const json& hard, const json& used) {
    auto cur = reg_->get(res("resourcequotas"), "ns", "q");
    if (!cur) {
      auto c = reg_->create(res("resourcequotas"), "ns",
                            {{"metadata", {{"name", "q"}}}, {"spec", {{"hard", hard}}}}, admin());
      ASSERT_TRUE(c) << c.error().message();
      cur = c->object;
    } else {
      (*cur)["spec"]["hard"] = hard;
      auto u = reg_->update(res("resourcequotas"), "ns", "q", *cur, admin());
      ASSERT_TRUE(u) << u.error().message();
      cur = u->object;
    }
    (*cur)["status"] = {{"hard", hard}, {"used", used}};
    auto st = reg_->update(res("resourcequotas"), "ns", "q", *cur, admin(), "status");
    ASSERT_TRUE(st) << st.error().message();
  }
  json quota() { return reg_->get(res("resourcequotas"), "ns", "q").value(); }
  std::string usedPods() { return quota()["status"]["used"].value("pods", std::string("?")); }
  Result<api::WriteResult> createPod(const std::string& name) {
    return reg_->create(res("pods"), "ns", pod(name), admin());
  }

  skiff::testing::TempDir dir_{"quota"};
  std::unique_ptr<LaggingStore> store_;
  std::unique_ptr<api::Registry> reg_;
};

TEST_F(QuotaAdmissionTest, RefusesOverTheQuotaWithUpstreamMessage) {
  setQuota({{"pods", "2"}}, {{"pods", "0"}});
  ASSERT_TRUE(createPod("a"));
  ASSERT_TRUE(createPod("b"));
  EXPECT_EQ(usedPods(), "2");
  auto third = createPod("c");
  testing::expectForbidden(
      third,
      "pods \"c\" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, "
      "limited: pods=2");
  EXPECT_FALSE(reg_->get(res("pods"), "ns", "c"));
  EXPECT_EQ(usedPods(), "2");
}

// The charge and the object are one transaction: watchers see the quota's MODIFIED and the
// pod's ADDED, the quota's resourceVersion is its new revision, its managedFields stay; a
// create that fails (the name is taken) charges nothing; a dry run charges nothing.
TEST_F(QuotaAdmissionTest, ChargeIsCommittedWithTheObject) {
  setQuota({{"pods", "5"}}, {{"pods", "0"}});
  json before = quota();
  auto qw = reg_->watch(res("resourcequotas"), "ns", {});
  auto pw = reg_->watch(res("pods"), "ns", {});
  ASSERT_TRUE(qw && pw);
  auto created = createPod("a");
  ASSERT_TRUE(created) << created.error().message();
  json after = quota();
  EXPECT_EQ(after["status"]["used"]["pods"], "1");
  EXPECT_NE(after["metadata"]["resourceVersion"], before["metadata"]["resourceVersion"]);
  EXPECT_EQ(after["metadata"]["managedFields"], before["metadata"]["managedFields"]);
  EXPECT_EQ(after["spec"], before["spec"]);
  auto qe = (*qw)->next();
  auto pe = (*pw)->next();
  // Each watch starts with the ADDED of what exists; the last quota event is this charge.
  ASSERT_FALSE(qe.empty());
  EXPECT_EQ(qe.back().type, WatchEventType::Modified);
  EXPECT_EQ(qe.back().object["status"]["used"]["pods"], "1");
  EXPECT_EQ(qe.back().object["metadata"]["resourceVersion"], after["metadata"]["resourceVersion"]);
  ASSERT_FALSE(pe.empty());
  EXPECT_EQ(pe.back().type, WatchEventType::Added);
  EXPECT_EQ(pe.back().object["metadata"]["name"], "a");

  auto dup = createPod("a");
  ASSERT_FALSE(dup);
  EXPECT_TRUE(dup.error().is(ErrorCode::AlreadyExists));
  EXPECT_EQ(usedPods(), "1");
  api::WriteOptions dry = admin();
  dry.dry_run = true;
  ASSERT_TRUE(reg_->create(res("pods"), "ns", pod("b"), dry));
  EXPECT_EQ(usedPods(), "1");
}

// A charge's stored text is spliced from the quota's previous text (only status.used changes):
// it must be exactly what serialising the charged quota gives, also when the usage's length
// changes ("9" -> "10"), and the quota read back is the charged one.
TEST_F(QuotaAdmissionTest, ChargeIsStoredAsTheWholeQuotaWouldBe) {
  setQuota({{"pods", "100"}, {"count/pods", "100"}, {"requests.cpu", "10"}},
           {{"pods", "0"}, {"count/pods", "0"}, {"requests.cpu", "0"}});
  const std::string key = reg_->storageKey(res("resourcequotas"), "ns", "q");
  for (int i = 1; i <= 11; ++i) {
    json p = pod("p" + std::to_string(i));
    p["spec"]["containers"][0]["resources"]["requests"]["cpu"] = "100m";
    ASSERT_TRUE(reg_->create(res("pods"), "ns", p, admin()));
    auto stored = store_->get(key);
    ASSERT_TRUE(stored);
    json parsed = json::parse(stored->value);
    EXPECT_EQ(parsed.dump(), stored->value);
    EXPECT_FALSE(parsed["metadata"].contains("resourceVersion"));
    json used = {{"pods", std::to_string(i)},
                 {"count/pods", std::to_string(i)},
                 {"requests.cpu", i == 10 ? std::string("1") : std::to_string(i * 100) + "m"}};
    EXPECT_EQ(parsed["status"]["used"], used) << "after pod " << i;
    EXPECT_EQ(quota()["status"]["used"], used);
  }
}

// A quota created, or lowered, just before a create is honoured by that create.
TEST_F(QuotaAdmissionTest, QuotaWrittenJustBeforeIsHonoured) {
  ASSERT_TRUE(createPod("free"));  // memory is filled, with no quota in ns
  setQuota({{"pods", "1"}}, {{"pods", "0"}});
  ASSERT_TRUE(createPod("a"));
  EXPECT_EQ(usedPods(), "1");
  EXPECT_FALSE(createPod("b"));
  setQuota({{"pods", "3"}}, {{"pods", "1"}});
  ASSERT_TRUE(createPod("b"));
  setQuota({{"pods", "2"}}, {{"pods", "2"}});
  auto c = createPod("c");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message().find("limited: pods=2"), std::string::npos) << c.error().message();
}

// Memory behind the store (another server's write whose event has not arrived): a namespace
// with no quota in memory is looked up in the store; a stale quota in memory cannot admit (the
// charge's revision check fails and the store's quota decides) nor refuse (a refusal is
// confirmed against the store).
TEST_F(QuotaAdmissionTest, MemoryBehindTheStoreDoesNotChangeTheAnswer) {
  ASSERT_TRUE(createPod("free"));
  store_->hold();
  setQuota({{"pods", "1"}}, {{"pods", "0"}});
  ASSERT_TRUE(createPod("a"));  // the quota is not in memory yet: found by the live lookup
  EXPECT_EQ(usedPods(), "1");
  auto b = createPod("b");
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().message().find("exceeded quota: q"), std::string::npos);
  store_->release();

  // Memory: hard 1, used 1. The store: raised to 3.
  store_->hold();
  setQuota({{"pods", "3"}}, {{"pods", "1"}});
  ASSERT_TRUE(createPod("b")) << "a refusal from memory is confirmed against the store";
  EXPECT_EQ(usedPods(), "2");
  store_->release();

  // Memory: hard 3, used 2. The store: used 3 (the controller counted another pod).
  store_->hold();
  setQuota({{"pods", "3"}}, {{"pods", "3"}});
  auto c = createPod("c");
  ASSERT_FALSE(c) << "memory would admit it; the charge's revision check must stop that";
  EXPECT_NE(c.error().message().find("used: pods=3, limited: pods=3"), std::string::npos)
      << c.error().message();
  EXPECT_FALSE(reg_->get(res("pods"), "ns", "c"));
  store_->release();
  EXPECT_EQ(usedPods(), "3");
}

TEST_F(QuotaAdmissionTest, ConcurrentCreatesNeverOverAdmit) {
  setQuota({{"pods", "50"}}, {{"pods", "0"}});
  auto race = testing::raceCreates(
      100, [&](int i) { return createPod("p-" + std::to_string(i)); }, "exceeded quota: q");
  EXPECT_EQ(race.admitted, 50);
  EXPECT_EQ(race.refused, 50);
  EXPECT_EQ(race.other, 0);
  EXPECT_EQ((*reg_->list(res("pods"), "ns", {}))["items"].size(), 50u);
  EXPECT_EQ(usedPods(), "50");
}

// Updates still charge (a Service turned NodePort), writing the quota before the object.
TEST_F(QuotaAdmissionTest, UpdateChargesTheDelta) {
  setQuota({{"services.nodeports", "1"}, {"services", "5"}},
           {{"services.nodeports", "0"}, {"services", "0"}});
  json svc = {{"metadata", {{"name", "s"}}}, {"spec", {{"ports", json::array({{{"port", 80}}})}}}};
  auto created = reg_->create(res("services"), "ns", svc, admin());
  ASSERT_TRUE(created) << created.error().message();
  EXPECT_EQ(quota()["status"]["used"]["services"], "1");
  json np = created->object;
  np["spec"]["type"] = "NodePort";
  auto u = reg_->update(res("services"), "ns", "s", np, admin());
  ASSERT_TRUE(u) << u.error().message();
  EXPECT_EQ(quota()["status"]["used"]["services.nodeports"], "1");
}

}  // namespace
}  // namespace skiff::master::admission
