#include "skiff/agent/dns/record_index.h"

#include <arpa/inet.h>

#include <algorithm>
#include <map>

namespace skiff::agent::dns {

namespace {
std::string str(const json& o, const char* k) {
  auto it = o.find(k);
  return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
}
const json& obj(const json& o, const char* k) {
  static const json kEmpty = json::object();
  auto it = o.find(k);
  return it != o.end() && it->is_object() ? *it : kEmpty;
}
const json& arr(const json& o, const char* k) {
  static const json kEmpty = json::array();
  auto it = o.find(k);
  return it != o.end() && it->is_array() ? *it : kEmpty;
}
std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
// One endpoint address as headless records need it.
struct Endpoint {
  std::string ip;
  std::string hostname;
};
}  // namespace

std::string canonicalName(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return lower(std::string(name));
}

std::string reverseName(const std::string& ip) {
  unsigned char b[16];
  if (::inet_pton(AF_INET, ip.c_str(), b) == 1) {
    return std::to_string(b[3]) + "." + std::to_string(b[2]) + "." + std::to_string(b[1]) + "." +
           std::to_string(b[0]) + ".in-addr.arpa";
  }
  if (::inet_pton(AF_INET6, ip.c_str(), b) == 1) {
    static const char* kHex = "0123456789abcdef";
    std::string out;
    for (int i = 15; i >= 0; --i) {
      out += kHex[b[i] & 15];
      out += '.';
      out += kHex[b[i] >> 4];
      out += '.';
    }
    return out + "ip6.arpa";
  }
  return "";
}

NameRecords& RecordIndex::at(const std::string& name) {
  // Every ancestor inside the zone becomes an empty non-terminal: NOERROR/NODATA, not NXDOMAIN.
  for (auto dot = name.find('.'); dot != std::string::npos; dot = name.find('.', dot + 1)) {
    std::string parent = name.substr(dot + 1);
    if (!inZone(parent)) break;
    if (!nonterminals_.insert(parent).second) break;
  }
  return names_[name];
}

namespace {
bool addIp(NameRecords& r, const std::string& ip) {
  std::array<std::uint8_t, 4> v4;
  std::array<std::uint8_t, 16> v6;
  if (::inet_pton(AF_INET, ip.c_str(), v4.data()) == 1) {
    if (std::find(r.a.begin(), r.a.end(), v4) == r.a.end()) r.a.push_back(v4);
    return true;
  }
  if (::inet_pton(AF_INET6, ip.c_str(), v6.data()) == 1) {
    if (std::find(r.aaaa.begin(), r.aaaa.end(), v6) == r.aaaa.end()) r.aaaa.push_back(v6);
    return true;
  }
  return false;
}
std::string dashed(std::string ip) {
  std::replace(ip.begin(), ip.end(), '.', '-');
  std::replace(ip.begin(), ip.end(), ':', '-');
  return ip;
}
}  // namespace

void RecordIndex::addService(const json& svc, const std::vector<const json*>& slices) {
  const json& meta = obj(svc, "metadata");
  const json& spec = obj(svc, "spec");
  std::string ns = lower(str(meta, "namespace")), name = lower(str(meta, "name"));
  if (ns.empty() || name.empty()) {
    ++skipped_;
    return;
  }
  ++services_;
  const std::string fqdn = name + "." + ns + ".svc." + domain_;
  std::string type = str(spec, "type");
  if (type == "ExternalName") {
    std::string target = canonicalName(str(spec, "externalName"));
    if (target.empty()) {
      ++skipped_;
      return;
    }
    at(fqdn).cname = target;
    return;
  }
  std::vector<std::string> cips;
  for (const auto& ip : arr(spec, "clusterIPs"))
    if (ip.is_string()) cips.push_back(ip.get<std::string>());
  if (cips.empty() && !str(spec, "clusterIP").empty()) cips.push_back(str(spec, "clusterIP"));
  bool headless = cips.empty() || cips.front() == "None";
  if (!headless) {
    NameRecords& r = at(fqdn);
    for (const auto& ip : cips) {
      if (!addIp(r, ip)) continue;
      at(reverseName(ip)).ptr.push_back(fqdn);
    }
    std::map<std::string, std::vector<SrvRecord>> srvs;
    for (const auto& p : arr(spec, "ports")) {
      std::string pname = lower(str(p, "name"));
      if (pname.empty()) continue;
      std::string proto = lower(p.contains("protocol") ? str(p, "protocol") : "TCP");
      srvs["_" + pname + "._" + proto + "." + fqdn].push_back(
          {0, 100, static_cast<std::uint16_t>(p.value("port", 0)), fqdn});
    }
    for (auto& [n, list] : srvs) at(n).srv = std::move(list);
    return;
  }
  // Headless: the ready endpoints of every slice of this Service (not-ready ones too when
  // publishNotReadyAddresses, as the endpoints controller publishes them).
  auto pnr = spec.find("publishNotReadyAddresses");
  bool publish_not_ready = pnr != spec.end() && pnr->is_boolean() && pnr->get<bool>();
  std::vector<Endpoint> eps;
  std::map<std::string, std::vector<std::pair<std::string, std::uint16_t>>> ports;  // name
  for (const json* sl : slices) {
    std::vector<std::pair<std::string, std::uint16_t>> slice_ports;
    for (const auto& p : arr(*sl, "ports")) {
      std::string pname = lower(str(p, "name"));
      if (pname.empty() || !p.contains("port") || !p["port"].is_number()) continue;
      std::string proto = lower(p.contains("protocol") ? str(p, "protocol") : "TCP");
      slice_ports.push_back({"_" + pname + "._" + proto, p["port"].get<std::uint16_t>()});
    }
    for (const auto& e : arr(*sl, "endpoints")) {
      const json& cond = obj(e, "conditions");
      bool ready =
          !cond.contains("ready") || !cond["ready"].is_boolean() || cond["ready"].get<bool>();
      if (!ready && !publish_not_ready) continue;
      for (const auto& a : arr(e, "addresses")) {
        if (!a.is_string()) continue;
        Endpoint ep{a.get<std::string>(), lower(str(e, "hostname"))};
        eps.push_back(ep);
        for (const auto& [label, port] : slice_ports) {
          std::string host = (ep.hostname.empty() ? dashed(ep.ip) : ep.hostname) + "." + fqdn;
          ports[label + "." + fqdn].push_back({host, port});
        }
      }
    }
  }
  NameRecords& r = at(fqdn);
  for (const auto& ep : eps) {
    if (!addIp(r, ep.ip)) continue;
    std::string host = (ep.hostname.empty() ? dashed(ep.ip) : ep.hostname) + "." + fqdn;
    addIp(at(host), ep.ip);
    auto& ptr = at(reverseName(ep.ip)).ptr;
    if (std::find(ptr.begin(), ptr.end(), host) == ptr.end()) ptr.push_back(host);
  }
  for (auto& [n, list] : ports) {
    auto& srv = at(n).srv;
    for (const auto& [target, port] : list) {
      srv.push_back({0, static_cast<std::uint16_t>(100 / list.size()), port, target});
    }
  }
}

std::shared_ptr<const RecordIndex> RecordIndex::build(const std::vector<json>& services,
                                                      const std::vector<json>& slices,
                                                      const std::string& domain,
                                                      std::uint32_t ttl) {
  auto idx = std::make_shared<RecordIndex>();
  idx->domain_ = canonicalName(domain);
  idx->ttl_ = ttl;
  std::unordered_map<std::string, std::vector<const json*>> by_service;
  for (const auto& sl : slices) {
    const json& meta = obj(sl, "metadata");
    std::string svc = str(obj(meta, "labels"), "kubernetes.io/service-name");
    if (svc.empty()) continue;
    by_service[lower(str(meta, "namespace")) + "/" + lower(svc)].push_back(&sl);
  }
  static const std::vector<const json*> kNone;
  for (const auto& svc : services) {
    const json& meta = obj(svc, "metadata");
    auto it = by_service.find(lower(str(meta, "namespace")) + "/" + lower(str(meta, "name")));
    idx->addService(svc, it == by_service.end() ? kNone : it->second);
  }
  idx->at("dns-version." + idx->domain_).txt = "1.1.0";
  auto find = [&idx](std::string_view n) { return idx->find(n); };
  for (auto& [name, recs] : idx->names_) recs.templates = buildTemplates(name, recs, ttl, find);
  return idx;
}

const NameRecords* RecordIndex::find(std::string_view name) const {
  auto it = names_.find(name);
  return it == names_.end() ? nullptr : &it->second;
}

bool RecordIndex::exists(std::string_view name) const {
  return names_.find(name) != names_.end() || nonterminals_.find(name) != nonterminals_.end() ||
         name == domain_;
}

bool RecordIndex::inZone(std::string_view name) const {
  if (name == domain_) return true;
  return name.size() > domain_.size() && name.ends_with(domain_) &&
         name[name.size() - domain_.size() - 1] == '.';
}

}  // namespace skiff::agent::dns
