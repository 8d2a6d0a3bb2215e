#include "skiff/agent/pod_dns.h"

#include <algorithm>

namespace skiff::agent {

using nlohmann::json;

namespace {
constexpr std::size_t kMaxNameservers = 3;         // validation.MaxDNSNameservers
constexpr std::size_t kMaxSearchPaths = 32;        // validation.MaxDNSSearchPaths
constexpr std::size_t kMaxSearchListChars = 2048;  // validation.MaxDNSSearchListChars
constexpr std::size_t kMaxSearchLength = 253;      // DNS1123SubdomainMaxLength

std::vector<std::string> omitDuplicates(const std::vector<std::string>& in) {
  std::vector<std::string> out;
  for (const auto& s : in)
    if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
  return out;
}
std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : " ") + s;
  return out;
}
std::vector<std::string> strings(const json& o, const char* k) {
  std::vector<std::string> out;
  if (o.contains(k) && o[k].is_array())
    for (const auto& v : o[k])
      if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

// kubelet mergeDNSOptions: by name, the pod's dnsConfig wins; first-seen order kept.
std::vector<std::string> mergeOptions(const std::vector<std::string>& base, const json& extra) {
  std::vector<std::pair<std::string, std::string>> opts;
  auto set = [&](const std::string& name, const std::string& value) {
    for (auto& [n, v] : opts) {
      if (n == name) {
        v = value;
        return;
      }
    }
    opts.emplace_back(name, value);
  };
  for (const auto& o : base) {
    auto colon = o.find(':');
    set(o.substr(0, colon), colon == std::string::npos ? "" : o.substr(colon + 1));
  }
  for (const auto& o : extra) {
    if (!o.is_object() || !o.contains("name") || !o["name"].is_string()) continue;
    set(o["name"].get<std::string>(), o.value("value", ""));
  }
  std::vector<std::string> out;
  out.reserve(opts.size());
  for (const auto& [n, v] : opts) out.push_back(v.empty() ? n : n + ":" + v);
  return out;
}

std::vector<std::string> searchFitsLimits(std::vector<std::string> s, bool* cut) {
  if (s.size() > kMaxSearchPaths) {
    s.resize(kMaxSearchPaths);
    *cut = true;
  }
  std::erase_if(s, [&](const std::string& d) {
    if (d.size() <= kMaxSearchLength) return false;
    *cut = true;
    return true;
  });
  std::size_t len = join(s).size();
  while (len > kMaxSearchListChars && !s.empty()) {
    len -= std::min(len, s.back().size() + 1);
    s.pop_back();
    *cut = true;
  }
  return s;
}
}  // namespace

PodDnsFiles podResolvConf(const json& pod, const std::vector<std::string>& cluster_dns,
                          const std::string& domain, const dns::ResolvConf& host) {
  PodDnsFiles out;
  const json spec = pod.value("spec", json::object());
  std::string ns = pod.value("metadata", json::object()).value("namespace", "default");
  std::string name = pod.value("metadata", json::object()).value("name", "");
  std::string policy = spec.value("dnsPolicy", "ClusterFirst");
  bool host_network = spec.value("hostNetwork", false);
  bool cluster = policy == "ClusterFirstWithHostNet" || (policy == "ClusterFirst" && !host_network);
  std::vector<std::string> servers, searches, options;
  if (policy != "None") {
    servers = host.nameservers;
    searches = host.searches;
    options = host.options;
  }
  if (cluster && cluster_dns.empty()) {
    out.events.push_back({"Warning", "MissingClusterDNS",
                          "pod: \"" + name + "_" + ns +
                              "\". kubelet does not have ClusterDNS IP configured and cannot "
                              "create Pod using \"" +
                              policy + "\" policy. Falling back to \"Default\" policy."});
  } else if (cluster) {
    servers = cluster_dns;
    std::vector<std::string> s = {ns + ".svc." + domain, "svc." + domain, domain};
    s.insert(s.end(), searches.begin(), searches.end());
    searches = omitDuplicates(s);
    options = {"ndots:5"};
  }
  if (spec.contains("dnsConfig") && spec["dnsConfig"].is_object()) {
    const json& dc = spec["dnsConfig"];
    auto add_servers = strings(dc, "nameservers");
    servers.insert(servers.end(), add_servers.begin(), add_servers.end());
    servers = omitDuplicates(servers);
    auto add_searches = strings(dc, "searches");
    searches.insert(searches.end(), add_searches.begin(), add_searches.end());
    searches = omitDuplicates(searches);
    options = mergeOptions(options, dc.value("options", json::array()));
  }
  if (servers.size() > kMaxNameservers) {
    servers.resize(kMaxNameservers);
    out.events.push_back({"Warning", "DNSConfigForming",
                          "Nameserver limits were exceeded, some nameservers have been omitted, "
                          "the applied nameserver line is: " +
                              join(servers)});
  }
  bool cut = false;
  searches = searchFitsLimits(std::move(searches), &cut);
  if (cut) {
    out.events.push_back({"Warning", "DNSConfigForming",
                          "Search Line limits were exceeded, some search paths have been "
                          "omitted, the applied search line is: " +
                              join(searches)});
  }
  // containerd's order (pkg/cri/server/sandbox_run.go parseDNSOptions).
  if (!searches.empty()) out.resolv_conf += "search " + join(searches) + "\n";
  for (const auto& s : servers) out.resolv_conf += "nameserver " + s + "\n";
  if (!options.empty()) out.resolv_conf += "options " + join(options) + "\n";
  return out;
}

std::pair<std::string, std::string> podHostnameAndDomain(const json& pod,
                                                         const std::string& domain) {
  const json meta = pod.value("metadata", json::object());
  const json spec = pod.value("spec", json::object());
  std::string host = spec.value("hostname", "");
  if (host.empty()) host = meta.value("name", "");
  if (host.size() > 63) {
    host.resize(63);
    while (!host.empty() && (host.back() == '-' || host.back() == '.')) host.pop_back();
  }
  std::string sub = spec.value("subdomain", "");
  std::string dom =
      sub.empty() ? "" : sub + "." + meta.value("namespace", "default") + ".svc." + domain;
  return {host, dom};
}

std::string podUtsHostname(const json& pod, const std::string& domain) {
  auto [host, dom] = podHostnameAndDomain(pod, domain);
  bool fqdn = pod.value("spec", json::object()).value("setHostnameAsFQDN", false);
  return fqdn && !dom.empty() ? host + "." + dom : host;
}

std::string podHostsFile(const json& pod, const std::vector<std::string>& pod_ips,
                         const std::string& domain, const std::string& node_hosts) {
  const json spec = pod.value("spec", json::object());
  std::string out;
  if (spec.value("hostNetwork", false)) {
    out = "# Kubernetes-managed hosts file (host network).\n" + node_hosts;
  } else {
    auto [host, dom] = podHostnameAndDomain(pod, domain);
    out =
        "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost "
        "ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\n"
        "fe00::2\tip6-allrouters\n";
    for (const auto& ip : pod_ips) {
      out +=
          dom.empty() ? ip + "\t" + host + "\n" : ip + "\t" + host + "." + dom + "\t" + host + "\n";
    }
  }
  const json aliases = spec.value("hostAliases", json::array());
  if (aliases.is_array() && !aliases.empty()) {
    out += "\n# Entries added by HostAliases.\n";
    for (const auto& a : aliases) {
      std::string line = a.value("ip", "");
      for (const auto& h : a.value("hostnames", json::array()))
        if (h.is_string()) line += "\t" + h.get<std::string>();
      out += line + "\n";
    }
  }
  return out;
}

}  // namespace skiff::agent
