// Thin adapters from the agent's consumer-side interfaces to the real libraries:
// agent::ContainerRuntime -> skiff::runtime::Runtime, agent::PodNetworkManager ->
// skiff::netproxy::PodNetwork. Field mapping only; policy stays in the agent.
#include <algorithm>
#include <mutex>

#include "proxy_backend.h"
#include "skiff/agent/agent.h"
#include "skiff/common/log.h"
#include "skiff/common/version.h"
#include "skiff/hostinfo/cgroups.h"
#include "skiff/netproxy/ipam.h"
#include "skiff/netproxy/pod_network.h"
#include "skiff/netproxy/service_proxy.h"
#include "skiff/netproxy/sys/conntrack.h"
#include "skiff/netproxy/sys/iptables.h"
#include "skiff/netproxy/sys/netlink.h"
#include "skiff/netproxy/sys/nftables.h"
#include "skiff/runtime/runtime.h"

namespace skiff::agent {
namespace {

namespace rt = skiff::runtime;
namespace np = skiff::netproxy;

ContainerState mapState(rt::ContainerState s) {
  switch (s) {
    case rt::ContainerState::Created:
      return ContainerState::Created;
    case rt::ContainerState::Running:
      return ContainerState::Running;
    case rt::ContainerState::Exited:
      return ContainerState::Exited;
    default:
      return ContainerState::Unknown;
  }
}

class RuntimeAdapter final : public ContainerRuntime {
 public:
  explicit RuntimeAdapter(rt::RuntimePtr r) : r_(std::move(r)) {}

  std::string version() override {
    return "skiff-" + std::string(rt::backendName(r_->backend())) + "://" + skiff::kVersion;
  }

