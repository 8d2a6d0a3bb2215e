#include "skiff/master/controllers/controller_manager.h"

#include <gtest/gtest.h>

#include <thread>

#include "skiff/master/informer/meta.h"
#include "skiff/master/testing/fake_api_client.h"

namespace skiff::master::testing {
namespace {

TEST(ControllerManagerTest, RejectsBadClusterCidr) {
  FakeApiClient client;
  ControllerOptions o;
  o.cluster_cidr = "10.244.0.0/99";
  EXPECT_FALSE(newControllerManager(client, o));
}

// Runs everything on real threads against the asynchronous fake: a Deployment becomes pods
// bound to the node, and stop() joins every thread.
TEST(ControllerManagerTest, RunsSchedulerAndControllersAndStopsCleanly) {
  FakeApiClient client(realClock(), FakeApiClient::Delivery::Async);
  ASSERT_TRUE(client.create(
      gvr::kNodes, "",
      json::parse(
          R"({"metadata":{"name":"n1"},"spec":{},"status":{"allocatable":{"cpu":"4","memory":"8Gi","pods":"110"},
        "conditions":[{"type":"Ready","status":"True"}]}})")));
  ControllerOptions o;
  auto m = newControllerManager(client, o);
  ASSERT_TRUE(m);
  ASSERT_TRUE((*m)->start());
  ASSERT_TRUE(client.create(gvr::kDeployments, "default", json::parse(R"({"metadata":{"name":"web"},
    "spec":{"replicas":2,"selector":{"matchLabels":{"app":"web"}},
      "template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"c","image":"x"}]}}}})")));
  ListOptions bound;
  bound.field_selector = "spec.nodeName=n1";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  std::size_t n = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    n = client.list(gvr::kPods, "default", bound)->items.size();
    if (n == 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // waiting on real threads
  }
  EXPECT_EQ(n, 2u);
  // Node IPAM runs on its own worker: binding the pods does not wait for it.
  auto pod_cidr = [&] {
    return meta::str(*client.get(gvr::kNodes, "", "n1"), {"spec", "podCIDR"});
  };
  while (pod_cidr().empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_FALSE(pod_cidr().empty());
  (*m)->stop();
  client.waitIdleForTest();
}

}  // namespace
}  // namespace skiff::master::testing
