#include "skiff/netproxy/pod_network.h"

#include <openssl/sha.h>

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "pod_rules.h"
#include "skiff/common/log.h"
#include "skiff/netproxy/ipam.h"

namespace skiff::netproxy {

namespace {

using skiff::log::kv;

std::string hexHash(const std::string& s, std::size_t n) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  ::SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d);
  std::string out;
  for (std::size_t i = 0; out.size() < n; ++i) out += fmt::format("{:02x}", d[i]);
  return out.substr(0, n);
}

bool validSandboxId(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
  });
}

class PodNetworkImpl final : public PodNetwork {
 public:
  PodNetworkImpl(PodNetworkConfig cfg, sys::Netlink& node, NetlinkFactory pod_nl,
                 std::unique_ptr<PodRules> rules)
      : cfg_(std::move(cfg)),
        node_(node),
        pod_nl_(std::move(pod_nl)),
        rules_(std::move(rules)),
        ipam_(Cidr{cfg_.pod_cidr.network(), cfg_.pod_cidr.prefix}, cfg_.ipam_dir),
        log_(skiff::log::get("netproxy")) {}

  // netproxy::PodNetwork
  Result<void> ensureNode() override {
    SKIFF_ASSIGN_OR_RETURN(bool created, node_.createBridge(cfg_.bridge));
    Cidr gw{ipam_.gateway(), cfg_.pod_cidr.prefix};
    SKIFF_TRY(node_.addAddress(cfg_.bridge, gw));
    SKIFF_TRY(node_.setUp(cfg_.bridge));
    SKIFF_TRY(node_.writeSysctl("net/ipv4/ip_forward", "1"));
    SKIFF_TRY(node_.writeSysctl("net/ipv4/conf/all/route_localnet", "1"));
    // Bridged pod-to-pod traffic through a Service DNAT needs br_netfilter; kube-proxy only
    // warns when it is missing, and so do we.
    if (auto r = node_.writeSysctl("net/bridge/bridge-nf-call-iptables", "1"); !r) {
      SKIFF_LOG_WARN(log_, "Cannot enable bridge-nf-call-iptables, ignoring",
                     kv("err", r.error().message()));
    }
    SKIFF_TRY(rules_->ensure());
    if (created) {
      SKIFF_LOG_INFO(log_, "Created pod bridge", kv("link", cfg_.bridge), kv("address", gw.str()));
    }
    node_ready_ = true;
    return ok();
  }

  Result<PodAddress> setup(const Sandbox& sb) override {
    if (!validSandboxId(sb.id)) {
      return Error(ErrorCode::Invalid,
                   fmt::format("set up pod network: bad sandbox id '{}'", sb.id));
    }
    if (!node_ready_) SKIFF_TRY(ensureNode());
    auto fail = [&](Error e) {
      return std::move(e).wrap(fmt::format("set up network of pod '{}'", sb.pod));
    };

    auto ip = ipam_.allocate(sb.id);
    if (!ip) return fail(std::move(ip).error());
    bool release_ip = true;
    std::string host = hostVethName(sb.id);
    bool delete_veth = false;
    auto rollback = [&]() {
      if (delete_veth) (void)node_.deleteLink(host);
      if (release_ip) (void)ipam_.release(sb.id);
    };

    auto wire = [&]() -> Result<void> {
      SKIFF_TRY(node_.createVeth({host, "eth0", sb.netns_path, cfg_.bridge, cfg_.mtu, true}));
      delete_veth = true;  // deleting the host end takes the pod's end with it
      SKIFF_TRY(node_.setHairpin(host, true));
      SKIFF_ASSIGN_OR_RETURN(auto pod, pod_nl_(sb.netns_path));
      SKIFF_TRY(pod->addAddress("eth0", Cidr{*ip, cfg_.pod_cidr.prefix}));
      SKIFF_TRY(pod->setUp("lo"));
      SKIFF_TRY(pod->setUp("eth0"));
      SKIFF_TRY(pod->replaceRoute(sys::Route{Cidr{{0}, 0}, ipam_.gateway(), "eth0", 0}));
      if (!sb.host_ports.empty())
        SKIFF_TRY(rules_->setHostPorts(sb.id, sb.pod, *ip, sb.host_ports));
      return ok();
    };
    if (auto r = wire(); !r) {
      rollback();
      return fail(std::move(r).error());
    }
    release_ip = false;
    delete_veth = false;
    SKIFF_LOG_INFO(log_, "Pod network set up", kv("pod", sb.pod), kv("ip", ip->str()),
                   kv("link", host));
    return PodAddress{*ip, cfg_.pod_cidr.prefix, ipam_.gateway(), host};
  }