  Result<std::string> runPodSandbox(const SandboxConfig& cfg) override {
    rt::PodSandboxConfig c;
    c.metadata = {cfg.name, cfg.uid, cfg.ns, cfg.attempt};
    c.hostname = cfg.hostname;
    c.host_network = cfg.host_network;
    c.qos = cfg.qos;
    c.labels = cfg.labels;
    c.annotations = cfg.annotations;
    return r_->runPodSandbox(c);
  }
  Result<void> stopPodSandbox(const std::string& id) override {
    auto r = r_->stopPodSandbox(id, std::chrono::seconds(2));
    if (!r && r.error().is(ErrorCode::NotFound)) return ok();
    return r;
  }
  Result<void> removePodSandbox(const std::string& id) override {
    SKIFF_TRY(r_->removePodSandbox(id));
    return ok();
  }
  Result<std::vector<SandboxStatus>> listPodSandboxes() override { return listPodSandboxes({}); }
  Result<std::vector<SandboxStatus>> listPodSandboxes(
      const std::map<std::string, std::string>& selector) override {
    SKIFF_ASSIGN_OR_RETURN(auto list, r_->listPodSandbox(selector));
    std::vector<SandboxStatus> out;
    for (const auto& s : list) {
      SandboxStatus o;
      o.id = s.id;
      o.state = s.state == rt::SandboxState::Ready ? SandboxState::Ready : SandboxState::NotReady;
      o.netns_path = s.netns_path;
      o.log_directory = s.log_directory;
      o.labels = s.labels;
      o.annotations = s.annotations;
      o.created_at_ns = s.created_at_ns;
      o.attempt = s.metadata.attempt;
      out.push_back(std::move(o));
    }
    return out;
  }
  Result<std::string> createContainer(const std::string& sandbox_id,
                                      const ContainerConfig& cfg) override {
    rt::ContainerConfig c;
    c.name = cfg.name;
    c.attempt = cfg.attempt;
    c.image = cfg.image;
    c.command = cfg.command;
    c.args = cfg.args;
    for (const auto& [k, v] : cfg.env) c.env.push_back(k + "=" + v);
    c.working_dir = cfg.working_dir;
    if (cfg.security.run_as_user) {
      c.user = std::to_string(*cfg.security.run_as_user);
      if (cfg.security.run_as_group) c.user += ":" + std::to_string(*cfg.security.run_as_group);
    }
    for (auto g : cfg.security.supplemental_groups) {
      c.supplemental_groups.push_back(static_cast<uint32_t>(g));
    }
    for (const auto& m : cfg.mounts)
      c.mounts.push_back({m.container_path, m.host_path, m.readonly});
    c.resources.cpu_shares = cfg.resources.cpu_shares;
    c.resources.cpu_quota_us = cfg.resources.cpu_quota;
    c.resources.cpu_period_us = cfg.resources.cpu_period;
    c.resources.memory_limit_bytes = cfg.resources.memory_limit;
    c.oom_score_adj = static_cast<int>(cfg.resources.oom_score_adj);
    c.cap_add = cfg.security.add_capabilities;
    c.cap_drop = cfg.security.drop_capabilities;
    c.privileged = cfg.security.privileged;
    c.no_new_privs = cfg.security.no_new_privs;
    c.readonly_rootfs = cfg.security.readonly_rootfs;
    c.tty = cfg.tty;
    c.stdin_open = cfg.stdin_open;
    c.stdin_once = cfg.stdin_once;
    c.labels = cfg.labels;
    c.annotations = cfg.annotations;
    return r_->createContainer(sandbox_id, c);
  }
  Result<void> startContainer(const std::string& id) override { return r_->startContainer(id); }
  Result<void> stopContainer(const std::string& id, std::chrono::seconds timeout) override {
    return r_->stopContainer(id, timeout);
  }
  Result<void> removeContainer(const std::string& id) override {
    SKIFF_TRY(r_->removeContainer(id));
    return ok();
  }
  Result<std::vector<ContainerInfo>> listContainers() override {
    return toInfos(r_->listContainers());
  }
  Result<std::vector<ContainerInfo>> listSandboxContainers(const std::string& sandbox_id) override {
    if (sandbox_id.empty()) return std::vector<ContainerInfo>{};  // the runtime reads "" as all
    runtime::ContainerFilter filter;
    filter.sandbox_id = sandbox_id;
    return toInfos(r_->listContainers(filter));
  }
  static Result<std::vector<ContainerInfo>> toInfos(
      Result<std::vector<runtime::ContainerStatus>> listed) {
    SKIFF_ASSIGN_OR_RETURN(auto list, std::move(listed));
    std::vector<ContainerInfo> out;
    for (const auto& s : list) {
      ContainerInfo c;
      c.id = s.id;
      c.sandbox_id = s.sandbox_id;
      c.name = s.name;
      c.attempt = s.attempt;
      c.state = mapState(s.state);
      c.created_at_ns = s.created_at_ns;
      c.started_at_ns = s.started_at_ns;
      c.finished_at_ns = s.finished_at_ns;
      c.exit_code = s.exit_code;
      c.reason = s.reason;
      c.message = s.message;
      c.image = s.image;
      c.image_ref = s.image_ref;
      c.log_path = s.log_path;
      c.labels = s.labels;
      c.annotations = s.annotations;
      out.push_back(std::move(c));
    }
    return out;
  }
  Result<ExecResult> execSync(const std::string& id, const std::vector<std::string>& cmd,
                              std::chrono::seconds timeout) override {
    SKIFF_ASSIGN_OR_RETURN(auto r, r_->execSync(id, cmd, timeout));
    return ExecResult{r.exit_code, r.stdout_data, r.stderr_data};
  }
  Result<std::unique_ptr<ExecSession>> exec(const std::string& id,
                                            const std::vector<std::string>& cmd, bool tty,
                                            bool stdin_open) override {
    rt::ExecOptions o;
    o.cmd = cmd;
    o.tty = tty;
    o.stdin_open = stdin_open;
    return r_->exec(id, o);
  }
  Result<std::unique_ptr<ExecSession>> attach(const std::string& id, bool stdin_open) override {
    return r_->attach(id, stdin_open);
  }
  Result<ImageInfo> pullImage(const std::string& ref) override {
    SKIFF_ASSIGN_OR_RETURN(auto img, r_->images().pull(ref));
    return toInfo(img);
  }
  Result<std::optional<ImageInfo>> imageStatus(const std::string& ref) override {
    auto img = r_->images().get(ref);
    if (!img) {
      if (img.error().is(ErrorCode::NotFound) || img.error().is(ErrorCode::Invalid)) {
        return std::optional<ImageInfo>();
      }
      return std::move(img).error();
    }
    return std::optional<ImageInfo>(toInfo(*img));
  }
  Result<std::vector<ImageInfo>> listImages() override {
    SKIFF_ASSIGN_OR_RETURN(auto list, r_->images().list());
    std::vector<ImageInfo> out;
    out.reserve(list.size());
    for (const auto& i : list) out.push_back(toInfo(i));
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.size > b.size; });
    return out;
  }
  Result<ImageGcReport> garbageCollectImages(const ImageGcPolicy& policy) override {
    runtime::ImageGcPolicy p;
    p.high_threshold_percent = policy.high_threshold_percent;
    p.low_threshold_percent = policy.low_threshold_percent;
    p.min_age = policy.min_age;
    SKIFF_ASSIGN_OR_RETURN(
        auto r, r_->images().garbageCollect(p, runtime::statvfsDiskUsage(r_->images().root()),
                                            std::chrono::system_clock::now()));
    return ImageGcReport{r.removed, r.freed_bytes, r.wanted_bytes};
  }
  Result<std::vector<ContainerStats>> listContainerStats() override {
    SKIFF_ASSIGN_OR_RETURN(auto list, r_->listContainers());
    std::vector<ContainerStats> out;
    for (const auto& c : list) {
      if (c.state != rt::ContainerState::Running) continue;
      auto s = r_->containerStats(c.id);
      if (!s) continue;
      ContainerStats o;
      o.id = c.id;
      o.cpu_usage_core_nano_seconds = s->cpu_usage_core_ns;
      o.memory_working_set_bytes = s->memory_working_set_bytes;
      o.memory_usage_bytes = s->memory_usage_bytes;
      out.push_back(o);
    }
    return out;
  }
  rt::Runtime& runtime() { return *r_; }

