#pragma once

// The test bed of the Service proxy integration tests (iptables and nftables modes): a simulated
// node (its own namespace) with three reply servers "backend-<i>" on 8080 and a client pod on its
// bridge, an outside machine connected to it, the host's network checked unchanged at the end.
// A mode's fixture derives and names its mode; SetUp() builds the node and the mode's proxy.

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "netns_fixture.h"
#include "sim_node.h"
#include "skiff/netproxy/service_proxy.h"
#include "skiff/netproxy/testing/sample_services.h"

namespace skiff::netproxy::itest {

class ProxyTestBed : public ::testing::Test {
 protected:
  // `nft`: the node's pod network and the proxy in nftables mode rather than iptables-legacy.
  explicit ProxyTestBed(bool nft) : nft_(nft) {}

  // The node's namespace is "snp-nft" or "snp-svc" by mode ("<name>-out" for the outside machine).
  void SetUp() override {
    if (!isRoot()) GTEST_SKIP() << "needs CAP_NET_ADMIN and CAP_SYS_ADMIN (run as root)";
    const std::string name = nft_ ? "snp-nft" : "snp-svc";
    host_before_ = hostFingerprint();
    node_ = std::make_unique<SimNode>(name, "10.244.1.0/24", nft_);
    outside_ = std::make_unique<TestNetns>(name + "-out");
    connectNodes(node_->ns(), *outside_, "192.168.100.1", "192.168.100.2");
    // Like any real node, a default route (the service CIDR itself is never routed anywhere).
    node_->ns().exec("ip route add default via 192.168.100.2");
    for (int i = 0; i < 3; ++i) {
      std::string ip;
      TestNetns& pod = node_->addPod("b" + std::to_string(i), &ip);
      backend_ips_.push_back(ip);
      servers_.push_back(startReplyServer(pod, 8080, "backend-" + std::to_string(i)));
    }
    client_ = &node_->addPod("client", &client_ip_);
    cfg_.hostname = "node-a";
    cfg_.cluster_cidr = *Cidr::parse("10.244.0.0/16");
    proxy_ = nft_ ? makeNftablesProxy(cfg_, node_->nftables(), nullptr)
                  : makeIptablesProxy(cfg_, node_->iptables(), nullptr);
  }
  void TearDown() override {
    if (isRoot()) tearDownNode();
  }
  // Stops the servers, removes the proxy's rules, runs `check` (with whether the removal
  // succeeded) while the namespaces are still there, removes them and checks the host.
  void tearDownNode(const std::function<void(bool cleaned)>& check = {}) {
    servers_.clear();
    bool cleaned = true;
    if (proxy_) {
      EnterNetns in(node_->ns().path());
      cleaned = static_cast<bool>(proxy_->cleanup());
    }
    if (check) check(cleaned);
    node_.reset();
    outside_.reset();
    EXPECT_EQ(hostFingerprint(), host_before_) << "host network changed";
  }

  void sync(const std::vector<ServicePort>& ports, const EndpointMap& eps) {
    EnterNetns in(node_->ns().path());
    auto r = proxy_->sync(ports, eps);
    ASSERT_TRUE(r) << r.error().message();
  }
  std::vector<Endpoint> backends() {
    std::vector<Endpoint> out;
    for (const auto& ip : backend_ips_) {
      out.push_back(netproxy::testing::endpoint(ip.c_str(), 8080, "node-a"));
    }
    return out;
  }
  // Replies to `n` connections from `from` to ip:port, by reply.
  std::map<std::string, int> spread(TestNetns& from, const char* ip, uint16_t port, int n) {
    std::map<std::string, int> seen;
    for (int i = 0; i < n; ++i) {
      std::string err;
      std::string reply = tcpGet(from, ip, port, &err);
      EXPECT_FALSE(reply.empty()) << "connection " << i << ": " << err;
      ++seen[reply];
    }
    return seen;
  }

  // The Service web (ClusterIP 10.96.0.20:80, NodePort 30081) answers; scaled to zero it refuses
  // connections from a pod and from outside at once (no client hangs); scaled back up through
  // the same rules it answers again.
  void expectScaledToZeroRefusesImmediately() {
    auto web = netproxy::testing::clusterIpPort("default", "web", "http", "10.96.0.20", 80);
    web.node_port = 30081;
    sync({web}, {{web.key(), backends()}});
    std::string err;
    ASSERT_FALSE(tcpGet(*client_, "10.96.0.20", 80, &err).empty()) << err;
    sync({web}, {});  // no endpoints at all
    for (auto [ns, ip, port] : {std::tuple{client_, "10.96.0.20", 80},
                                std::tuple{outside_.get(), "192.168.100.1", 30081}}) {
      auto start = std::chrono::steady_clock::now();
      std::string reply = tcpGet(*ns, ip, static_cast<uint16_t>(port), &err, 5);
      auto took = std::chrono::steady_clock::now() - start;
      EXPECT_TRUE(reply.empty());
      EXPECT_NE(err.find("Connection refused"), std::string::npos) << ip << ": " << err;
      EXPECT_LT(took, std::chrono::seconds(2)) << ip << ": clients must not hang";
    }
    sync({web}, {{web.key(), backends()}});
    EXPECT_FALSE(tcpGet(*client_, "10.96.0.20", 80, &err).empty()) << err;
  }

  const bool nft_;
  std::string host_before_;
  std::unique_ptr<SimNode> node_;
  std::unique_ptr<TestNetns> outside_;
  std::vector<std::string> backend_ips_;
  std::vector<std::unique_ptr<Background>> servers_;
  TestNetns* client_ = nullptr;
  std::string client_ip_;
  ProxyConfig cfg_;
  std::unique_ptr<ServiceProxy> proxy_;
};

}  // namespace skiff::netproxy::itest
