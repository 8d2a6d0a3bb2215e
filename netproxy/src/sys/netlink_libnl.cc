// The libnl-3 route implementation of the netlink seam (STYLE.md example 7: Mesos'
// routing/link). Objects are owned by unique_ptrs with libnl deleters; errors carry the libnl
// error text and the object's name.

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <memory>

#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>

#include <fmt/format.h>

#include "libnl_ptr.h"
#include "skiff/common/unique_fd.h"
#include "skiff/netproxy/sys/netlink.h"

namespace skiff::netproxy::sys {

namespace {

using RtnlLink = LibnlPtr<rtnl_link, rtnl_link_put>;
using RtnlAddr = LibnlPtr<rtnl_addr, rtnl_addr_put>;
using NlAddr = LibnlPtr<nl_addr, nl_addr_put>;
using RtnlRoute = LibnlPtr<rtnl_route, rtnl_route_put>;
using NlCache = LibnlPtr<nl_cache, nl_cache_free>;

// The libnl errors callers tell apart, as an error code and errno; the others are Internal.
struct NlErrorMeaning {
  int nle;
  ErrorCode code;
  int sys;
};
constexpr NlErrorMeaning kNlErrorMeanings[] = {
    {NLE_EXIST, ErrorCode::AlreadyExists, EEXIST}, {NLE_OBJ_NOTFOUND, ErrorCode::NotFound, ENODEV},
    {NLE_NODEV, ErrorCode::NotFound, ENODEV},      {NLE_PERM, ErrorCode::Forbidden, EPERM},
    {NLE_INVAL, ErrorCode::Invalid, EINVAL},       {NLE_BUSY, ErrorCode::Conflict, EBUSY},
};

Error nlError(int err, std::string what) {
  ErrorCode code = ErrorCode::Internal;
  int sys = 0;
  for (const NlErrorMeaning& m : kNlErrorMeanings) {
    if (m.nle == -err) {
      code = m.code;
      sys = m.sys;
    }
  }
  return Error(code, sys, fmt::format("{}: {}", what, nl_geterror(err)));
}

NlAddr ipv4Addr(Ipv4 ip, int prefix) {
  uint32_t be = htonl(ip.value);
  NlAddr a(nl_addr_build(AF_INET, &be, sizeof be));
  if (a) nl_addr_set_prefixlen(a.get(), prefix);
  return a;
}

// Runs fn with the calling thread switched into `netns` (if given), then switches back.
template <typename F>
auto inNetns(int netns_fd, F fn) -> decltype(fn()) {
  if (netns_fd < 0) return fn();
  UniqueFd home(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!home) return Error::fromErrno(errno, "open current network namespace");
  if (::setns(netns_fd, CLONE_NEWNET) != 0)
    return Error::fromErrno(errno, "enter network namespace");
  auto r = fn();
  if (::setns(home.get(), CLONE_NEWNET) != 0) {
    // Staying in the wrong namespace would send every later call to the wrong place.
    SKIFF_CHECK_MSG(false, "cannot return to the original network namespace");
  }
  return r;
}

class LibnlNetlink final : public Netlink {
 public:
  LibnlNetlink(NlSocket sk, UniqueFd netns) : sk_(std::move(sk)), netns_(std::move(netns)) {}

  Result<std::optional<LinkInfo>> getLink(const std::string& name) override {
    rtnl_link* raw = nullptr;
    int err = rtnl_link_get_kernel(sk_.get(), 0, name.c_str(), &raw);
    if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV) return std::optional<LinkInfo>();
    if (err < 0) return nlError(err, fmt::format("get link '{}'", name));
    RtnlLink l(raw);
    LinkInfo info;
    info.name = name;
    info.index = rtnl_link_get_ifindex(l.get());
    const char* type = rtnl_link_get_type(l.get());
    info.kind = type ? type : "";
    info.up = (rtnl_link_get_flags(l.get()) & IFF_UP) != 0;
    info.master = rtnl_link_get_master(l.get());
    return std::optional<LinkInfo>(info);
  }

  Result<bool> createBridge(const std::string& name) override {
    SKIFF_ASSIGN_OR_RETURN(auto existing, getLink(name));
    if (existing) return false;
    RtnlLink l(rtnl_link_bridge_alloc());
    rtnl_link_set_name(l.get(), name.c_str());
    int err = rtnl_link_add(sk_.get(), l.get(), NLM_F_CREATE | NLM_F_EXCL);
    if (err == -NLE_EXIST) return false;
    if (err < 0) return nlError(err, fmt::format("create bridge '{}'", name));
    return true;
  }

