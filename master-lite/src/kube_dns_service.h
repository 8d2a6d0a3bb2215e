#pragma once

#include <string>

#include "skiff/common/result.h"
#include "skiff/master/client/api_client.h"

namespace skiff::master {

// The cluster DNS address kubeadm picks: the 10th address of the Service CIDR (10.96.0.10 for
// the default 10.96.0.0/12). Invalid CIDR -> Invalid.
Result<std::string> clusterDnsIpFor(const std::string& service_cidr);

// Creates or reconciles kube-system/kube-dns, the Service through which pods reach the
// node-local DNS server every skiff-agent runs: ClusterIP `cluster_ip`, ports dns 53/UDP,
// dns-tcp 53/TCP, metrics 9153/TCP, labels k8s-app=kube-dns, kubernetes.io/cluster-service=true
// and kubernetes.io/name=CoreDNS, as kubeadm's CoreDNS addon names it, so tools that look for
// the cluster DNS find it. No selector: no endpoint controller touches it; each agent sends the
// Service's traffic to its own server. Idempotent: an existing Service with drifted ports or
// labels is updated in place (its ClusterIP is immutable and left as it is).
Result<void> ensureKubeDnsService(ApiClient& client, const std::string& cluster_ip);

}  // namespace skiff::master
