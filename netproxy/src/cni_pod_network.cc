// CNI mode: run a CNI plugin chain (spec 1.0.0, reference/netproxy.md §7) instead of skiff's own
// bridge wiring. ADD runs the plugins in order feeding each the previous result; DEL runs them in
// reverse with the cached final ADD result. A failed ADD is undone with DEL before returning, so
// a failed setup leaves nothing behind, as with the native mode.

#include <unistd.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "skiff/common/file.h"
#include "skiff/common/log.h"
#include "skiff/common/run_command.h"
#include "skiff/netproxy/pod_network.h"

namespace skiff::netproxy {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

using skiff::log::kv;

bool validId(const std::string& id) {
  return !id.empty() && id.size() <= 128 && std::isalnum(static_cast<unsigned char>(id[0])) &&
         std::all_of(id.begin(), id.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
         });
}

class CniPodNetwork final : public PodNetwork {
 public:
  CniPodNetwork(CniConfig cfg, json list, sys::Netlink& node)
      : cfg_(std::move(cfg)),
        list_(std::move(list)),
        node_(node),
        log_(skiff::log::get("netproxy")) {}

  // netproxy::PodNetwork
  Result<void> ensureNode() override {
    for (const json& p : list_["plugins"]) {
      SKIFF_ASSIGN_OR_RETURN(std::string path, findPlugin(p["type"].get<std::string>()));
      (void)path;
    }
    return ok();
  }

  Result<PodAddress> setup(const Sandbox& sb) override {
    if (!validId(sb.id)) {
      return Error(ErrorCode::Invalid,
                   fmt::format("set up pod network: bad sandbox id '{}'", sb.id));
    }
    json prev;
    std::size_t done = 0;
    const json& plugins = list_["plugins"];
    for (; done < plugins.size(); ++done) {
      auto r = invoke("ADD", plugins[done], sb, prev);
      if (!r) {
        // Undo what the earlier plugins did (DEL in reverse), then report the failure.
        for (std::size_t i = done + 1; i-- > 0;) (void)invoke("DEL", plugins[i], sb, prev);
        return std::move(r).error().wrap(fmt::format("set up network of pod '{}'", sb.pod));
      }
      prev = std::move(*r);
    }
    auto addr = addressOf(prev);
    if (!addr) {
      for (std::size_t i = plugins.size(); i-- > 0;) (void)invoke("DEL", plugins[i], sb, prev);
      return std::move(addr).error().wrap(fmt::format("set up network of pod '{}'", sb.pod));
    }
    std::error_code ec;
    fs::create_directories(cfg_.cache_dir, ec);
    SKIFF_TRY(writeFileAtomic(cachePath(sb.id), prev.dump(), 0600));
    SKIFF_LOG_INFO(log_, "Pod network set up through CNI", kv("pod", sb.pod),
                   kv("network", list_["name"].get<std::string>()), kv("ip", addr->ip.str()));
    return *addr;
  }

  Result<bool> teardown(const Sandbox& sb) override {
    if (!validId(sb.id)) {
      return Error(ErrorCode::Invalid,
                   fmt::format("tear down pod network: bad sandbox id '{}'", sb.id));
    }
    auto cached = readFile(cachePath(sb.id), 1 << 20);
    if (!cached) return false;  // never set up (or already torn down)
    json prev = json::parse(*cached, nullptr, false);
    if (prev.is_discarded()) prev = json();
    const json& plugins = list_["plugins"];
    for (std::size_t i = plugins.size(); i-- > 0;) {
      // DEL must succeed when things are already gone; a real failure is kept for a retry.
      SKIFF_TRY(invoke("DEL", plugins[i], sb, prev));
    }
    ::unlink(cachePath(sb.id).c_str());
    return true;
  }

  Result<void> syncNodeRoutes(const std::vector<NodeRoute>& nodes) override {
    return syncHostGwRoutes(node_, cfg_.pod_cidr, nodes);
  }

  Result<void> cleanupNode() override { return syncHostGwRoutes(node_, cfg_.pod_cidr, {}); }

 private:
  std::string cachePath(const std::string& id) const {
    return cfg_.cache_dir + "/" + list_["name"].get<std::string>() + "-" + id + ".json";
  }

  Result<std::string> findPlugin(const std::string& type) const {
    if (type.find('/') != std::string::npos || type.empty()) {
      return Error(ErrorCode::Invalid, fmt::format("find CNI plugin '{}': bad type", type));
    }
    for (const auto& dir : cfg_.bin_dirs) {
      std::string p = dir + "/" + type;
      if (::access(p.c_str(), X_OK) == 0) return p;
    }
    return Error(ErrorCode::NotFound, fmt::format("find CNI plugin '{}': not in {}", type,
                                                  fmt::join(cfg_.bin_dirs, ":")));
  }

