#include "sim_node.h"

#include <gtest/gtest.h>
#include <unistd.h>

namespace skiff::netproxy::itest {

SimNode::SimNode(const std::string& name, const char* pod_cidr, bool nft) : name_(name) {
  ns_ = std::make_unique<TestNetns>(name);
  ipam_dir_ = "/tmp/skiff-np-itest-" + name + "-" + std::to_string(::getpid());
  std::filesystem::remove_all(ipam_dir_);
  auto nl = sys::makeLibnlNetlink(ns_->path());
  EXPECT_TRUE(nl) << (nl ? "" : nl.error().message());
  if (nl) nl_ = std::move(*nl);
  ipt_ = sys::makeLegacyIptables();
  nft_ = sys::makeNetlinkNftables();
  PodNetworkConfig cfg;
  cfg.pod_cidr = *Cidr::parse(pod_cidr);
  cfg.ipam_dir = ipam_dir_;
  auto pod_nl = [](const std::string& p) { return sys::makeLibnlNetlink(p); };
  podnet_ =
      nft ? makePodNetwork(cfg, *nl_, pod_nl, *nft_) : makePodNetwork(cfg, *nl_, pod_nl, *ipt_);
  EnterNetns in(ns_->path());
  auto r = podnet_->ensureNode();
  EXPECT_TRUE(r) << (r ? "" : r.error().message());
}

SimNode::~SimNode() {
  {
    EnterNetns in(ns_->path());
    for (auto& [pod, ns] : pods_) {
      Sandbox sb{name_ + "-" + pod, ns->path(), "default/" + pod, {}};
      (void)podnet_->teardown(sb);
    }
    (void)podnet_->cleanupNode();
  }
  pods_.clear();
  std::filesystem::remove_all(ipam_dir_);
}

TestNetns& SimNode::addPod(const std::string& pod, std::string* ip) {
  auto ns = std::make_unique<TestNetns>(name_ + "-" + pod);
  Sandbox sb{name_ + "-" + pod, ns->path(), "default/" + pod, {}};
  EnterNetns in(ns_->path());
  auto addr = podnet_->setup(sb);
  EXPECT_TRUE(addr) << (addr ? "" : addr.error().message());
  if (addr && ip) *ip = addr->ip.str();
  auto& ref = *ns;
  pods_[pod] = std::move(ns);
  return ref;
}

void connectNodes(TestNetns& a, TestNetns& b, const std::string& a_ip, const std::string& b_ip) {
  a.exec("ip link add eth0 type veth peer name eth0 netns " + b.name());
  a.exec("ip addr add " + a_ip + "/24 dev eth0");
  b.exec("ip addr add " + b_ip + "/24 dev eth0");
  a.exec("ip link set eth0 up");
  b.exec("ip link set eth0 up");
}

}  // namespace skiff::netproxy::itest
