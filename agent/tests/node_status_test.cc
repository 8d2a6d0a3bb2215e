#include "skiff/agent/node_status.h"

#include <gtest/gtest.h>

#include "skiff/agent/testing/fake_api_server.h"

namespace skiff::agent {
namespace {

using nlohmann::json;

class FixedFacts : public NodeFacts {
 public:
  Result<NodeFactsSnapshot> collect() override {
    NodeFactsSnapshot s;
    s.capacity = {{"cpu", "4"}, {"memory", "8Gi"}, {"pods", "110"}};
    s.allocatable = {{"cpu", "3800m"}, {"memory", "7Gi"}, {"pods", "110"}};
    s.node_info = {{"operatingSystem", "linux"}, {"architecture", "amd64"}, {"bootID", "b"}};
    s.hostname = "host";
    s.default_ip = "10.0.0.5";
    return s;
  }
};

class NodeStatusTest : public ::testing::Test {
 protected:
  NodeStatusTest() {
    reg_.name = "node-1";
    reg_.labels = {{"tier", "edge"}};
    reg_.taints = {{{"key", "dedicated"}, {"value", "x"}, {"effect", "NoSchedule"}}};
    reg_.kubelet_version = "v1.32.0";
    reg_.runtime_version = "fake://1";
  }
  std::unique_ptr<NodeStatusManager> make() {
    return std::make_unique<NodeStatusManager>(
        std::make_shared<KubeClient>(api_), reg_, facts_, [this] { return health_; },
        [this] { return now_; });
  }
  static json condition(const json& node, const std::string& type) {
    for (const auto& c : node["status"]["conditions"]) {
      if (c["type"] == type) return c;
    }
    return nullptr;
  }
  std::shared_ptr<testing::FakeApiServer> api_ = std::make_shared<testing::FakeApiServer>();
  NodeRegistration reg_;
  FixedFacts facts_;
  NodeHealth health_;
  std::chrono::system_clock::time_point now_ =
      std::chrono::system_clock::from_time_t(1'700'000'000);
};

TEST_F(NodeStatusTest, RegistersNodeWithLabelsTaintsAddressesAndReadyCondition) {
  auto m = make();
  ASSERT_TRUE(m->registerNode());
  auto node = api_->object("nodes", "", "node-1");
  ASSERT_TRUE(node);
  EXPECT_EQ((*node)["metadata"]["labels"]["kubernetes.io/hostname"], "node-1");
  EXPECT_EQ((*node)["metadata"]["labels"]["kubernetes.io/os"], "linux");
  EXPECT_EQ((*node)["metadata"]["labels"]["tier"], "edge");
  EXPECT_EQ((*node)["spec"]["taints"][0]["key"], "dedicated");
  EXPECT_EQ((*node)["status"]["capacity"]["cpu"], "4");
  EXPECT_EQ((*node)["status"]["allocatable"]["cpu"], "3800m");
  EXPECT_EQ((*node)["status"]["addresses"][0]["type"], "InternalIP");
  EXPECT_EQ((*node)["status"]["addresses"][0]["address"], "10.0.0.5");
  EXPECT_EQ((*node)["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"], 10250);
  EXPECT_EQ((*node)["status"]["nodeInfo"]["kubeletVersion"], "v1.32.0");
  json ready = condition(*node, "Ready");
  EXPECT_EQ(ready["status"], "True");
  EXPECT_EQ(ready["reason"], "KubeletReady");
  EXPECT_EQ(ready["message"], "kubelet is posting ready status");
  EXPECT_EQ(condition(*node, "MemoryPressure")["reason"], "KubeletHasSufficientMemory");
  EXPECT_EQ(condition(*node, "DiskPressure")["reason"], "KubeletHasNoDiskPressure");
  EXPECT_EQ(condition(*node, "PIDPressure")["reason"], "KubeletHasSufficientPID");
}

TEST_F(NodeStatusTest, ReRegistrationReconcilesExistingNode) {
  api_->put("nodes", "",
            {{"metadata", {{"name", "node-1"}, {"labels", {{"old", "1"}}}}},
             {"spec", {{"podCIDR", "10.244.3.0/24"}}}});
  auto m = make();
  ASSERT_TRUE(m->registerNode());
  auto node = api_->object("nodes", "", "node-1");
  EXPECT_EQ((*node)["metadata"]["labels"]["old"], "1");
  EXPECT_EQ((*node)["metadata"]["labels"]["tier"], "edge");
  EXPECT_EQ(m->podCidr(), "10.244.3.0/24");
}

TEST_F(NodeStatusTest, LeaseIsCreatedThenRenewed) {
  auto m = make();
  ASSERT_TRUE(m->registerNode());
  ASSERT_TRUE(m->renewLease());
  auto lease = api_->object("leases", "kube-node-lease", "node-1");
  ASSERT_TRUE(lease);
  EXPECT_EQ((*lease)["spec"]["holderIdentity"], "node-1");
  EXPECT_EQ((*lease)["spec"]["leaseDurationSeconds"], 40);
  EXPECT_EQ((*lease)["metadata"]["ownerReferences"][0]["kind"], "Node");
  std::string first = (*lease)["spec"]["renewTime"];
  EXPECT_EQ(first, "2023-11-14T22:13:20.000000Z");
  now_ += std::chrono::seconds(10);
  ASSERT_TRUE(m->renewLease());
  lease = api_->object("leases", "kube-node-lease", "node-1");
  EXPECT_EQ((*lease)["spec"]["renewTime"], "2023-11-14T22:13:30.000000Z");
}

TEST_F(NodeStatusTest, StatusPatchedOnlyOnChangeOrAfterReportFrequency) {
  auto m = make();
  ASSERT_TRUE(m->registerNode());
  now_ += std::chrono::seconds(10);
  auto r = m->syncStatus();
  ASSERT_TRUE(r);
  EXPECT_FALSE(*r);  // nothing changed, heartbeat alone is not a reason
  health_.memory_pressure = true;
  r = m->syncStatus();
  ASSERT_TRUE(r);
  EXPECT_TRUE(*r);
  auto node = api_->object("nodes", "", "node-1");
  EXPECT_EQ(condition(*node, "MemoryPressure")["status"], "True");
  EXPECT_EQ(condition(*node, "MemoryPressure")["reason"], "KubeletHasInsufficientMemory");
  now_ += std::chrono::seconds(299);
  EXPECT_FALSE(*m->syncStatus());
  now_ += std::chrono::seconds(2);
  EXPECT_TRUE(*m->syncStatus());
}

TEST_F(NodeStatusTest, NotReadyWithKubeletReasonWhenNetworkMissing) {
  health_.network_ready = false;
  auto m = make();
  ASSERT_TRUE(m->registerNode());
  auto node = api_->object("nodes", "", "node-1");
  json ready = condition(*node, "Ready");
  EXPECT_EQ(ready["status"], "False");
  EXPECT_EQ(ready["reason"], "KubeletNotReady");
  EXPECT_NE(ready["message"].get<std::string>().find("NetworkReady=false"), std::string::npos);
  EXPECT_EQ(condition(*node, "NetworkUnavailable")["status"], "True");
}

TEST_F(NodeStatusTest, ResourcesPatchedIntoCapacityAreKeptAndMirroredIntoAllocatable) {
  auto m = make();
  ASSERT_TRUE(m->registerNode());
  // What the preemption conformance test does: PATCH nodes/node-1/status with an extended
  // resource in capacity. The agent sees it through its Node watch.
  json node = *api_->object("nodes", "", "node-1");
  node["status"]["capacity"]["example.com/fakecpu"] = "1k";
  node["status"]["capacity"]["hugepages-1Gi"] = "2Gi";
  node["status"]["capacity"]["example.com/debt"] = "-5";
  node["status"]["capacity"]["cpu"] = "64";  // ours: recomputed
  api_->put("nodes", "", node);
  m->observeNode(node);
  now_ += std::chrono::seconds(10);
  auto r = m->syncStatus();
  ASSERT_TRUE(r);
  EXPECT_TRUE(*r);
  node = *api_->object("nodes", "", "node-1");
  const json& cap = node["status"]["capacity"];
  const json& alloc = node["status"]["allocatable"];
  EXPECT_EQ(cap["example.com/fakecpu"], "1k");
  EXPECT_EQ(alloc["example.com/fakecpu"], "1k");
  EXPECT_EQ(cap["hugepages-1Gi"], "2Gi");
  EXPECT_EQ(alloc["hugepages-1Gi"], "2Gi");
  EXPECT_EQ(alloc["example.com/debt"], "0");  // never negative
  EXPECT_EQ(cap["cpu"], "4");
  EXPECT_EQ(alloc["cpu"], "3800m");
  // Stable: the next sync has nothing to say.
  now_ += std::chrono::seconds(10);
  EXPECT_FALSE(*m->syncStatus());

  // Taken out of capacity again: the extended resource leaves allocatable too; a native name
  // that is not ours is left where it is, as kubelet does.
  node["status"]["capacity"].erase("example.com/fakecpu");
  node["status"]["capacity"].erase("hugepages-1Gi");
  api_->put("nodes", "", node);
  m->observeNode(node);
  now_ += std::chrono::seconds(10);
  ASSERT_TRUE(*m->syncStatus());
  node = *api_->object("nodes", "", "node-1");
  EXPECT_FALSE(node["status"]["capacity"].contains("example.com/fakecpu"));
  EXPECT_FALSE(node["status"]["allocatable"].contains("example.com/fakecpu"));
  EXPECT_EQ(node["status"]["allocatable"]["hugepages-1Gi"], "2Gi");
  EXPECT_EQ(node["status"]["allocatable"]["cpu"], "3800m");
}

TEST(ExtendedResourceNameTest, DomainPrefixedNamesOutsideKubernetesIo) {
  for (const char* name : {"example.com/fakecpu", "nvidia.com/gpu"}) {
    EXPECT_TRUE(isExtendedResourceName(name)) << name;
  }
  for (const char* name :
       {"cpu", "hugepages-2Mi", "kubernetes.io/batch", "foo.kubernetes.io/bar",
        "requests.example.com/x", "Example.com/x", "example.com/-x", "example.com/a/b"}) {
    EXPECT_FALSE(isExtendedResourceName(name)) << name;
  }
}

}  // namespace
}  // namespace skiff::agent
