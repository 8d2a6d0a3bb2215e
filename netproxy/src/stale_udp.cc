#include "skiff/netproxy/stale_udp.h"

#include "skiff/common/log.h"

namespace skiff::netproxy {

using skiff::log::kv;

void StaleUdpTracker::add(const ServicePort& sp, const EndpointMap& eps, Entries& into) {
  if (sp.protocol != Protocol::Udp) return;
  std::string key = sp.key();
  auto& entry = into[key];
  entry.first = sp.cluster_ip;
  if (auto it = eps.find(key); it != eps.end()) {
    for (const Endpoint& e : it->second) {
      if (e.ready || (e.serving && e.terminating)) entry.second.insert(e.ip);
    }
  }
}

std::size_t StaleUdpTracker::deleteGone(const std::string& key, const Entries::mapped_type& old,
                                        const Entries::mapped_type* now, sys::Conntrack* ct) {
  if (!ct) return 0;
  std::size_t deleted = 0;
  for (Ipv4 ip : old.second) {
    if (now && now->second.count(ip)) continue;
    sys::ConntrackFilter f;
    f.protocol = Protocol::Udp;
    f.orig_dst = old.first;
    f.reply_src = ip;
    auto n = ct->deleteEntries(f);
    if (!n) {
      auto lg = skiff::log::get("netproxy");
      SKIFF_LOG_WARN(lg, "Failed to delete stale UDP conntrack entries, ignoring",
                     kv("service", key), kv("endpoint", ip.str()), kv("err", n.error().message()));
    } else {
      deleted += *n;
    }
  }
  return deleted;
}

std::size_t StaleUdpTracker::update(const std::vector<ServicePort>& ports, const EndpointMap& eps,
                                    sys::Conntrack* ct) {
  Entries now;
  for (const ServicePort& sp : ports) add(sp, eps, now);
  std::size_t deleted = 0;
  for (const auto& [key, old] : udp_endpoints_) {
    auto it = now.find(key);
    deleted += deleteGone(key, old, it == now.end() ? nullptr : &it->second, ct);
  }
  udp_endpoints_ = std::move(now);
  return deleted;
}

std::size_t StaleUdpTracker::updateServices(const std::set<std::string>& services,
                                            const ServiceView& view, sys::Conntrack* ct) {
  std::size_t deleted = 0;
  for (const std::string& service : services) {
    Entries now;
    if (auto it = view.ports.find(service); it != view.ports.end()) {
      for (const ServicePort& sp : it->second) add(sp, view.endpoints, now);
    }
    // The Service's keys are the ones whose serviceOfKey is `service`: a contiguous run from
    // lower_bound(service), which also holds longer names sharing the prefix ("ns/a-b").
    for (auto it = udp_endpoints_.lower_bound(service);
         it != udp_endpoints_.end() && it->first.starts_with(service);) {
      if (serviceOfKey(it->first) != service) {
        ++it;
        continue;
      }
      auto n = now.find(it->first);
      deleted += deleteGone(it->first, it->second, n == now.end() ? nullptr : &n->second, ct);
      it = udp_endpoints_.erase(it);
    }
    udp_endpoints_.merge(now);
  }
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