  Result<bool> createDummy(const std::string& name) override {
    SKIFF_ASSIGN_OR_RETURN(auto existing, getLink(name));
    if (existing) return false;
    RtnlLink l(rtnl_link_alloc());
    rtnl_link_set_name(l.get(), name.c_str());
    if (int err = rtnl_link_set_type(l.get(), "dummy"); err < 0)
      return nlError(err, fmt::format("create dummy '{}'", name));
    int err = rtnl_link_add(sk_.get(), l.get(), NLM_F_CREATE | NLM_F_EXCL);
    if (err == -NLE_EXIST) return false;
    if (err < 0) return nlError(err, fmt::format("create dummy '{}'", name));
    return true;
  }

  Result<void> createVeth(const VethPair& pair) override {
    const std::string what = fmt::format("create veth '{}' peer '{}'", pair.name, pair.peer);
    UniqueFd peer_ns;
    if (!pair.peer_netns.empty()) {
      peer_ns = UniqueFd(::open(pair.peer_netns.c_str(), O_RDONLY | O_CLOEXEC));
      if (!peer_ns) {
        return Error::fromErrno(
            errno, fmt::format("{}: open network namespace '{}'", what, pair.peer_netns));
      }
    }
    int master = 0;
    if (!pair.master.empty()) {
      SKIFF_ASSIGN_OR_RETURN(auto br, getLink(pair.master));
      if (!br)
        return Error(ErrorCode::NotFound, fmt::format("{}: no bridge '{}'", what, pair.master));
      master = br->index;
    }
    RtnlLink l(rtnl_link_veth_alloc());
    if (!l) return Error(ErrorCode::Internal, what + ": out of memory");
    RtnlLink p(rtnl_link_veth_get_peer(l.get()));
    rtnl_link_set_name(l.get(), pair.name.c_str());
    rtnl_link_set_name(p.get(), pair.peer.c_str());
    for (rtnl_link* end : {l.get(), p.get()}) {
      if (pair.mtu > 0) rtnl_link_set_mtu(end, static_cast<unsigned>(pair.mtu));
      // One queue each way, asked for up front: otherwise veth trims its per-CPU default after
      // registering each end, an expedited RCU sync under the rtnl lock every time.
      rtnl_link_set_num_tx_queues(end, 1);
      rtnl_link_set_num_rx_queues(end, 1);
    }
    if (peer_ns) rtnl_link_set_ns_fd(p.get(), peer_ns.get());
    if (master != 0) rtnl_link_set_master(l.get(), master);
    if (pair.up) rtnl_link_set_flags(l.get(), IFF_UP);
    int err = rtnl_link_add(sk_.get(), l.get(), NLM_F_CREATE | NLM_F_EXCL);
    if (err < 0) return nlError(err, what);
    return ok();
  }

  Result<bool> deleteLink(const std::string& name) override {
    RtnlLink l(rtnl_link_alloc());
    rtnl_link_set_name(l.get(), name.c_str());
    int err = rtnl_link_delete(sk_.get(), l.get());
    if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV) return false;
    if (err < 0) return nlError(err, fmt::format("delete link '{}'", name));
    return true;
  }

  Result<void> setUp(const std::string& name) override {
    return change(name, "set link up", [](rtnl_link* c) { rtnl_link_set_flags(c, IFF_UP); });
  }

  Result<void> setHairpin(const std::string& name, bool on) override {
    // `ip link set X type bridge_slave hairpin on`: IFLA_LINKINFO { INFO_SLAVE_KIND "bridge",
    // INFO_SLAVE_DATA { IFLA_BRPORT_MODE } }. libnl has no builder for slave data.
    SKIFF_ASSIGN_OR_RETURN(auto link, getLink(name));
    if (!link)
      return Error(ErrorCode::NotFound, fmt::format("set hairpin on '{}': no such link", name));
    NlMsg msg(nlmsg_alloc_simple(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK));
    ifinfomsg ifi{};
    ifi.ifi_family = AF_UNSPEC;
    ifi.ifi_index = link->index;
    if (nlmsg_append(msg.get(), &ifi, sizeof ifi, NLMSG_ALIGNTO) < 0) {
      return Error(ErrorCode::Internal, "set hairpin: build message");
    }
    nlattr* info = nla_nest_start(msg.get(), IFLA_LINKINFO);
    nla_put_string(msg.get(), IFLA_INFO_SLAVE_KIND, "bridge");
    nlattr* data = nla_nest_start(msg.get(), IFLA_INFO_SLAVE_DATA);
    nla_put_u8(msg.get(), IFLA_BRPORT_MODE, on ? 1 : 0);
    nla_nest_end(msg.get(), data);
    nla_nest_end(msg.get(), info);
    int err = nl_send_sync(sk_.get(), msg.release());
    if (err < 0) return nlError(err, fmt::format("set hairpin on '{}'", name));
    return ok();
  }

