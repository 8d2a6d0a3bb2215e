#pragma once

#include <string>
#include <vector>

#include "skiff/common/result.h"

namespace skiff::agent::dns {

// The parts of resolv.conf(5) the kubelet reads (pkg/kubelet/network/dns/dns.go parseResolvConf):
// nameserver, search (trailing dots dropped, "." skipped), options; later `search` lines replace
// earlier ones as in glibc. `domain` is treated as a one-entry search line, as glibc does.
struct ResolvConf {
  std::vector<std::string> nameservers;
  std::vector<std::string> searches;
  std::vector<std::string> options;
};
ResolvConf parseResolvConf(const std::string& text);

// The resolv.conf whose nameservers pods and the forwarder can use: `path`, or, when that lists
// only the systemd-resolved stub (127.0.0.53), /run/systemd/resolve/resolv.conf (under `root`),
// as the kubelet's --resolv-conf and CoreDNS's forward plugin are pointed at on such hosts.
// An unreadable file -> NotFound/Internal.
Result<ResolvConf> loadHostResolvConf(const std::string& path, const std::string& root = "");

// Upstream resolvers for the forwarder: the nameservers of `rc` minus any that is the cluster
// DNS itself (`own`, e.g. 10.96.0.10 or this server's listen address): forwarding to ourselves
// would loop. `dropped` receives the removed ones, for the caller to log.
std::vector<std::string> upstreamsFrom(const ResolvConf& rc, const std::vector<std::string>& own,
                                       std::vector<std::string>* dropped);

}  // namespace skiff::agent::dns
