#include "kube_dns_service.h"

#include "skiff/common/ipv4_cidr.h"

namespace skiff::master {

namespace {
const json kPorts = json::array({
    {{"name", "dns"}, {"port", 53}, {"protocol", "UDP"}, {"targetPort", 53}},
    {{"name", "dns-tcp"}, {"port", 53}, {"protocol", "TCP"}, {"targetPort", 53}},
    {{"name", "metrics"}, {"port", 9153}, {"protocol", "TCP"}, {"targetPort", 9153}},
});
const json kLabels = {{"k8s-app", "kube-dns"},
                      {"kubernetes.io/cluster-service", "true"},
                      {"kubernetes.io/name", "CoreDNS"}};
}  // namespace

Result<std::string> clusterDnsIpFor(const std::string& service_cidr) {
  auto ip = ipv4CidrAddress(service_cidr, 10, 28);
  if (!ip) {
    return Error(ErrorCode::Invalid, "service CIDR '" + service_cidr + "': want an IPv4 /1../28");
  }
  return *ip;
}

Result<void> ensureKubeDnsService(ApiClient& client, const std::string& cluster_ip) {
  auto cur = client.get(gvr::kServices, "kube-system", "kube-dns");
  if (!cur) {
    if (cur.error().code() != ErrorCode::NotFound)
      return std::move(cur).error().wrap("read service 'kube-system/kube-dns'");
    json svc = {
        {"apiVersion", "v1"},
        {"kind", "Service"},
        {"metadata", {{"name", "kube-dns"}, {"namespace", "kube-system"}, {"labels", kLabels}}},
        {"spec",
         {{"type", "ClusterIP"},
          {"clusterIP", cluster_ip},
          {"clusterIPs", json::array({cluster_ip})},
          {"ports", kPorts}}}};
    auto made = client.create(gvr::kServices, "kube-system", svc);
    if (!made && made.error().code() != ErrorCode::AlreadyExists)
      return std::move(made).error().wrap("create service 'kube-system/kube-dns'");
    return ok();
  }
  json svc = *cur;
  bool changed = false;
  json& labels = svc["metadata"]["labels"];
  if (!labels.is_object()) labels = json::object();
  for (const auto& [k, v] : kLabels.items()) {
    if (labels.value(k, json()) != v) {
      labels[k] = v;
      changed = true;
    }
  }
  json& ports = svc["spec"]["ports"];
  for (const auto& want : kPorts) {
    bool found = false;
    for (auto& p : ports) {
      if (p.value("name", json()) != want["name"]) continue;
      found = true;
      for (const char* f : {"port", "protocol", "targetPort"}) {
        if (p.value(f, json()) != want[f]) {
          p[f] = want[f];
          changed = true;
        }
      }
    }
    if (!found) {
      ports.push_back(want);
      changed = true;
    }
  }
  if (!changed) return ok();
  auto upd = client.update(gvr::kServices, "kube-system", svc);
  if (!upd) return std::move(upd).error().wrap("update service 'kube-system/kube-dns'");
  return ok();
}

}  // namespace skiff::master
