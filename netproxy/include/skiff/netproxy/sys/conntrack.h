#pragma once

#include <cstddef>
#include <memory>
#include <optional>

#include "skiff/common/result.h"
#include "skiff/netproxy/ipv4.h"
#include "skiff/netproxy/rule.h"

namespace skiff::netproxy::sys {

// Which conntrack entries to delete; unset fields match anything. kube-proxy clears UDP flows
// to removed endpoints (`conntrack -D -p udp --orig-dst <clusterIP> --dst-nat <endpointIP>`),
// since UDP has no FIN and the stale DNAT would blackhole the "connection" forever.
struct ConntrackFilter {
  Protocol protocol = Protocol::Udp;
  std::optional<Ipv4> orig_dst;
  std::optional<uint16_t> orig_dport;
  std::optional<Ipv4> reply_src;  // the DNAT destination (endpoint IP)
};

// Conntrack deletion over a raw NETLINK_NETFILTER socket (ctnetlink) built with libnl-3 core:
// libnetfilter_conntrack is not one of skiff's dependencies, and the kernel interface we need is
// two messages (dump, delete by tuple). Acts on the calling thread's network namespace.
class Conntrack {
 public:
  virtual ~Conntrack() = default;
  // Deletes every IPv4 entry matching `filter`; returns how many were deleted (0 is not an
  // error: entries may expire concurrently).
  virtual Result<std::size_t> deleteEntries(const ConntrackFilter& filter) = 0;
};

std::unique_ptr<Conntrack> makeNetlinkConntrack();

}  // namespace skiff::netproxy::sys
