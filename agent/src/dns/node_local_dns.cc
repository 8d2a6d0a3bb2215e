#include "skiff/agent/dns/node_local_dns.h"

#include "skiff/agent/dns/resolv_conf.h"
#include "skiff/common/ipv4_cidr.h"
#include "skiff/common/log.h"

namespace skiff::agent::dns {

using skiff::log::kv;

Result<std::string> gatewayOf(const std::string& cidr) {
  auto gw = ipv4CidrAddress(cidr, 1, 30);
  if (!gw) return Error(ErrorCode::Invalid, "pod CIDR '" + cidr + "': want an IPv4 /1../30");
  return *gw;
}

Result<void> NodeLocalDns::listenFor(const std::string& pod_cidr) {
  std::lock_guard lk(mu_);
  if (server_ && pod_cidr == cidr_) return ok();
  SKIFF_ASSIGN_OR_RETURN(std::string gw, gatewayOf(pod_cidr));
  auto lg = skiff::log::get("agent");
  DnsServerOptions so;
  so.listen_address = gw;
  so.port = o_.port;
  so.metrics_port = o_.metrics_port;
  so.responder.ttl = o_.ttl;
  auto rc = loadHostResolvConf(o_.resolv_conf);
  if (!rc) {
    SKIFF_LOG_WARN(lg, "No upstream resolvers for cluster DNS, ignoring",
                   kv("resolvConf", o_.resolv_conf), kv("err", rc.error().message()));
  } else {
    std::vector<std::string> own = o_.cluster_dns, dropped;
    own.push_back(gw);
    so.upstreams = upstreamsFrom(*rc, own, &dropped);
    for (const auto& d : dropped) {
      SKIFF_LOG_WARN(lg, "Upstream resolver is the cluster DNS itself (a loop), skipping",
                     kv("upstream", d), kv("resolvConf", o_.resolv_conf));
    }
  }
  if (server_) server_->stop();
  server_.reset();
  auto index = index_ ? index_ : RecordIndex::build({}, {}, o_.cluster_domain, o_.ttl);
  SKIFF_ASSIGN_OR_RETURN(server_, startDnsServer(so, index));
  cidr_ = pod_cidr;
  address_ = gw;
  SKIFF_LOG_INFO(lg, "Cluster DNS serving", kv("address", gw), kv("port", server_->port()),
                 kv("metricsPort", server_->metricsPort()), kv("upstreams", so.upstreams.size()));
  return ok();
}

void NodeLocalDns::update(const std::vector<nlohmann::json>& services,
                          const std::vector<nlohmann::json>& slices) {
  auto idx = RecordIndex::build(services, slices, o_.cluster_domain, o_.ttl);
  std::lock_guard lk(mu_);
  index_ = idx;
  if (server_) server_->setIndex(std::move(idx));
}

std::optional<nlohmann::json> NodeLocalDns::localEndpointSlice(const std::string& node) const {
  std::lock_guard lk(mu_);
  if (!server_) return std::nullopt;
  using nlohmann::json;
  return json{
      {"apiVersion", "discovery.k8s.io/v1"},
      {"kind", "EndpointSlice"},
      {"metadata",
       {{"name", "kube-dns-node-local"},
        {"namespace", "kube-system"},
        {"labels",
         {{"kubernetes.io/service-name", "kube-dns"},
          {"endpointslice.kubernetes.io/managed-by", "skiff-agent"}}}}},
      {"addressType", "IPv4"},
      {"endpoints", json::array({{{"addresses", json::array({address_})},
                                  {"conditions", {{"ready", true}, {"serving", true}}},
                                  {"nodeName", node}}})},
      {"ports",
       json::array(
           {{{"name", "dns"}, {"port", server_->port()}, {"protocol", "UDP"}},
            {{"name", "dns-tcp"}, {"port", server_->port()}, {"protocol", "TCP"}},
            {{"name", "metrics"}, {"port", server_->metricsPort()}, {"protocol", "TCP"}}})}};
}

}  // namespace skiff::agent::dns