 private:
  static ImageInfo toInfo(const rt::Image& i) {
    ImageInfo o;
    o.id = i.id;
    o.repo_tags = i.names;
    for (const auto& n : i.names) {
      if (i.manifest_digest.empty()) break;
      std::size_t at = n.find('@');
      std::size_t colon = n.rfind(':');
      std::size_t slash = n.rfind('/');
      std::string repo =
          at != std::string::npos ? n.substr(0, at)
          : colon != std::string::npos && (slash == std::string::npos || colon > slash)
              ? n.substr(0, colon)
              : n;
      std::string d = repo + "@" + i.manifest_digest;
      if (std::find(o.repo_digests.begin(), o.repo_digests.end(), d) == o.repo_digests.end())
        o.repo_digests.push_back(d);
    }
    o.size = i.size;
    return o;
  }
  rt::RuntimePtr r_;
};

class NetworkAdapter final : public PodNetworkManager {
 public:
  // Exactly one of `ipt` / `nft` is set: the backend of the pod network's rules.
  NetworkAdapter(std::string node, std::string ipam_dir, np::Cidr cluster,
                 std::unique_ptr<np::sys::Netlink> nl, std::unique_ptr<np::sys::Iptables> ipt,
                 std::unique_ptr<np::sys::Nftables> nft)
      : node_(std::move(node)),
        ipam_dir_(std::move(ipam_dir)),
        cluster_(cluster),
        nl_(std::move(nl)),
        ipt_(std::move(ipt)),
        nft_(std::move(nft)) {}

