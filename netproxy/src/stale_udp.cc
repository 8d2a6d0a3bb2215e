#include "skiff/netproxy/stale_udp.h"

#include "skiff/common/log.h"

namespace skiff::netproxy {

using skiff::log::kv;

std::size_t StaleUdpTracker::update(const std::vector<ServicePort>& ports, const EndpointMap& eps,
                                    sys::Conntrack* ct) {
  std::map<std::string, std::pair<Ipv4, std::set<Ipv4>>> now;
  for (const ServicePort& sp : ports) {
    if (sp.protocol != Protocol::Udp) continue;
    auto& entry = now[sp.key()];
    entry.first = sp.cluster_ip;
    if (auto it = eps.find(sp.key()); it != eps.end()) {
      for (const Endpoint& e : it->second) {
        if (e.ready || (e.serving && e.terminating)) entry.second.insert(e.ip);
      }
    }
  }
  std::size_t deleted = 0;
  if (ct) {
    auto log = skiff::log::get("netproxy");
    for (const auto& [key, old] : udp_endpoints_) {
      auto it = now.find(key);
      for (Ipv4 ip : old.second) {
        if (it != now.end() && it->second.second.count(ip)) continue;
        sys::ConntrackFilter f;
        f.protocol = Protocol::Udp;
        f.orig_dst = old.first;
        f.reply_src = ip;
        auto n = ct->deleteEntries(f);
        if (!n) {
          SKIFF_LOG_WARN(log, "Failed to delete stale UDP conntrack entries, ignoring",
                         kv("service", key), kv("endpoint", ip.str()),
                         kv("err", n.error().message()));
        } else {
          deleted += *n;
        }
      }
    }
  }
  udp_endpoints_ = std::move(now);
  return deleted;
}

std::size_t StaleUdpTracker::stateBytes() const {
  std::size_t n = 0;
  for (const auto& [k, v] : udp_endpoints_) {
    n += k.capacity() + 48;
    n += v.second.size() * (sizeof(Ipv4) + 32);
  }
  return n;
}

}  // namespace skiff::netproxy
