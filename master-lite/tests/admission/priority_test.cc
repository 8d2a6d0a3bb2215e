// The Priority admission plugin with upstream's messages, and kube-apiserver's system classes.
#include "skiff/master/admission/priority.h"

#include <gtest/gtest.h>

#include "skiff/master/testing/registry_fixture.h"

namespace skiff::master::admission {
namespace {

using json = nlohmann::json;

class PriorityAdmissionTest : public testing::RegistryFixture {
 protected:
  void setUpRegistry() override {
    reg_->addAdmissionPlugin(newPriorityAdmission(*reg_));
    ASSERT_TRUE(ensureSystemPriorityClasses(*reg_));
  }
  const api::ResourceInfo& pods() { return *api::findResource("", "v1", "pods"); }
  const api::ResourceInfo& classes() {
    return *api::findResource("scheduling.k8s.io", "v1", "priorityclasses");
  }
  Result<api::WriteResult> pod(const std::string& name, json spec_extra = json::object()) {
    json p = {{"metadata", {{"name", name}}},
              {"spec", {{"containers", json::array({{{"name", "c"}, {"image", "busybox"}}})}}}};
    p["spec"].update(spec_extra);
    return reg_->create(pods(), "default", p, adminWrites());
  }
  Result<api::WriteResult> priorityClass(const std::string& name, int value, json extra = {}) {
    json pc = {{"metadata", {{"name", name}}}, {"value", value}};
    if (extra.is_object()) pc.update(extra);
    return reg_->create(classes(), "", pc, adminWrites());
  }
};

TEST_F(PriorityAdmissionTest, AClassNameBecomesThePodsPriority) {
  auto critical = pod("dns", {{"priorityClassName", "system-cluster-critical"}});
  ASSERT_TRUE(critical) << critical.error().message();
  EXPECT_EQ(critical->object["spec"]["priority"], 2000000000);
  EXPECT_EQ(critical->object["spec"]["preemptionPolicy"], "PreemptLowerPriority");
  auto node = reg_->get(classes(), "", "system-node-critical");
  ASSERT_TRUE(node);
  EXPECT_EQ((*node)["value"], 2000001000);

  ASSERT_TRUE(priorityClass("batch", 7, {{"preemptionPolicy", "Never"}}));
  auto p = pod("job", {{"priorityClassName", "batch"}});
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ(p->object["spec"]["priority"], 7);
  EXPECT_EQ(p->object["spec"]["preemptionPolicy"], "Never");

  auto plain = pod("plain");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->object["spec"]["priority"], 0);
  EXPECT_FALSE(plain->object["spec"].contains("priorityClassName"));
}

TEST_F(PriorityAdmissionTest, UnknownClassesAndContradictionsAreForbidden) {
  auto unknown = pod("p", {{"priorityClassName", "nope"}});
  testing::expectForbidden(unknown,
                           "pods \"p\" is forbidden: no PriorityClass with name nope was found");
  auto mismatch = pod("q", {{"priorityClassName", "system-cluster-critical"}, {"priority", 5}});
  ASSERT_FALSE(mismatch);
  EXPECT_EQ(mismatch.error().message(),
            "pods \"q\" is forbidden: the integer value of priority (5) must not be provided in "
            "pod spec; priority admission controller computed 2000000000 from the given "
            "PriorityClass name");
  ASSERT_TRUE(priorityClass("never", 1, {{"preemptionPolicy", "Never"}}));
  auto policy =
      pod("r", {{"priorityClassName", "never"}, {"preemptionPolicy", "PreemptLowerPriority"}});
  ASSERT_FALSE(policy);
  EXPECT_EQ(policy.error().message(),
            "pods \"r\" is forbidden: the string value of PreemptionPolicy (PreemptLowerPriority) "
            "must not be provided in pod spec; priority admission controller computed Never from "
            "the given PriorityClass name");
}

TEST_F(PriorityAdmissionTest, TheGlobalDefaultIsUsedAndThereIsOnlyOne) {
  ASSERT_TRUE(priorityClass("low", 5, {{"globalDefault", true}}));
  auto second = priorityClass("other", 9, {{"globalDefault", true}});
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().message(),
            "priorityclasses.scheduling.k8s.io \"other\" is forbidden: PriorityClass low is "
            "already marked as default. Only one default can exist");
  auto p = pod("p");
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ(p->object["spec"]["priorityClassName"], "low");
  EXPECT_EQ(p->object["spec"]["priority"], 5);
  // An update that leaves the computed fields out keeps them.
  json next = p->object;
  next["spec"].erase("priority");
  next["metadata"]["labels"]["x"] = "y";
  auto updated = reg_->update(pods(), "default", "p", next, adminWrites());
  ASSERT_TRUE(updated) << updated.error().message();
  EXPECT_EQ(updated->object["spec"]["priority"], 5);
}

TEST_F(PriorityAdmissionTest, AClassValueCannotChange) {
  ASSERT_TRUE(priorityClass("batch", 7));
  auto pc = reg_->get(classes(), "", "batch");
  ASSERT_TRUE(pc);
  json next = *pc;
  next["value"] = 8;
  auto changed = reg_->update(classes(), "", "batch", next, adminWrites());
  ASSERT_FALSE(changed);
  EXPECT_EQ(changed.error().message(),
            "PriorityClass.scheduling.k8s.io \"batch\" is invalid: value: Forbidden: may not be "
            "changed in an update.");
  next = *pc;
  next["description"] = "batch jobs";
  EXPECT_TRUE(reg_->update(classes(), "", "batch", next, adminWrites()));
}

}  // namespace
}  // namespace skiff::master::admission
