// IPVS sync: desired virtual/real servers from the Services, then the difference applied.
#include "skiff/netproxy/ipvs/ipvs_proxier.h"

#include <map>

namespace skiff::netproxy::ipvs {

IpvsProxier::IpvsProxier(IpvsKernel& kernel, IpvsOptions opts)
    : kernel_(kernel), opts_(std::move(opts)) {
  bound_.insert(opts_.previously_bound.begin(), opts_.previously_bound.end());
  node_ips_.insert(opts_.node_ips.begin(), opts_.node_ips.end());
}

bool IpvsProxier::ours(const VirtualServer& vs) const {
  return bound_.count(vs.addr) > 0 || node_ips_.count(vs.addr) > 0;
}

std::vector<IpvsProxier::Desired> IpvsProxier::desiredState(
    const std::vector<ServicePort>& services, const EndpointMap& endpoints) const {
  std::vector<Desired> out;
  for (const auto& sp : services) {
    VirtualServer base;
    base.protocol = sp.protocol;
    base.scheduler = opts_.scheduler;
    if (sp.affinity_client_ip) {
      base.flags = kFlagPersistent;
      base.timeout = sp.affinity_seconds;
    }
    auto it = endpoints.find(sp.key());
    // Ready endpoints; with a Local policy only this node's (kube-proxy's CategorizeEndpoints).
    auto dests = [&](bool local_only) {
      std::vector<RealServer> rs;
      if (it == endpoints.end()) return rs;
      for (const auto& ep : it->second) {
        if (!ep.ready || (local_only && ep.node_name != opts_.node_name)) continue;
        RealServer r;
        r.addr = ep.ip;
        r.port = ep.port;
        rs.push_back(r);
      }
      return rs;
    };
    auto add = [&](Ipv4 ip, uint16_t port, bool local_only) {
      Desired d{base, dests(local_only)};
      d.vs.addr = ip;
      d.vs.port = port;
      out.push_back(std::move(d));
    };
    if (sp.cluster_ip.value != 0) add(sp.cluster_ip, sp.port, sp.internal_policy_local);
    for (Ipv4 ip : sp.external_ips) add(ip, sp.port, sp.external_policy_local);
    if (sp.node_port != 0) {
      for (Ipv4 ip : opts_.node_ips) add(ip, sp.node_port, sp.external_policy_local);
    }
  }
  return out;
}

Result<IpvsSyncStats> IpvsProxier::sync(const std::vector<ServicePort>& services,
                                        const EndpointMap& endpoints) {
  IpvsSyncStats st;
  std::vector<Desired> desired = desiredState(services, endpoints);
  SKIFF_ASSIGN_OR_RETURN(auto current, kernel_.listServices());
  std::map<std::string, VirtualServer> have;
  for (auto& vs : current) have.emplace(vs.key(), vs);
  std::set<std::string> wanted;
  std::set<Ipv4> bound;
  for (const auto& d : desired) {
    wanted.insert(d.vs.key());
    if (node_ips_.count(d.vs.addr) == 0) bound.insert(d.vs.addr);
    auto h = have.find(d.vs.key());
    bool is_new = h == have.end();
    if (is_new) {
      SKIFF_TRY(kernel_.addService(d.vs));
      ++st.services_added;
    } else if (h->second.scheduler != d.vs.scheduler || h->second.flags != d.vs.flags ||
               h->second.timeout != d.vs.timeout || h->second.netmask != d.vs.netmask) {
      SKIFF_TRY(kernel_.updateService(d.vs));
      ++st.services_updated;
    }
    SKIFF_TRY(syncDestinations(d, is_new, st));
  }
  for (const auto& [key, vs] : have) {
    if (wanted.count(key) || !ours(vs)) continue;
    SKIFF_TRY(kernel_.deleteService(vs));
    ++st.services_deleted;
  }
  // Addresses stay bound until their last virtual server is gone.
  bound_ = std::move(bound);
  return st;
}

Result<void> IpvsProxier::syncDestinations(const Desired& d, bool is_new, IpvsSyncStats& st) {
  std::map<std::string, RealServer> have;
  if (!is_new) {
    SKIFF_ASSIGN_OR_RETURN(auto list, kernel_.listDestinations(d.vs));
    for (auto& rs : list) have.emplace(rs.key(), rs);
  }
  std::set<std::string> wanted;
  for (const auto& rs : d.dests) {
    wanted.insert(rs.key());
    auto h = have.find(rs.key());
    if (h == have.end()) {
      SKIFF_TRY(kernel_.addDestination(d.vs, rs));
      ++st.dests_added;
    } else if (h->second.weight != rs.weight) {
      // Back from draining (or a changed weight).
      SKIFF_TRY(kernel_.updateDestination(d.vs, rs));
      ++st.dests_updated;
    }
  }
  for (const auto& [key, rs] : have) {
    if (wanted.count(key)) continue;
    if (rs.active_conns + rs.inactive_conns == 0) {
      SKIFF_TRY(kernel_.deleteDestination(d.vs, rs));
      ++st.dests_deleted;
    } else if (rs.weight != 0) {
      // Graceful termination: no new connections, existing ones finish; deleted once drained.
      RealServer drain = rs;
      drain.weight = 0;
      SKIFF_TRY(kernel_.updateDestination(d.vs, drain));
      ++st.dests_draining;
    }
  }
  return ok();
}

}  // namespace skiff::netproxy::ipvs