  Result<bool> teardown(const Sandbox& sb) override {
    if (!validSandboxId(sb.id)) {
      return Error(ErrorCode::Invalid,
                   fmt::format("tear down pod network: bad sandbox id '{}'", sb.id));
    }
    SKIFF_ASSIGN_OR_RETURN(bool rules, rules_->setHostPorts(sb.id, sb.pod, Ipv4{}, {}));
    SKIFF_ASSIGN_OR_RETURN(bool link, node_.deleteLink(hostVethName(sb.id)));
    SKIFF_ASSIGN_OR_RETURN(bool ip, ipam_.release(sb.id));
    if (link || ip || rules) SKIFF_LOG_INFO(log_, "Pod network torn down", kv("pod", sb.pod));
    return link || ip || rules;
  }

  Result<void> syncNodeRoutes(const std::vector<NodeRoute>& nodes) override {
    return syncHostGwRoutes(node_, cfg_.pod_cidr, nodes);
  }

  Result<void> cleanupNode() override {
    SKIFF_TRY(syncNodeRoutes({}));
    SKIFF_TRY(rules_->cleanup());
    SKIFF_TRY(node_.deleteLink(cfg_.bridge));
    node_ready_ = false;
    return ok();
  }

 private:
  PodNetworkConfig cfg_;
  sys::Netlink& node_;
  NetlinkFactory pod_nl_;
  std::unique_ptr<PodRules> rules_;
  Ipam ipam_;
  std::shared_ptr<spdlog::logger> log_;
  bool node_ready_ = false;
};

}  // namespace

Result<void> syncHostGwRoutes(sys::Netlink& node, const Cidr& own_cidr,
                              const std::vector<NodeRoute>& nodes) {
  auto log = skiff::log::get("netproxy");
  SKIFF_ASSIGN_OR_RETURN(auto existing, node.listRoutes(sys::kSkiffRouteProtocol));
  Cidr own{own_cidr.network(), own_cidr.prefix};
  std::set<std::string> wanted;
  for (const NodeRoute& n : nodes) {
    Cidr dst{n.pod_cidr.network(), n.pod_cidr.prefix};
    if (dst == own) continue;  // ourselves
    wanted.insert(dst.str());
    bool same = std::any_of(existing.begin(), existing.end(), [&](const sys::Route& r) {
      return r.dst == dst && r.gateway == n.internal_ip;
    });
    if (same) continue;
    if (auto r = node.replaceRoute(sys::Route{dst, n.internal_ip, "", sys::kSkiffRouteProtocol});
        !r) {
      return std::move(r).error().wrap(fmt::format("route pods of node '{}'", n.node));
    }
    SKIFF_LOG_INFO(log, "Added route to node pods", kv("node", n.node), kv("podCIDR", dst.str()),
                   kv("via", n.internal_ip.str()));
  }
  for (const sys::Route& r : existing) {
    Cidr dst{r.dst.network(), r.dst.prefix};
    if (wanted.count(dst.str())) continue;
    SKIFF_TRY(node.deleteRoute(r));
    SKIFF_LOG_INFO(log, "Removed route to node pods", kv("podCIDR", dst.str()));
  }
  return ok();
}

Result<void> cleanupPodRules(sys::Iptables& iptables) {
  return makeIptablesPodRules(PodNetworkConfig{}, iptables)->cleanup();
}

Result<void> cleanupPodRules(sys::Nftables& nft) {
  return makeNftPodRules(PodNetworkConfig{}, nft)->cleanup();
}

std::string hostVethName(const std::string& sandbox_id) { return "sk" + hexHash(sandbox_id, 11); }

std::unique_ptr<PodNetwork> makePodNetwork(PodNetworkConfig config, sys::Netlink& node,
                                           NetlinkFactory pod_netlink, sys::Iptables& iptables) {
  auto rules = makeIptablesPodRules(config, iptables);
  return std::make_unique<PodNetworkImpl>(std::move(config), node, std::move(pod_netlink),
                                          std::move(rules));
}

std::unique_ptr<PodNetwork> makePodNetwork(PodNetworkConfig config, sys::Netlink& node,
                                           NetlinkFactory pod_netlink, sys::Nftables& nft) {
  auto rules = makeNftPodRules(config, nft);
  return std::make_unique<PodNetworkImpl>(std::move(config), node, std::move(pod_netlink),
                                          std::move(rules));
}

}  // namespace skiff::netproxy