  Result<bool> addAddress(const std::string& name, const Cidr& address) override {
    SKIFF_ASSIGN_OR_RETURN(auto existing, listAddresses(name));
    for (const Cidr& c : existing) {
      if (c.addr == address.addr && c.prefix == address.prefix) return false;
    }
    SKIFF_ASSIGN_OR_RETURN(auto link, getLink(name));
    if (!link)
      return Error(ErrorCode::NotFound, fmt::format("add address to '{}': no such link", name));
    RtnlAddr a(rtnl_addr_alloc());
    rtnl_addr_set_ifindex(a.get(), link->index);
    NlAddr local = ipv4Addr(address.addr, address.prefix);
    rtnl_addr_set_local(a.get(), local.get());
    rtnl_addr_set_prefixlen(a.get(), address.prefix);
    if (address.prefix < 31) {
      NlAddr bcast = ipv4Addr(address.broadcast(), 32);
      rtnl_addr_set_broadcast(a.get(), bcast.get());
    }
    int err = rtnl_addr_add(sk_.get(), a.get(), 0);
    if (err == -NLE_EXIST) return false;
    if (err < 0) return nlError(err, fmt::format("add address {} to '{}'", address.str(), name));
    return true;
  }

  Result<std::vector<Cidr>> listAddresses(const std::string& name) override {
    SKIFF_ASSIGN_OR_RETURN(auto link, getLink(name));
    if (!link)
      return Error(ErrorCode::NotFound, fmt::format("list addresses of '{}': no such link", name));
    nl_cache* raw = nullptr;
    int err = rtnl_addr_alloc_cache(sk_.get(), &raw);
    if (err < 0) return nlError(err, "list addresses");
    NlCache cache(raw);
    std::vector<Cidr> out;
    for (nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
      auto* a = reinterpret_cast<rtnl_addr*>(o);
      if (rtnl_addr_get_ifindex(a) != link->index || rtnl_addr_get_family(a) != AF_INET) continue;
      nl_addr* local = rtnl_addr_get_local(a);
      if (!local || nl_addr_get_len(local) != 4) continue;
      uint32_t be;
      std::memcpy(&be, nl_addr_get_binary_addr(local), 4);
      out.push_back(Cidr{{ntohl(be)}, rtnl_addr_get_prefixlen(a)});
    }
    return out;
  }

  Result<bool> deleteAddress(const std::string& name, const Cidr& address) override {
    SKIFF_ASSIGN_OR_RETURN(auto link, getLink(name));
    if (!link)
      return Error(ErrorCode::NotFound,
                   fmt::format("delete address from '{}': no such link", name));
    RtnlAddr a(rtnl_addr_alloc());
    rtnl_addr_set_ifindex(a.get(), link->index);
    NlAddr local = ipv4Addr(address.addr, address.prefix);
    rtnl_addr_set_local(a.get(), local.get());
    rtnl_addr_set_prefixlen(a.get(), address.prefix);
    int err = rtnl_addr_delete(sk_.get(), a.get(), 0);
    if (err == -NLE_NOADDR || err == -NLE_OBJ_NOTFOUND) return false;
    if (err < 0)
      return nlError(err, fmt::format("delete address {} from '{}'", address.str(), name));
    return true;
  }

  Result<void> replaceRoute(const Route& r) override {
    SKIFF_ASSIGN_OR_RETURN(RtnlRoute route, build(r));
    int err = rtnl_route_add(sk_.get(), route.get(), NLM_F_CREATE | NLM_F_REPLACE);
    if (err < 0) return nlError(err, fmt::format("replace route to {}", r.dst.str()));
    return ok();
  }