  // One plugin call (CNI spec §4): config on stdin, parameters in the environment.
  Result<json> invoke(const char* command, const json& plugin, const Sandbox& sb,
                      const json& prev) {
    std::string type = plugin["type"].get<std::string>();
    SKIFF_ASSIGN_OR_RETURN(std::string path, findPlugin(type));
    json conf = plugin;
    conf["cniVersion"] = list_["cniVersion"];
    conf["name"] = list_["name"];
    if (!prev.is_null()) conf["prevResult"] = prev;
    if (plugin.contains("capabilities") && plugin["capabilities"].value("portMappings", false)) {
      json maps = json::array();
      for (const HostPort& hp : sb.host_ports) {
        json m = {{"hostPort", hp.host_port},
                  {"containerPort", hp.container_port},
                  {"protocol", std::string(protocolName(hp.protocol))}};
        if (hp.host_ip.value != 0) m["hostIP"] = hp.host_ip.str();
        maps.push_back(std::move(m));
      }
      conf["runtimeConfig"]["portMappings"] = maps;
    }
    conf.erase("capabilities");
    std::vector<std::string> env = {std::string("CNI_COMMAND=") + command,
                                    "CNI_CONTAINERID=" + sb.id,
                                    "CNI_NETNS=" + sb.netns_path,
                                    "CNI_IFNAME=" + cfg_.ifname,
                                    "CNI_PATH=" + fmt::format("{}", fmt::join(cfg_.bin_dirs, ":")),
                                    "PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
    SKIFF_ASSIGN_OR_RETURN(RunResult r,
                           runCommand({path}, {.stdin_data = conf.dump(), .env = &env}));
    json out = json::parse(r.out, nullptr, false);
    if (r.exit_code != 0) {
      std::string msg = out.is_object() ? out.value("msg", std::string()) : std::string();
      std::string details = out.is_object() ? out.value("details", std::string()) : std::string();
      return Error(ErrorCode::Internal,
                   fmt::format("CNI plugin '{}' {}: {}{}{} (exit code {})", type, command,
                               msg.empty() ? r.out : msg, details.empty() ? "" : ": ", details,
                               r.exit_code));
    }
    if (std::string(command) == "DEL") return json();
    if (!out.is_object()) {
      return Error(ErrorCode::Internal,
                   fmt::format("CNI plugin '{}' ADD: result is not JSON", type));
    }
    return out;
  }

  Result<PodAddress> addressOf(const json& result) const {
    if (!result.contains("ips") || !result["ips"].is_array()) {
      return Error(ErrorCode::Internal, "CNI result has no ips");
    }
    for (const json& ip : result["ips"]) {
      if (!ip.contains("address") || !ip["address"].is_string()) continue;
      auto cidr = Cidr::parse(ip["address"].get<std::string>());
      if (!cidr) continue;  // IPv6: skiff's proxy is IPv4-only
      PodAddress a;
      a.ip = cidr->addr;
      a.prefix = cidr->prefix;
      if (ip.contains("gateway") && ip["gateway"].is_string()) {
        if (auto gw = Ipv4::parse(ip["gateway"].get<std::string>())) a.gateway = *gw;
      }
      return a;
    }
    return Error(ErrorCode::Internal, "CNI result has no IPv4 address");
  }

  CniConfig cfg_;
  json list_;
  sys::Netlink& node_;
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace

Result<json> loadCniNetworkList(const std::string& conf_dir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(conf_dir, ec)) {
    if (e.path().extension() == ".conflist") files.push_back(e.path().string());
  }
  if (ec)
    return Error(ErrorCode::NotFound,
                 fmt::format("read CNI config dir '{}': {}", conf_dir, ec.message()));
  if (files.empty()) {
    return Error(ErrorCode::NotFound,
                 fmt::format("read CNI config dir '{}': no .conflist file", conf_dir));
  }
  std::sort(files.begin(), files.end());
  SKIFF_ASSIGN_OR_RETURN(std::string text, readFile(files[0], 1 << 20));
  json list = json::parse(text, nullptr, false);
  auto bad = [&](const char* why) {
    return Error(ErrorCode::Invalid, fmt::format("load CNI config '{}': {}", files[0], why));
  };
  if (!list.is_object()) return bad("not a JSON object");
  if (!list.contains("cniVersion") || !list["cniVersion"].is_string())
    return bad("cniVersion is required");
  if (!list.contains("name") || !list["name"].is_string() ||
      list["name"].get<std::string>().empty()) {
    return bad("name is required");
  }
  if (!list.contains("plugins") || !list["plugins"].is_array() || list["plugins"].empty()) {
    return bad("plugins must list at least one plugin");
  }
  for (const json& p : list["plugins"]) {
    if (!p.is_object() || !p.contains("type") || !p["type"].is_string()) {
      return bad("every plugin needs a type");
    }
  }
  return list;
}

Result<std::unique_ptr<PodNetwork>> makeCniPodNetwork(CniConfig config, sys::Netlink& node) {
  SKIFF_ASSIGN_OR_RETURN(json list, loadCniNetworkList(config.conf_dir));
  return std::unique_ptr<PodNetwork>(new CniPodNetwork(std::move(config), std::move(list), node));
}

}  // namespace skiff::netproxy
