#include "skiff/agent/node_facts.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>

#include "skiff/agent/resources.h"
#include "skiff/common/file.h"

namespace skiff::agent {

using nlohmann::json;

namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

int64_t meminfoField(const std::string& meminfo, const std::string& key) {
  std::istringstream in(meminfo);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) {
      std::istringstream ls(line.substr(key.size() + 1));
      int64_t kb = -1;
      ls >> kb;
      return kb < 0 ? -1 : kb * 1024;
    }
  }
  return -1;
}

std::string osPrettyName() {
  auto text = readFile("/etc/os-release", 64u << 10);
  if (!text) return "Linux";
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("PRETTY_NAME=", 0) == 0) {
      std::string v = line.substr(12);
      if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'')) v = v.substr(1, v.size() - 2);
      return v;
    }
  }
  return "Linux";
}

std::string goArch(const std::string& machine) {
  if (machine == "x86_64") return "amd64";
  if (machine == "aarch64") return "arm64";
  if (machine.rfind("arm", 0) == 0) return "arm";
  return machine;
}

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

int64_t reserved(const std::map<std::string, std::string>& m, const std::string& key, bool cpu) {
  auto it = m.find(key);
  if (it == m.end()) return 0;
  return cpu ? parseMilliCpu(it->second).value_or(0) : parseBytes(it->second).value_or(0);
}

// A hard eviction threshold as an absolute amount of `capacity`.
int64_t threshold(const std::map<std::string, std::string>& m, const std::string& signal,
                  int64_t capacity) {
  auto it = m.find(signal);
  if (it == m.end()) return 0;
  const std::string& v = it->second;
  if (!v.empty() && v.back() == '%') {
    double pct = std::strtod(v.c_str(), nullptr);
    return static_cast<int64_t>(capacity * pct / 100.0);
  }
  return parseBytes(v).value_or(0);
}

std::string milliString(int64_t milli) {
  if (milli % 1000 == 0) return std::to_string(milli / 1000);
  return std::to_string(milli) + "m";
}

std::string kiString(int64_t bytes) {
  if (bytes % 1024 == 0) return std::to_string(bytes / 1024) + "Ki";
  return std::to_string(bytes);
}

class ProcNodeFacts final : public NodeFacts {
 public:
  explicit ProcNodeFacts(AgentConfig cfg) : cfg_(std::move(cfg)) {}

  Result<NodeFactsSnapshot> collect() override {
    NodeFactsSnapshot s;
    long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
    SKIFF_ASSIGN_OR_RETURN(auto meminfo, readFile("/proc/meminfo", 1u << 20));
    int64_t mem = meminfoField(meminfo, "MemTotal");
    if (cpus <= 0 || mem <= 0) return Error(ErrorCode::Invalid, "read node capacity: bad /proc");
    struct statvfs fs {};
    int64_t eph = 0;
    std::string fs_path = cfg_.root_dir;
    while (::statvfs(fs_path.c_str(), &fs) != 0 && fs_path.size() > 1) {
      fs_path = fs_path.substr(0, std::max<std::size_t>(1, fs_path.rfind('/')));
    }
    eph = static_cast<int64_t>(fs.f_blocks) * static_cast<int64_t>(fs.f_frsize);
    int64_t cpu_milli = cpus * 1000;
    s.capacity = {{"cpu", std::to_string(cpus)},
                  {"memory", kiString(mem)},
                  {"ephemeral-storage", kiString(eph - eph % 1024)},
                  {"hugepages-1Gi", "0"},
                  {"hugepages-2Mi", "0"},
                  {"pods", std::to_string(cfg_.max_pods)}};
    int64_t a_cpu = cpu_milli - reserved(cfg_.kube_reserved, "cpu", true) -
                    reserved(cfg_.system_reserved, "cpu", true);
    int64_t a_mem = mem - reserved(cfg_.kube_reserved, "memory", false) -
                    reserved(cfg_.system_reserved, "memory", false) -
                    threshold(cfg_.eviction_hard, "memory.available", mem);
    int64_t a_eph = eph - reserved(cfg_.kube_reserved, "ephemeral-storage", false) -
                    reserved(cfg_.system_reserved, "ephemeral-storage", false) -
                    threshold(cfg_.eviction_hard, "nodefs.available", eph);
    s.allocatable = {{"cpu", milliString(std::max<int64_t>(0, a_cpu))},
                     {"memory", kiString(std::max<int64_t>(0, a_mem - a_mem % 1024))},
                     {"ephemeral-storage", std::to_string(std::max<int64_t>(0, a_eph))},
                     {"hugepages-1Gi", "0"},
                     {"hugepages-2Mi", "0"},
                     {"pods", std::to_string(cfg_.max_pods)}};
    struct utsname u {};
    ::uname(&u);
    std::string machine_id = trim(readFile("/etc/machine-id", 4096).value_or(""));
    std::string boot_id = trim(readFile("/proc/sys/kernel/random/boot_id", 4096).value_or(""));
    std::string uuid = trim(readFile("/sys/class/dmi/id/product_uuid", 4096).value_or(""));
    if (uuid.empty()) uuid = machine_id;
    s.node_info = {{"machineID", machine_id},
                   {"systemUUID", uuid},
                   {"bootID", boot_id},
                   {"kernelVersion", u.release},
                   {"osImage", osPrettyName()},
                   {"operatingSystem", "linux"},
                   {"architecture", goArch(u.machine)}};
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    s.hostname = host;
    std::transform(s.hostname.begin(), s.hostname.end(), s.hostname.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    s.default_ip = firstGlobalIp();
    return s;
  }

 private:
  AgentConfig cfg_;
};

}  // namespace

NodeFactsPtr makeProcNodeFacts(const AgentConfig& cfg) {
  return std::make_unique<ProcNodeFacts>(cfg);
}

Result<NodeUsage> readNodeUsage(const std::string& root_dir) {
  NodeUsage u;
  SKIFF_ASSIGN_OR_RETURN(auto meminfo, readFile("/proc/meminfo", 1u << 20));
  u.memory_available = meminfoField(meminfo, "MemAvailable");
  u.memory_capacity = meminfoField(meminfo, "MemTotal");
  std::string path = root_dir;
  struct statvfs fs {};
  while (::statvfs(path.c_str(), &fs) != 0 && path.size() > 1) {
    path = path.substr(0, std::max<std::size_t>(1, path.rfind('/')));
  }
  u.nodefs_available = static_cast<int64_t>(fs.f_bavail) * static_cast<int64_t>(fs.f_frsize);
  u.nodefs_capacity = static_cast<int64_t>(fs.f_blocks) * static_cast<int64_t>(fs.f_frsize);
  u.nodefs_inodes_free = static_cast<int64_t>(fs.f_ffree);
  u.nodefs_inodes = static_cast<int64_t>(fs.f_files);
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
