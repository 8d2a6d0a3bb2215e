#pragma once

// A simulated node for integration tests: its own network namespace with the pod bridge, a
// PodNetwork, the libiptc seam and pods (each a namespace of its own).

#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "netns_fixture.h"
#include "skiff/netproxy/pod_network.h"
#include "skiff/netproxy/sys/iptables.h"
#include "skiff/netproxy/sys/netlink.h"
#include "skiff/netproxy/sys/nftables.h"

namespace skiff::netproxy::itest {

class SimNode {
 public:
  // `nft`: the pod network's rules go to nftables (table ip skiff-podnet) instead of libiptc.
  SimNode(const std::string& name, const char* pod_cidr, bool nft = false);
  ~SimNode();

  TestNetns& ns() { return *ns_; }
  sys::Iptables& iptables() { return *ipt_; }
  sys::Nftables& nftables() { return *nft_; }
  sys::Netlink& netlink() { return *nl_; }
  PodNetwork& podNetwork() { return *podnet_; }
  const std::string& ipamDir() const { return ipam_dir_; }

  // Creates a pod namespace "<node>-<pod>" and wires it; returns the pod's namespace and IP.
  TestNetns& addPod(const std::string& pod, std::string* ip);

 private:
  std::string name_;
  std::unique_ptr<TestNetns> ns_;
  std::unique_ptr<sys::Netlink> nl_;
  std::unique_ptr<sys::Iptables> ipt_;
  std::unique_ptr<sys::Nftables> nft_;
  std::unique_ptr<PodNetwork> podnet_;
  std::string ipam_dir_;
  std::map<std::string, std::unique_ptr<TestNetns>> pods_;
};

// Links two node namespaces with a veth pair as their "eth0": a.1 and b.2 in 192.168.100.0/24.
void connectNodes(TestNetns& a, TestNetns& b, const std::string& a_ip, const std::string& b_ip);

}  // namespace skiff::netproxy::itest