  Result<bool> deleteRoute(const Route& r) override {
    SKIFF_ASSIGN_OR_RETURN(RtnlRoute route, build(r));
    int err = rtnl_route_delete(sk_.get(), route.get(), 0);
    if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NOADDR) return false;
    if (err < 0) return nlError(err, fmt::format("delete route to {}", r.dst.str()));
    return true;
  }

  Result<std::vector<Route>> listRoutes(int protocol) override {
    nl_cache* raw = nullptr;
    int err = rtnl_route_alloc_cache(sk_.get(), AF_INET, 0, &raw);
    if (err < 0) return nlError(err, "list routes");
    NlCache cache(raw);
    nl_cache* lraw = nullptr;
    err = rtnl_link_alloc_cache(sk_.get(), AF_UNSPEC, &lraw);
    if (err < 0) return nlError(err, "list links");
    NlCache links(lraw);
    std::vector<Route> out;
    for (nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
      auto* rt = reinterpret_cast<rtnl_route*>(o);
      if (rtnl_route_get_table(rt) != RT_TABLE_MAIN) continue;
      if (protocol >= 0 && rtnl_route_get_protocol(rt) != protocol) continue;
      Route r;
      r.protocol = rtnl_route_get_protocol(rt);
      nl_addr* dst = rtnl_route_get_dst(rt);
      uint32_t be = 0;
      if (dst && nl_addr_get_len(dst) == 4) std::memcpy(&be, nl_addr_get_binary_addr(dst), 4);
      r.dst = Cidr{{ntohl(be)}, dst ? static_cast<int>(nl_addr_get_prefixlen(dst)) : 0};
      if (rtnl_route_get_nnexthops(rt) > 0) {
        rtnl_nexthop* nh = rtnl_route_nexthop_n(rt, 0);
        if (nl_addr* gw = rtnl_route_nh_get_gateway(nh); gw && nl_addr_get_len(gw) == 4) {
          std::memcpy(&be, nl_addr_get_binary_addr(gw), 4);
          r.gateway = Ipv4{ntohl(be)};
        }
        char name[IFNAMSIZ] = {};
        if (rtnl_link_i2name(links.get(), rtnl_route_nh_get_ifindex(nh), name, sizeof name)) {
          r.dev = name;
        }
      }
      out.push_back(std::move(r));
    }
    return out;
  }

  Result<void> writeSysctl(const std::string& key, const std::string& value) override {
    if (key.find("..") != std::string::npos || key.empty() || key[0] == '/') {
      return Error(ErrorCode::Invalid, fmt::format("write sysctl '{}': bad key", key));
    }
    // /proc/sys/net is per network namespace, resolved at open time from the opening thread.
    return inNetns(netns_.get(), [&]() -> Result<void> {
      std::string path = "/proc/sys/" + key;
      UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
      if (!fd) return Error::fromErrno(errno, fmt::format("open sysctl '{}'", key));
      if (::write(fd.get(), value.data(), value.size()) != static_cast<ssize_t>(value.size())) {
        return Error::fromErrno(errno, fmt::format("write sysctl '{}'", key));
      }
      return ok();
    });
  }

 private:
  template <typename F>
  Result<void> change(const std::string& name, const char* what, F set) {
    rtnl_link* raw = nullptr;
    int err = rtnl_link_get_kernel(sk_.get(), 0, name.c_str(), &raw);
    if (err < 0) return nlError(err, fmt::format("{} '{}'", what, name));
    RtnlLink orig(raw);
    RtnlLink c(rtnl_link_alloc());
    set(c.get());
    err = rtnl_link_change(sk_.get(), orig.get(), c.get(), 0);
    if (err < 0) return nlError(err, fmt::format("{} '{}'", what, name));
    return ok();
  }

  Result<RtnlRoute> build(const Route& r) {
    RtnlRoute route(rtnl_route_alloc());
    rtnl_route_set_family(route.get(), AF_INET);
    rtnl_route_set_table(route.get(), RT_TABLE_MAIN);
    rtnl_route_set_protocol(route.get(), static_cast<uint8_t>(r.protocol));
    rtnl_route_set_scope(route.get(), r.gateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK);
    NlAddr dst = ipv4Addr(r.dst.network(), r.dst.prefix);
    rtnl_route_set_dst(route.get(), dst.get());
    rtnl_nexthop* nh = rtnl_route_nh_alloc();
    if (r.gateway) {
      NlAddr gw = ipv4Addr(*r.gateway, 32);
      rtnl_route_nh_set_gateway(nh, gw.get());
    }
    if (!r.dev.empty()) {
      auto link = getLink(r.dev);
      if (!link) {
        rtnl_route_nh_free(nh);
        return std::move(link).error();
      }
      if (!*link) {
        rtnl_route_nh_free(nh);
        return Error(ErrorCode::NotFound, fmt::format("route via '{}': no such link", r.dev));
      }
      rtnl_route_nh_set_ifindex(nh, (*link)->index);
    }
    rtnl_route_add_nexthop(route.get(), nh);
    return route;
  }

  NlSocket sk_;
  UniqueFd netns_;
};

}  // namespace

Result<std::unique_ptr<Netlink>> makeLibnlNetlink(const std::string& netns_path) {
  UniqueFd ns;
  if (!netns_path.empty()) {
    ns.reset(::open(netns_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns) return Error::fromErrno(errno, fmt::format("open network namespace '{}'", netns_path));
  }
  // A netlink socket talks to the namespace it was created in, whatever the thread does later.
  auto sk = inNetns(ns.get(), [&]() -> Result<NlSocket> {
    NlSocket s(nl_socket_alloc());
    if (!s) return Error(ErrorCode::Internal, "allocate netlink socket");
    int err = nl_connect(s.get(), NETLINK_ROUTE);
    if (err < 0) return nlError(err, "connect rtnetlink");
    return s;
  });
  if (!sk) return std::move(sk).error();
  return std::unique_ptr<Netlink>(new LibnlNetlink(std::move(*sk), std::move(ns)));
}

}  // namespace skiff::netproxy::sys