  Result<std::string> setup(const std::string& sandbox_id, const std::string& pod_ref,
                            const std::string& netns_path,
                            const std::vector<PortMapping>& host_ports) override {
    std::lock_guard lk(mu_);
    if (!net_) {
      return Error(ErrorCode::Unavailable,
                   "pod network is not ready: no podCIDR assigned to "
                   "node '" +
                       node_ + "' yet");
    }
    np::Sandbox sb;
    sb.id = sandbox_id;
    sb.netns_path = netns_path;
    sb.pod = pod_ref;
    for (const auto& p : host_ports) {
      np::HostPort hp;
      if (!p.host_ip.empty() && p.host_ip != "::") {
        auto host_ip = np::Ipv4::parse(p.host_ip);
        // The pod network is IPv4 only: an IPv6 hostIP has no address here to listen on.
        if (!host_ip) continue;
        hp.host_ip = *host_ip;
      }
      hp.protocol = p.protocol == "UDP" ? np::Protocol::Udp : np::Protocol::Tcp;
      hp.host_port = static_cast<uint16_t>(p.host_port);
      hp.container_port = static_cast<uint16_t>(p.container_port);
      sb.host_ports.push_back(hp);
    }
    SKIFF_ASSIGN_OR_RETURN(auto addr, net_->setup(sb));
    return addr.ip.str();
  }
  Result<void> teardown(const std::string& sandbox_id, const std::string& pod_ref,
                        const std::string& netns_path) override {
    std::lock_guard lk(mu_);
    if (!net_) return ok();
    np::Sandbox sb;
    sb.id = sandbox_id;
    sb.netns_path = netns_path;
    sb.pod = pod_ref;
    SKIFF_TRY(net_->teardown(sb));
    return ok();
  }
  std::string podIp(const std::string& sandbox_id) override {
    std::lock_guard lk(mu_);
    if (!ipam_) return "";
    auto ip = ipam_->lookup(sandbox_id);
    return ip && *ip ? (*ip)->str() : "";
  }
  void setPodCidr(const std::string& cidr) override {
    using skiff::log::kv;
    auto lg = skiff::log::get("agent");
    auto parsed = np::Cidr::parse(cidr);
    if (!parsed) {
      SKIFF_LOG_ERROR(lg, "Invalid podCIDR on node, ignoring", kv("podCIDR", cidr));
      return;
    }
    std::lock_guard lk(mu_);
    np::PodNetworkConfig c;
    c.pod_cidr = *parsed;
    c.cluster_cidr = cluster_;
    c.ipam_dir = ipam_dir_;
    auto pod_nl = [](const std::string& path) { return np::sys::makeLibnlNetlink(path); };
    net_ = nft_ ? np::makePodNetwork(c, *nl_, pod_nl, *nft_)
                : np::makePodNetwork(c, *nl_, pod_nl, *ipt_);
    ipam_ = std::make_unique<np::Ipam>(*parsed, ipam_dir_);
    auto r = net_->ensureNode();
    if (!r) {
      SKIFF_LOG_ERROR(lg, "Pod network setup failed, will retry on the next pod",
                      kv("err", r.error().message()));
    }
    ready_ = bool(r);
  }
  Result<void> syncNodeRoutes(
      const std::map<std::string, std::pair<std::string, std::string>>& nodes) override {
    std::lock_guard lk(mu_);
    if (!net_) return ok();
    std::vector<np::NodeRoute> routes;
    for (const auto& [name, v] : nodes) {
      auto cidr = np::Cidr::parse(v.first);
      auto ip = np::Ipv4::parse(v.second);
      if (!cidr || !ip) continue;
      routes.push_back({name, *cidr, *ip});
    }
    return net_->syncNodeRoutes(routes);
  }
  bool ready() const override {
    std::lock_guard lk(mu_);
    return ready_;
  }

 private:
  std::string node_;
  std::string ipam_dir_;
  np::Cidr cluster_;
  std::unique_ptr<np::sys::Netlink> nl_;
  std::unique_ptr<np::sys::Iptables> ipt_;
  std::unique_ptr<np::sys::Nftables> nft_;
  mutable std::mutex mu_;
  std::unique_ptr<np::PodNetwork> net_;
  std::unique_ptr<np::Ipam> ipam_;
  bool ready_ = false;
};

}  // namespace

Result<ContainerRuntimePtr> makeContainerRuntime(const AgentConfig& cfg) {
  rt::RuntimeOptions o;
  SKIFF_ASSIGN_OR_RETURN(o.backend, rt::parseBackend(cfg.runtime));
  o.state_dir = cfg.runtime_root;
  o.log_dir = cfg.pod_log_dir;
  o.cgroup_parent = cfg.runtime_cgroup_parent;
  // The cgroup layout comes from hostinfo, the one place that detects it.
  SKIFF_ASSIGN_OR_RETURN(auto cgroups, hostinfo::detectCgroups({}));
  o.cgroup_mode = cgroups.mode;
  SKIFF_ASSIGN_OR_RETURN(auto r, rt::createRuntime(o));
  return ContainerRuntimePtr(std::make_shared<RuntimeAdapter>(std::move(r)));
}

Result<PodNetworkManagerPtr> makePodNetwork(const AgentConfig& cfg, const std::string& node_name) {
  SKIFF_ASSIGN_OR_RETURN(auto cluster, np::Cidr::parse(cfg.cluster_cidr));
  SKIFF_ASSIGN_OR_RETURN(auto nl, np::sys::makeLibnlNetlink(""));
  SKIFF_ASSIGN_OR_RETURN(ProxyBackend backend, proxyBackend(cfg));
  std::unique_ptr<np::sys::Iptables> ipt;
  std::unique_ptr<np::sys::Nftables> nft;
  if (backend.mode != np::ProxyMode::Iptables) {  // nftables and IPVS mode
    nft = np::sys::makeNetlinkNftables();
  } else {
    ipt = np::sys::makeLegacyIptables();
  }
  return PodNetworkManagerPtr(std::make_shared<NetworkAdapter>(
      node_name, cfg.root_dir + "/ipam", cluster, std::move(nl), std::move(ipt), std::move(nft)));
}

