// Services end to end on the real kernel: a simulated node (its own namespace) with pods on the
// skiff0 bridge, the proxy's rules installed through libiptc, real TCP connections from a
// client pod, the node itself and an outside machine.

#include <gtest/gtest.h>

#include <algorithm>

#include "proxy_testbed.h"
#include "skiff/netproxy/service_proxy.h"
#include "skiff/netproxy/sys/conntrack.h"
#include "skiff/netproxy/testing/sample_services.h"

namespace skiff::netproxy {
namespace {

using itest::EnterNetns;
using testing::clusterIpPort;
using testing::endpoint;

class ServiceProxyIntegration : public itest::ProxyTestBed {
 protected:
  ServiceProxyIntegration() : ProxyTestBed(/*nft=*/false) {}
};

TEST_F(ServiceProxyIntegration, ROOT_ClusterIpSpreadsConnectionsOverThreeBackends) {
  auto web = clusterIpPort("default", "web", "http", "10.96.0.20", 80);
  sync({web}, {{web.key(), backends()}});
  auto seen = spread(*client_, "10.96.0.20", 80, 30);
  // Uniform 1/3 each: missing one backend in 30 tries has probability ~1.5e-5.
  EXPECT_EQ(seen.size(), 3u) << "replies: " << seen.size();
  EXPECT_TRUE(seen.count("backend-0") && seen.count("backend-1") && seen.count("backend-2"));
}

TEST_F(ServiceProxyIntegration, ROOT_NodePortServiceAnswersOnEveryNodeAddress) {
  auto np = clusterIpPort("default", "np", "", "10.96.0.30", 80);
  np.node_port = 30080;
  sync({np}, {{np.key(), backends()}});
  std::string err;
  // From outside, to the node's eth0 address.
  EXPECT_NE(itest::tcpGet(*outside_, "192.168.100.1", 30080, &err).find("backend-"),
            std::string::npos)
      << err;
  // From a pod, to the bridge address.
  EXPECT_NE(itest::tcpGet(*client_, "10.244.1.1", 30080, &err).find("backend-"), std::string::npos)
      << err;
  // From the node itself, to localhost (route_localnet + masquerade).
  EXPECT_NE(itest::tcpGet(node_->ns(), "127.0.0.1", 30080, &err).find("backend-"),
            std::string::npos)
      << err;
  EXPECT_NE(itest::tcpGet(node_->ns(), "192.168.100.1", 30080, &err).find("backend-"),
            std::string::npos)
      << err;
  // And through the ClusterIP from outside the cluster CIDR (the node itself).
  EXPECT_NE(itest::tcpGet(node_->ns(), "10.96.0.30", 80, &err).find("backend-"), std::string::npos)
      << err;
}

TEST_F(ServiceProxyIntegration, ROOT_ServiceSessionAffinityClientIpSticks) {
  auto sticky = clusterIpPort("default", "sticky", "", "10.96.0.40", 80);
  sticky.affinity_client_ip = true;
  sync({sticky}, {{sticky.key(), backends()}});
  auto seen = spread(*client_, "10.96.0.40", 80, 12);
  EXPECT_EQ(seen.size(), 1u) << "affinity broke: " << seen.size() << " backends answered";
}

TEST_F(ServiceProxyIntegration, ROOT_ServiceScaledToZeroRefusesConnectionsImmediately) {
  expectScaledToZeroRefusesImmediately();
}

TEST_F(ServiceProxyIntegration, ROOT_RemovedUdpEndpointHasItsConntrackEntriesDeleted) {
  auto ct = sys::makeNetlinkConntrack();
  ProxyConfig cfg;
  cfg.hostname = "node-a";
  cfg.cluster_cidr = *Cidr::parse("10.244.0.0/16");
  proxy_ = makeIptablesProxy(cfg, node_->iptables(), ct.get());
  auto dns = clusterIpPort("kube-system", "dns", "dns", "10.96.0.10", 53, Protocol::Udp);
  EndpointMap eps{
      {dns.key(),
       {endpoint(backend_ips_[0].c_str(), 5353), endpoint(backend_ips_[1].c_str(), 5353)}}};
  sync({dns}, eps);
  // Ten UDP "flows" from the client, each DNATed to one of the two endpoints (all ten on the same
  // one: probability 2^-9).
  for (int port = 40001; port <= 40010; ++port) {
    client_->exec(
        "sh -c 'echo q | socat -T0.2 - UDP:10.96.0.10:53,sourceport=" + std::to_string(port) + "'");
  }
  auto flows = [&](const std::string& ep) {
    auto out = node_->ns().exec("conntrack -L -p udp --orig-dst 10.96.0.10 --reply-src " + ep).out;
    return std::count(out.begin(), out.end(), '\n') -
           (out.find("flow entries") != std::string::npos ? 1 : 0);
  };
  long before0 = flows(backend_ips_[0]);
  long before1 = flows(backend_ips_[1]);
  ASSERT_EQ(before0 + before1, 10) << node_->ns().exec("conntrack -L").out;
  ASSERT_GT(before1, 0);
  eps[dns.key()].pop_back();  // endpoint 1 goes away
  {
    EnterNetns in(node_->ns().path());
    auto r = proxy_->sync({dns}, eps);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->conntrack_deleted, static_cast<std::size_t>(before1));
  }
  EXPECT_EQ(flows(backend_ips_[1]), 0);
  EXPECT_EQ(flows(backend_ips_[0]), before0);  // the surviving endpoint's flows stay
}

}  // namespace
}  // namespace skiff::netproxy
