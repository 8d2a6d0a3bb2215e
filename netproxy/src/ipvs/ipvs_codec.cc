// IPVS generic-netlink messages through libnl's message and attribute builders and parsers.
#include "skiff/netproxy/ipvs/ipvs_codec.h"

#include <arpa/inet.h>
#include <linux/ip_vs.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <memory>

#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>

#include "../sys/libnl_ptr.h"

namespace skiff::netproxy::ipvs {
namespace {

using sys::NlMsg;

constexpr int kAddrLen = 16;  // sizeof(union nf_inet_addr)

uint16_t protoNumber(Protocol p) { return p == Protocol::Udp ? IPPROTO_UDP : IPPROTO_TCP; }

void putAddr(nl_msg* m, int type, Ipv4 ip) {
  unsigned char addr[kAddrLen] = {};
  uint32_t be = htonl(ip.value);
  std::memcpy(addr, &be, sizeof be);
  nla_put(m, type, kAddrLen, addr);
}

void putServiceKey(nl_msg* m, const VirtualServer& vs) {
  nla_put_u16(m, IPVS_SVC_ATTR_AF, AF_INET);
  nla_put_u16(m, IPVS_SVC_ATTR_PROTOCOL, protoNumber(vs.protocol));
  putAddr(m, IPVS_SVC_ATTR_ADDR, vs.addr);
  nla_put_u16(m, IPVS_SVC_ATTR_PORT, htons(vs.port));
}

void putService(nl_msg* m, const VirtualServer& vs, bool full) {
  nlattr* nest = nla_nest_start(m, IPVS_CMD_ATTR_SERVICE);
  putServiceKey(m, vs);
  if (full) {
    // The kernel wants the whole entry on NEW/SET: scheduler, flags, timeout and netmask.
    nla_put_string(m, IPVS_SVC_ATTR_SCHED_NAME, vs.scheduler.c_str());
    ip_vs_flags flags{vs.flags, ~0u};
    nla_put(m, IPVS_SVC_ATTR_FLAGS, sizeof flags, &flags);
    nla_put_u32(m, IPVS_SVC_ATTR_TIMEOUT, vs.timeout);
    nla_put_u32(m, IPVS_SVC_ATTR_NETMASK, vs.netmask);
  }
  nla_nest_end(m, nest);
}

void putDestination(nl_msg* m, const RealServer& rs, bool full) {
  nlattr* nest = nla_nest_start(m, IPVS_CMD_ATTR_DEST);
  putAddr(m, IPVS_DEST_ATTR_ADDR, rs.addr);
  nla_put_u16(m, IPVS_DEST_ATTR_PORT, htons(rs.port));
  if (full) {
    nla_put_u32(m, IPVS_DEST_ATTR_FWD_METHOD, rs.forward);
    nla_put_u32(m, IPVS_DEST_ATTR_WEIGHT, rs.weight);
    nla_put_u32(m, IPVS_DEST_ATTR_U_THRESH, rs.upper_threshold);
    nla_put_u32(m, IPVS_DEST_ATTR_L_THRESH, rs.lower_threshold);
    nla_put_u16(m, IPVS_DEST_ATTR_ADDR_FAMILY, AF_INET);
  }
  nla_nest_end(m, nest);
}

Error bad(const std::string& what) {
  return Error(ErrorCode::Invalid, "malformed IPVS netlink reply: " + what);
}

// The generic-netlink header and top-level attributes of a reply of command `want`.
Result<const nlmsghdr*> checkHeader(const std::string& msg, uint8_t want) {
  if (msg.size() < NLMSG_HDRLEN + GENL_HDRLEN) return bad("short message");
  const auto* nlh = reinterpret_cast<const nlmsghdr*>(msg.data());
  if (nlh->nlmsg_len > msg.size() || nlh->nlmsg_len < NLMSG_HDRLEN + GENL_HDRLEN)
    return bad("length " + std::to_string(nlh->nlmsg_len) + " beyond the message");
  const auto* gh = static_cast<const genlmsghdr*>(nlmsg_data(nlh));
  if (gh->cmd != want) return bad("command " + std::to_string(gh->cmd));
  return nlh;
}

// The nested attribute `outer` of a reply, parsed into tb (max index `max`).
Result<void> parseNested(const std::string& msg, uint8_t cmd, int outer, nlattr** tb, int max) {
  SKIFF_ASSIGN_OR_RETURN(auto nlh, checkHeader(msg, cmd));
  nlattr* top[IPVS_CMD_ATTR_MAX + 1] = {};
  if (genlmsg_parse(const_cast<nlmsghdr*>(nlh), 0, top, IPVS_CMD_ATTR_MAX, nullptr) < 0)
    return bad("attributes");
  if (top[outer] == nullptr) return bad("no nested attribute " + std::to_string(outer));
  if (nla_parse_nested(tb, max, top[outer], nullptr) < 0) return bad("nested attributes");
  return ok();
}

Result<uint16_t> u16(nlattr* a, const char* name) {
  if (a == nullptr || nla_len(a) < 2) return bad(std::string("missing ") + name);
  return nla_get_u16(a);
}
Result<uint32_t> u32(nlattr* a, const char* name) {
  if (a == nullptr || nla_len(a) < 4) return bad(std::string("missing ") + name);
  return nla_get_u32(a);
}
Result<Ipv4> addr(nlattr* a, const char* name) {
  if (a == nullptr || nla_len(a) < 4) return bad(std::string("missing ") + name);
  uint32_t be;
  std::memcpy(&be, nla_data(a), sizeof be);
  return Ipv4{ntohl(be)};
}

}  // namespace

std::string encodeRequest(uint16_t family, uint8_t cmd, uint32_t seq, const VirtualServer* vs,
                          const RealServer* rs) {
  NlMsg m(nlmsg_alloc());
  bool dump = cmd == IPVS_CMD_GET_SERVICE || cmd == IPVS_CMD_GET_DEST;
  // Sent as is (nl_sendto), so NLM_F_REQUEST is ours to set.
  int flags = NLM_F_REQUEST | (dump ? NLM_F_DUMP : NLM_F_ACK);
  genlmsg_put(m.get(), NL_AUTO_PORT, seq, family, 0, flags, cmd, IPVS_GENL_VERSION);
  bool full_service = cmd == IPVS_CMD_NEW_SERVICE || cmd == IPVS_CMD_SET_SERVICE;
  bool full_dest = cmd == IPVS_CMD_NEW_DEST || cmd == IPVS_CMD_SET_DEST;
  if (vs != nullptr) putService(m.get(), *vs, full_service);
  if (rs != nullptr) putDestination(m.get(), *rs, full_dest);
  const nlmsghdr* h = nlmsg_hdr(m.get());
  return std::string(reinterpret_cast<const char*>(h), h->nlmsg_len);
}

Result<int> decodeAck(const std::string& msg) {
  if (msg.size() < NLMSG_HDRLEN + sizeof(nlmsgerr)) return bad("short ack");
  const auto* nlh = reinterpret_cast<const nlmsghdr*>(msg.data());
  if (nlh->nlmsg_type != NLMSG_ERROR) return bad("not an ack");
  const auto* e = static_cast<const nlmsgerr*>(nlmsg_data(nlh));
  return -e->error;
}

Result<VirtualServer> decodeService(const std::string& msg) {
  nlattr* tb[IPVS_SVC_ATTR_MAX + 1] = {};
  SKIFF_TRY(parseNested(msg, IPVS_CMD_NEW_SERVICE, IPVS_CMD_ATTR_SERVICE, tb, IPVS_SVC_ATTR_MAX));
  VirtualServer vs;
  SKIFF_ASSIGN_OR_RETURN(auto af, u16(tb[IPVS_SVC_ATTR_AF], "af"));
  if (af != AF_INET) return bad("address family " + std::to_string(af));
  SKIFF_ASSIGN_OR_RETURN(auto proto, u16(tb[IPVS_SVC_ATTR_PROTOCOL], "protocol"));
  if (proto != IPPROTO_TCP && proto != IPPROTO_UDP) return bad("protocol " + std::to_string(proto));
  vs.protocol = proto == IPPROTO_UDP ? Protocol::Udp : Protocol::Tcp;
  SKIFF_ASSIGN_OR_RETURN(vs.addr, addr(tb[IPVS_SVC_ATTR_ADDR], "address"));
  SKIFF_ASSIGN_OR_RETURN(auto port, u16(tb[IPVS_SVC_ATTR_PORT], "port"));
  vs.port = ntohs(port);
  nlattr* sched = tb[IPVS_SVC_ATTR_SCHED_NAME];
  if (sched == nullptr || nla_len(sched) < 1) return bad("missing scheduler");
  vs.scheduler = std::string(static_cast<const char*>(nla_data(sched)),
                             strnlen(static_cast<const char*>(nla_data(sched)), nla_len(sched)));
  nlattr* fl = tb[IPVS_SVC_ATTR_FLAGS];
  if (fl == nullptr || nla_len(fl) < static_cast<int>(sizeof(ip_vs_flags)))
    return bad("missing flags");
  ip_vs_flags flags;
  std::memcpy(&flags, nla_data(fl), sizeof flags);
  vs.flags = flags.flags;
  SKIFF_ASSIGN_OR_RETURN(vs.timeout, u32(tb[IPVS_SVC_ATTR_TIMEOUT], "timeout"));
  SKIFF_ASSIGN_OR_RETURN(vs.netmask, u32(tb[IPVS_SVC_ATTR_NETMASK], "netmask"));
  return vs;
}

Result<RealServer> decodeDestination(const std::string& msg) {
  nlattr* tb[IPVS_DEST_ATTR_MAX + 1] = {};
  SKIFF_TRY(parseNested(msg, IPVS_CMD_NEW_DEST, IPVS_CMD_ATTR_DEST, tb, IPVS_DEST_ATTR_MAX));
  RealServer rs;
  SKIFF_ASSIGN_OR_RETURN(rs.addr, addr(tb[IPVS_DEST_ATTR_ADDR], "address"));
  SKIFF_ASSIGN_OR_RETURN(auto port, u16(tb[IPVS_DEST_ATTR_PORT], "port"));
  rs.port = ntohs(port);
  SKIFF_ASSIGN_OR_RETURN(rs.forward, u32(tb[IPVS_DEST_ATTR_FWD_METHOD], "forwarding method"));
  SKIFF_ASSIGN_OR_RETURN(rs.weight, u32(tb[IPVS_DEST_ATTR_WEIGHT], "weight"));
  SKIFF_ASSIGN_OR_RETURN(rs.upper_threshold, u32(tb[IPVS_DEST_ATTR_U_THRESH], "upper threshold"));
  SKIFF_ASSIGN_OR_RETURN(rs.lower_threshold, u32(tb[IPVS_DEST_ATTR_L_THRESH], "lower threshold"));
  SKIFF_ASSIGN_OR_RETURN(rs.active_conns, u32(tb[IPVS_DEST_ATTR_ACTIVE_CONNS], "active conns"));
  SKIFF_ASSIGN_OR_RETURN(rs.inactive_conns, u32(tb[IPVS_DEST_ATTR_INACT_CONNS], "inactive conns"));
  return rs;
}

std::string toHex(const std::string& bytes) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

}  // namespace skiff::netproxy::ipvs
