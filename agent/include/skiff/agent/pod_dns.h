#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "skiff/agent/dns/resolv_conf.h"

namespace skiff::agent {

// A kubelet event the DNS configuration of a pod raises (type, reason, message).
struct PodDnsEvent {
  std::string type;
  std::string reason;
  std::string message;
};

struct PodDnsFiles {
  std::string resolv_conf;
  std::vector<PodDnsEvent> events;
};

// The pod's /etc/resolv.conf exactly as the kubelet (pkg/kubelet/network/dns/dns.go GetPodDNS)
// forms it and containerd writes it (search, nameserver..., options):
//   ClusterFirst (default; Default behaviour for hostNetwork pods), ClusterFirstWithHostNet:
//     nameserver <clusterDNS...>, search <ns>.svc.<domain> svc.<domain> <domain> + host
//     searches (duplicates omitted), options ndots:5; no clusterDNS -> Default with the
//     MissingClusterDNS event
//   Default: the host's nameservers, searches and options (`host`)
//   None: only spec.dnsConfig
// then spec.dnsConfig appended (nameservers and searches without duplicates, options merged by
// name, dnsConfig winning), then the kubelet's limits: 3 nameservers, 32 search domains, each at
// most 253 characters, 2048 characters in all; a cut raises DNSConfigForming.
PodDnsFiles podResolvConf(const nlohmann::json& pod, const std::vector<std::string>& cluster_dns,
                          const std::string& cluster_domain, const dns::ResolvConf& host);

// kubelet GeneratePodHostNameAndDomain: spec.hostname or the pod name, cut to 63 characters
// (trailing '-' and '.' removed); the domain is <subdomain>.<ns>.svc.<domain> with a subdomain.
std::pair<std::string, std::string> podHostnameAndDomain(const nlohmann::json& pod,
                                                         const std::string& cluster_domain);
// The UTS hostname: the FQDN with setHostnameAsFQDN and a domain, else the short name.
std::string podUtsHostname(const nlohmann::json& pod, const std::string& cluster_domain);

// /etc/hosts as the kubelet writes it (managedHostsFileContent): the localhost block, one line
// per pod IP (`ip<TAB>host.domain<TAB>host` with a subdomain, else `ip<TAB>host`), then
// "# Entries added by HostAliases." lines. hostNetwork pods get the node's hosts file
// (`node_hosts`) under the host-network header, plus the aliases.
std::string podHostsFile(const nlohmann::json& pod, const std::vector<std::string>& pod_ips,
                         const std::string& cluster_domain, const std::string& node_hosts);

}  // namespace skiff::agent
