// The per-kind strategy table (strategy.h) and the Service allocators behind it.
#include "skiff/master/api/strategy.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "../../src/api/registry/cluster_ip_allocator.h"
#include "../../src/api/registry/node_port_allocator.h"
#include "skiff/master/api/registry.h"
#include "skiff/master/testing/registry_fixture.h"

namespace skiff::master::api {
namespace {

using json = nlohmann::json;

class StrategyTest : public ::skiff::master::testing::RegistryFixture {
 protected:
  RegistryOptions registryOptions() const override {
    RegistryOptions ro;
    ro.node_port_min = 30000;
    ro.node_port_max = 30001;
    return ro;
  }
  const ResourceInfo& res(const std::string& g, const std::string& r) {
    return *findResource(g, "v1", r);
  }
  json nodePortService(const std::string& name, int port) {
    json p = {{"port", 80}};
    if (port) p["nodePort"] = port;
    return {{"metadata", {{"name", name}}},
            {"spec", {{"type", "NodePort"}, {"ports", json::array({p})}}}};
  }

  WriteOptions opts_ = adminWrites();
};

// A strategy registered at run time (as a CustomResourceDefinition's will be) is the one the
// generic CRUD runs: its admission mutates creates, its validation refuses updates.
class LabellingStrategy : public Strategy {
 public:
  Result<void> admitCreate(const ResourceInfo&, json& obj, const WriteOptions&) override {
    obj["metadata"]["labels"]["admitted-by"] = "test-strategy";
    return ok();
  }
  FieldErrors validate(const ResourceInfo& r, const json& obj, const json* old) const override {
    FieldErrors errs = Strategy::validate(r, obj, old);
    if (old && obj.value("data", json::object()).contains("forbidden")) {
      errs.push_back({FieldError::Type::Forbidden, "data.forbidden", nullptr, "not on update"});
    }
    return errs;
  }
};

TEST_F(StrategyTest, RegisteredStrategyRunsOnCreateAndUpdate) {
  reg_->strategies().add("", "configmaps", std::make_shared<LabellingStrategy>());
  const ResourceInfo& cm = res("", "configmaps");
  auto made = reg_->create(cm, "default", {{"metadata", {{"name", "c"}}}}, opts_);
  ASSERT_TRUE(made) << made.error().message();
  EXPECT_EQ(made->object["metadata"]["labels"]["admitted-by"], "test-strategy");

  json next = made->object;
  next["data"] = {{"forbidden", "x"}};
  auto upd = reg_->update(cm, "default", "c", next, opts_);
  ASSERT_FALSE(upd);
  EXPECT_TRUE(upd.error().is(ErrorCode::Invalid));
  EXPECT_NE(upd.error().message().find("data.forbidden: Forbidden: not on update"),
            std::string::npos)
      << upd.error().message();

  // Other kinds keep their own (here: the generic) strategy.
  auto other = reg_->create(res("", "secrets"), "default", {{"metadata", {{"name", "s"}}}}, opts_);
  ASSERT_TRUE(other);
  EXPECT_FALSE(other->object["metadata"].contains("labels"));
}

TEST_F(StrategyTest, GenericStrategyResetsStatusOnCreateAndKeepsItOnUpdate) {
  const ResourceInfo& rs = *findResource("apps", "v1", "replicasets");
  json obj = {{"metadata", {{"name", "r"}}},
              {"spec",
               {{"selector", {{"matchLabels", {{"app", "r"}}}}},
                {"template",
                 {{"metadata", {{"labels", {{"app", "r"}}}}},
                  {"spec", {{"containers", json::array({{{"name", "c"}, {"image", "i"}}})}}}}}}},
              {"status", {{"replicas", 7}}}};
  auto made = reg_->create(rs, "default", obj, opts_);
  ASSERT_TRUE(made) << made.error().message();
  EXPECT_EQ(made->object["status"], json::object());  // status is the controller's to write

  json st = made->object;
  st["status"] = {{"replicas", 2}};
  st["spec"]["replicas"] = 9;  // ignored on /status
  auto status = reg_->update(rs, "default", "r", st, opts_, "status");
  ASSERT_TRUE(status) << status.error().message();
  EXPECT_EQ(status->object["status"]["replicas"], 2);
  EXPECT_EQ(status->object["spec"]["replicas"], 1);

  json main = status->object;
  main["status"] = {{"replicas", 5}};  // ignored on the main resource
  main["spec"]["replicas"] = 3;
  auto upd = reg_->update(rs, "default", "r", main, opts_);
  ASSERT_TRUE(upd) << upd.error().message();
  EXPECT_EQ(upd->object["status"]["replicas"], 2);
  EXPECT_EQ(upd->object["spec"]["replicas"], 3);
}

TEST_F(StrategyTest, ServiceNodePortsReturnToThePoolOnDeleteAndDryRun) {
  const ResourceInfo& svc = res("", "services");
  WriteOptions dry = opts_;
  dry.dry_run = true;
  ASSERT_TRUE(reg_->create(svc, "default", nodePortService("dry", 30000), dry));
  ASSERT_TRUE(reg_->create(svc, "default", nodePortService("a", 30000), opts_));
  auto b = reg_->create(svc, "default", nodePortService("b", 0), opts_);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->object["spec"]["ports"][0]["nodePort"], 30001);
  auto full = reg_->create(svc, "default", nodePortService("c", 0), opts_);
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().message(), "failed to allocate a nodePort: range is full");
  auto taken = reg_->create(svc, "default", nodePortService("c", 30001), opts_);
  ASSERT_FALSE(taken);
  EXPECT_NE(taken.error().message().find("provided port is already allocated"), std::string::npos);