namespace {
// The proxy of the chosen mode with the seams it owns.
class ProxySink final : public ServiceProxySink {
 public:
  ProxySeams seams() const { return {ipt_.get(), nft_.get(), ct_.get(), nl_.get(), genl_.get()}; }
  Result<void> open(np::ProxyMode mode) {
    if (mode == np::ProxyMode::Iptables) {
      ipt_ = np::sys::makeLegacyIptables();
      return ok();
    }
    nft_ = np::sys::makeNetlinkNftables();
    ct_ = np::sys::makeNetlinkConntrack();
    if (mode == np::ProxyMode::Ipvs) {
      SKIFF_ASSIGN_OR_RETURN(nl_, np::sys::makeLibnlNetlink(""));
      SKIFF_ASSIGN_OR_RETURN(genl_, np::ipvs::openGenlSocket());
    }
    return ok();
  }
  void setProxy(std::unique_ptr<np::ServiceProxy> p) { proxy_ = std::move(p); }

  Result<std::string> sync(np::ServiceTracker& changes) override {
    np::ServiceChanges changed = changes.takeInto(view_);
    auto r = proxy_->syncChanges(view_, changed);
    if (!r) {
      changes.markAll();  // what this sync took is not in the kernel: the next one redoes all
      return std::move(r).error();
    }
    return std::string(r->full ? "full" : "partial") +
           " sync: " + std::to_string(r->service_ports) + " service ports (" +
           (changed.all ? std::string("all") : std::to_string(changed.services.size())) +
           " Services changed, " + std::to_string(changes.skipped()) + " objects skipped), " +
           std::to_string(r->chains_written) + " chains written, " +
           std::to_string(r->rules_written) + " rules";
  }

 private:
  std::unique_ptr<np::sys::Iptables> ipt_;
  std::unique_ptr<np::sys::Nftables> nft_;
  std::unique_ptr<np::sys::Conntrack> ct_;
  std::unique_ptr<np::sys::Netlink> nl_;
  std::unique_ptr<np::ipvs::GenlTransport> genl_;
  std::unique_ptr<np::ServiceProxy> proxy_;
  np::ServiceView view_;  // what the last sync programmed, by Service
};
}  // namespace

Result<std::unique_ptr<ServiceProxySink>> makeServiceProxy(const AgentConfig& cfg,
                                                           const std::string& node_name) {
  np::ProxyConfig c;
  c.hostname = node_name;
  SKIFF_ASSIGN_OR_RETURN(auto cluster, np::Cidr::parse(cfg.cluster_cidr));
  c.cluster_cidr = cluster;
  for (const std::string& a : cfg.nodeport_addresses) {
    auto cidr = np::Cidr::parse(a);
    if (!cidr) return std::move(cidr).error().wrap("parse --nodeport-addresses");
    c.nodeport_addresses.push_back(*cidr);
  }
  SKIFF_ASSIGN_OR_RETURN(ProxyBackend backend, proxyBackend(cfg));
  auto sink = std::make_unique<ProxySink>();
  SKIFF_TRY(sink->open(backend.mode));
  SKIFF_ASSIGN_OR_RETURN(auto proxy, makeModeProxy(backend, std::move(c), cfg, sink->seams()));
  sink->setProxy(std::move(proxy));
  return std::unique_ptr<ServiceProxySink>(std::move(sink));
}

Result<std::vector<std::string>> importImageArchive(ContainerRuntime& runtime,
                                                    const std::string& path) {
  auto* a = dynamic_cast<RuntimeAdapter*>(&runtime);
  if (a == nullptr) return Error(ErrorCode::Unsupported, "runtime cannot import archives");
  SKIFF_ASSIGN_OR_RETURN(auto imgs, a->runtime().images().importArchive(path));
  std::vector<std::string> names;
  for (const auto& i : imgs) {
    if (i.names.empty()) names.push_back(i.id);
    for (const auto& n : i.names) names.push_back(n);
  }
  return names;
}

}  // namespace skiff::agent
