#include "skiff/netproxy/pod_network.h"

#include <openssl/sha.h>

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "skiff/common/log.h"
#include "skiff/netproxy/ipam.h"

namespace skiff::netproxy {

namespace {

using skiff::log::kv;

constexpr const char* kPostrouting = "SKIFF-POSTROUTING";
constexpr const char* kForward = "SKIFF-FORWARD";
constexpr const char* kHostPorts = "SKIFF-HOSTPORTS";
constexpr uint32_t kMasqMark = 0x4000;  // kube-proxy's bit; flannel RETURNs on it too

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

Rule jumpRule(std::string comment, std::string to) {
  Rule r;
  r.matches = {match::Comment{std::move(comment)}};
  r.target = target::Jump{std::move(to)};
  return r;
}

class PodNetworkImpl final : public PodNetwork {
 public:
  PodNetworkImpl(PodNetworkConfig cfg, sys::Netlink& node, NetlinkFactory pod_nl,
                 sys::Iptables& ipt)
      : cfg_(std::move(cfg)),
        node_(node),
        pod_nl_(std::move(pod_nl)),
        ipt_(ipt),
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
    SKIFF_TRY(ipt_.apply(natChange()));
    SKIFF_TRY(ipt_.apply(filterChange()));
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
      if (!sb.host_ports.empty()) SKIFF_TRY(writeHostPorts(sb.id, sb.pod, *ip, sb.host_ports));
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
    SKIFF_ASSIGN_OR_RETURN(bool rules, writeHostPorts(sb.id, sb.pod, Ipv4{}, {}));
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
    sys::TableChange nat = natChange();
    nat.unhook = nat.ensure;
    nat.ensure.clear();
    nat.remove = {kPostrouting, kHostPorts};
    nat.write.clear();
    SKIFF_TRY(ipt_.apply(nat));
    sys::TableChange filter = filterChange();
    filter.unhook = filter.ensure;
    filter.ensure.clear();
    filter.remove = {kForward};
    filter.write.clear();
    SKIFF_TRY(ipt_.apply(filter));
    SKIFF_TRY(node_.deleteLink(cfg_.bridge));
    node_ready_ = false;
    return ok();
  }

 private:
  sys::TableChange natChange() {
    sys::TableChange t;
    t.table = "nat";
    std::vector<Rule> rules;
    Rule r;
    r.matches = {match::Comment{"kube-proxy will masquerade"},
                 match::Mark{kMasqMark, kMasqMark, false}};
    r.target = target::Jump{"RETURN"};
    rules.push_back(r);
    r = Rule{};
    r.src = cfg_.cluster_cidr;
    r.dst = cfg_.cluster_cidr;
    r.matches = {match::Comment{"pod to pod"}};
    r.target = target::Jump{"RETURN"};
    rules.push_back(r);
    r = Rule{};
    r.src = cfg_.cluster_cidr;
    r.dst = Cidr{{0xe0000000}, 4};
    r.dst_invert = true;
    r.matches = {match::Comment{"pods leaving the cluster"}};
    r.target = target::Masquerade{true};
    rules.push_back(r);
    t.write = {Chain{kPostrouting, rules}};
    // SKIFF-HOSTPORTS is created if missing but its rules are owned by writeHostPorts.
    if (!hostports_ready_) {
      auto existing = ipt_.listChains("nat");
      bool have =
          existing && std::find(existing->begin(), existing->end(), kHostPorts) != existing->end();
      if (!have) t.write.push_back(Chain{kHostPorts, {}});
      hostports_ready_ = true;
    }
    t.ensure = {JumpRule{"POSTROUTING", jumpRule("skiff pod masquerade", kPostrouting)}};
    Rule hp;
    hp.matches = {match::Comment{"skiff hostports"}, match::AddrType{false, true, false}};
    hp.target = target::Jump{kHostPorts};
    t.ensure.push_back(JumpRule{"PREROUTING", hp});
    t.ensure.push_back(JumpRule{"OUTPUT", hp});
    return t;
  }

  sys::TableChange filterChange() {
    sys::TableChange t;
    t.table = "filter";
    Rule a;
    a.src = cfg_.cluster_cidr;
    a.target = target::Jump{"ACCEPT"};
    Rule b;
    b.dst = cfg_.cluster_cidr;
    b.target = target::Jump{"ACCEPT"};
    t.write = {Chain{kForward, {a, b}}};
    t.ensure = {JumpRule{"FORWARD", jumpRule("skiff pod forwarding", kForward)}};
    return t;
  }

  // Rewrites SKIFF-HOSTPORTS without the rules of sandbox `id`, plus `ports` for it (when
  // non-empty). Returns whether any rule of `id` was removed.
  Result<bool> writeHostPorts(const std::string& id, const std::string& pod, Ipv4 ip,
                              const std::vector<HostPort>& ports) {
    auto current = ipt_.listRules("nat", kHostPorts);
    if (!current) {
      if (current.error().is(ErrorCode::NotFound) && ports.empty()) return false;
      return std::move(current).error();
    }
    std::string tag = "skiff hostport " + id;
    std::vector<Rule> keep;
    bool removed = false;
    for (const Rule& r : *current) {
      bool mine = !r.matches.empty() && std::holds_alternative<match::Comment>(r.matches[0]) &&
                  std::get<match::Comment>(r.matches[0]).text.rfind(tag + " ", 0) == 0;
      if (mine)
        removed = true;
      else
        keep.push_back(r);
    }
    if (!removed && ports.empty()) return false;
    for (const HostPort& p : ports) {
      if (p.host_port == 0 || p.container_port == 0) {
        return Error(ErrorCode::Invalid,
                     fmt::format("hostPort of pod '{}': ports must be 1-65535", pod));
      }
      Rule r;
      r.proto = p.protocol;
      r.matches = {match::Comment{fmt::format("{} {}", tag, pod)}, match::Port{p.host_port}};
      r.target = target::Dnat{ip, p.container_port};
      keep.push_back(r);
    }
    sys::TableChange t;
    t.table = "nat";
    t.write = {Chain{kHostPorts, keep}};
    SKIFF_TRY(ipt_.apply(t));
    return removed;
  }

  PodNetworkConfig cfg_;
  sys::Netlink& node_;
  NetlinkFactory pod_nl_;
  sys::Iptables& ipt_;
  Ipam ipam_;
  std::shared_ptr<spdlog::logger> log_;
  bool node_ready_ = false;
  bool hostports_ready_ = false;
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

std::string hostVethName(const std::string& sandbox_id) { return "sk" + hexHash(sandbox_id, 11); }

std::unique_ptr<PodNetwork> makePodNetwork(PodNetworkConfig config, sys::Netlink& node,
                                           NetlinkFactory pod_netlink, sys::Iptables& iptables) {
  return std::make_unique<PodNetworkImpl>(std::move(config), node, std::move(pod_netlink),
                                          iptables);
}

}  // namespace skiff::netproxy
