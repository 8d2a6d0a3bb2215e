#include "skiff/agent/node_facts.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include "skiff/common/file.h"
#include "skiff/hostinfo/host_info.h"
#include "skiff/hostinfo/node_object.h"
#include "skiff/hostinfo/node_resources.h"

namespace skiff::agent {

using nlohmann::json;

namespace {

std::string firstGlobalIp() {
  struct ifaddrs* ifs = nullptr;
  if (::getifaddrs(&ifs) != 0) return "";
  std::string out;
  for (auto* i = ifs; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET) continue;
    if ((i->ifa_flags & IFF_LOOPBACK) || !(i->ifa_flags & IFF_UP)) continue;
    std::string name = i->ifa_name;
    if (name.rfind("skiff", 0) == 0 || name.rfind("veth", 0) == 0) continue;
    char buf[INET_ADDRSTRLEN];
    ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr, buf, sizeof buf);
    out = buf;
    break;
  }
  ::freeifaddrs(ifs);
  if (out.empty()) out = "127.0.0.1";
  return out;
}

// The node as hostinfo sees it (the code its fixture tests cover): capacity and allocatable as
// the kubelet computes them, nodeInfo, and the hostname.
class HostinfoNodeFacts final : public NodeFacts {
 public:
  HostinfoNodeFacts(hostinfo::HostPaths paths, hostinfo::NodeConfig config)
      : paths_(std::move(paths)),
        config_(std::move(config)),
        sys_(hostinfo::sys::makeRealHostSys()) {}

  Result<NodeFactsSnapshot> collect() override {
    SKIFF_ASSIGN_OR_RETURN(auto host, hostinfo::collectHostInfo(paths_, *sys_));
    SKIFF_ASSIGN_OR_RETURN(auto resources, hostinfo::computeNodeResources(host, config_));
    NodeFactsSnapshot s;
    s.capacity = hostinfo::resourceListJson(resources.capacity);
    s.allocatable = hostinfo::resourceListJson(resources.allocatable);
    s.node_info = hostinfo::buildNodeInfo(host);
    s.hostname = host.hostname;
    std::transform(s.hostname.begin(), s.hostname.end(), s.hostname.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    s.default_ip = firstGlobalIp();
    return s;
  }

 private:
  hostinfo::HostPaths paths_;
  hostinfo::NodeConfig config_;
  hostinfo::sys::HostSysPtr sys_;
};

}  // namespace

Result<NodeFactsPtr> makeNodeFacts(const AgentConfig& cfg) {
  hostinfo::NodeConfig config;
  SKIFF_ASSIGN_OR_RETURN(config.kube_reserved,
                         hostinfo::parseReservedMap(cfg.kube_reserved, "--kube-reserved"));
  SKIFF_ASSIGN_OR_RETURN(config.system_reserved,
                         hostinfo::parseReservedMap(cfg.system_reserved, "--system-reserved"));
  SKIFF_ASSIGN_OR_RETURN(config.eviction_hard,
                         hostinfo::parseEvictionThresholdMap(cfg.eviction_hard, "--eviction-hard"));
  config.max_pods = cfg.max_pods;
  hostinfo::HostPaths paths;
  paths.state_dir = cfg.root_dir;
  return NodeFactsPtr(std::make_unique<HostinfoNodeFacts>(std::move(paths), std::move(config)));
}

Result<NodeUsage> readNodeUsage(const std::string& root_dir) {
  NodeUsage u;
  hostinfo::HostPaths paths;
  SKIFF_ASSIGN_OR_RETURN(auto meminfo, hostinfo::readMemInfo(paths));
  u.memory_available =
      meminfo.mem_available_bytes ? static_cast<int64_t>(*meminfo.mem_available_bytes) : -1;
  u.memory_capacity = static_cast<int64_t>(meminfo.mem_total_bytes);
  auto sys = hostinfo::sys::makeRealHostSys();
  std::string path = root_dir;
  auto fs = sys->statfs(path);
  while (!fs && fs.error().is(ErrorCode::NotFound) && path.size() > 1) {
    path = path.substr(0, std::max<std::size_t>(1, path.rfind('/')));
    fs = sys->statfs(path);
  }
  if (fs) {
    u.nodefs_available = static_cast<int64_t>(fs->available_bytes);
    u.nodefs_capacity = static_cast<int64_t>(fs->capacity_bytes);
    u.nodefs_inodes_free = static_cast<int64_t>(fs->inodes_free);
    u.nodefs_inodes = static_cast<int64_t>(fs->inodes);
  }
  auto pid_max = readFile("/proc/sys/kernel/pid_max", 64);
  auto loadavg = readFile("/proc/loadavg", 256);
  if (pid_max && loadavg) {
    u.pids_max = std::strtoll(pid_max->c_str(), nullptr, 10);
    // 4th field of loadavg: running/total tasks.
    std::istringstream in(*loadavg);
    std::string a, b, c, tasks;
    in >> a >> b >> c >> tasks;
    auto slash = tasks.find('/');
    if (slash != std::string::npos) {
      u.pids_available = u.pids_max - std::strtoll(tasks.c_str() + slash + 1, nullptr, 10);
    }
  }
  return u;
}

}  // namespace skiff::agent