  ASSERT_TRUE(reg_->remove(svc, "default", "b", DeleteOptions{}, opts_));
  auto again = reg_->create(svc, "default", nodePortService("c", 30001), opts_);
  ASSERT_TRUE(again) << again.error().message();
}

TEST(ClusterIpAllocatorTest, HandsOutHostAddressesRoundRobinAfterTheReservedOne) {
  ClusterIpAllocator a("10.96.0.0/28");
  EXPECT_EQ(a.firstIp(), "10.96.0.1");
  std::uint32_t ip = 0;
  ASSERT_TRUE(parseIpv4("10.96.0.5", &ip));
  a.mark(ip);
  std::vector<std::string> got;
  while (auto next = a.allocateNext()) got.push_back(ipToString(*next));
  // 16 addresses minus network, .1 (kubernetes) and broadcast, minus the marked one.
  ASSERT_EQ(got.size(), 12u);
  EXPECT_EQ(got.front(), "10.96.0.2");
  EXPECT_EQ(got.back(), "10.96.0.14");
  EXPECT_EQ(std::count(got.begin(), got.end(), "10.96.0.5"), 0);
  a.release(ip);
  auto reused = a.allocateNext();
  ASSERT_TRUE(reused);
  EXPECT_EQ(ipToString(*reused), "10.96.0.5");
  EXPECT_FALSE(parseIpv4("10.96.0.256", &ip));
  EXPECT_FALSE(parseIpv4("10.96.0.1x", &ip));
}

TEST(NodePortAllocatorTest, AllocatesRoundRobinAndReusesReleasedPorts) {
  NodePortAllocator a(30000, 30002);
  EXPECT_TRUE(a.inRange(30002));
  EXPECT_FALSE(a.inRange(30003));
  EXPECT_EQ(a.allocateNext(), 30000);
  EXPECT_EQ(a.allocateNext(), 30001);
  a.release(30000);
  EXPECT_EQ(a.allocateNext(), 30002);  // round-robin: the cursor moves on first
  EXPECT_EQ(a.allocateNext(), 30000);
  EXPECT_EQ(a.allocateNext(), std::nullopt);
}

}  // namespace
}  // namespace skiff::master::api
