// The fake IPVS generic-netlink peer: hand-written decoding of linux/ip_vs.h messages.
#include "skiff/netproxy/testing/fake_ipvs_peer.h"

#include <arpa/inet.h>
#include <linux/genetlink.h>
#include <linux/ip_vs.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <optional>

namespace skiff::netproxy::testing {
namespace {

constexpr std::size_t align4(std::size_t n) { return (n + 3) & ~std::size_t{3}; }

// Attributes of one level: type -> payload.
using Attrs = std::map<uint16_t, std::string>;

std::optional<Attrs> parseAttrs(const char* p, std::size_t len) {
  Attrs out;
  while (len >= sizeof(nlattr)) {
    nlattr a;
    std::memcpy(&a, p, sizeof a);
    if (a.nla_len < sizeof a || a.nla_len > len) return std::nullopt;
    out[a.nla_type & NLA_TYPE_MASK] = std::string(p + sizeof a, a.nla_len - sizeof a);
    std::size_t step = std::min(align4(a.nla_len), len);
    p += step;
    len -= step;
  }
  return out;
}

void putAttr(std::string& out, uint16_t type, const void* data, std::size_t n) {
  nlattr a{static_cast<uint16_t>(sizeof(nlattr) + n), type};
  out.append(reinterpret_cast<const char*>(&a), sizeof a);
  out.append(static_cast<const char*>(data), n);
  out.append(align4(n) - n, '\0');
}
void putU32(std::string& out, uint16_t type, uint32_t v) { putAttr(out, type, &v, 4); }
void putU16(std::string& out, uint16_t type, uint16_t v) { putAttr(out, type, &v, 2); }
void putNest(std::string& out, uint16_t type, const std::string& inner) {
  putAttr(out, static_cast<uint16_t>(type | NLA_F_NESTED), inner.data(), inner.size());
}

std::string message(uint16_t type, uint16_t flags, uint32_t seq, const std::string& payload) {
  nlmsghdr h{static_cast<uint32_t>(NLMSG_HDRLEN + payload.size()), type, flags, seq, 0};
  std::string out(reinterpret_cast<const char*>(&h), sizeof h);
  return out + payload;
}

std::string ack(const nlmsghdr& req, int err) {
  nlmsgerr e{};
  e.error = -err;
  e.msg = req;
  return message(NLMSG_ERROR, 0, req.nlmsg_seq,
                 std::string(reinterpret_cast<const char*>(&e), sizeof e));
}

bool u32(const Attrs& a, uint16_t t, uint32_t& v) {
  auto it = a.find(t);
  if (it == a.end() || it->second.size() != 4) return false;
  std::memcpy(&v, it->second.data(), 4);
  return true;
}
bool u16(const Attrs& a, uint16_t t, uint16_t& v) {
  auto it = a.find(t);
  if (it == a.end() || it->second.size() != 2) return false;
  std::memcpy(&v, it->second.data(), 2);
  return true;
}
// nf_inet_addr: at most 16 bytes, IPv4 in the first 4.
bool addr(const Attrs& a, uint16_t t, std::string& out) {
  auto it = a.find(t);
  if (it == a.end() || it->second.size() < 4 || it->second.size() > 16) return false;
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, it->second.data(), buf, sizeof buf);
  out = buf;
  return true;
}

// The kernel's ip_vs_genl_parse_service: the key, and with `full` the whole entry.
int parseService(const Attrs& a, bool full, std::string& key, FakeIpvsPeer::Service& s) {
  uint16_t af = 0, proto = 0, port = 0;
  std::string ip;
  if (!u16(a, IPVS_SVC_ATTR_AF, af)) return EINVAL;
  if (af != AF_INET) return EAFNOSUPPORT;
  if (!u16(a, IPVS_SVC_ATTR_PROTOCOL, proto) || !addr(a, IPVS_SVC_ATTR_ADDR, ip) ||
      !u16(a, IPVS_SVC_ATTR_PORT, port))
    return EINVAL;
  if (proto != IPPROTO_TCP && proto != IPPROTO_UDP) return EAFNOSUPPORT;
  key = ip + ":" + std::to_string(ntohs(port)) + (proto == IPPROTO_UDP ? "/UDP" : "/TCP");
  if (!full) return 0;
  auto sched = a.find(IPVS_SVC_ATTR_SCHED_NAME);
  auto flags = a.find(IPVS_SVC_ATTR_FLAGS);
  if (sched == a.end() || flags == a.end() || flags->second.size() != sizeof(ip_vs_flags) ||
      !u32(a, IPVS_SVC_ATTR_TIMEOUT, s.timeout) || !u32(a, IPVS_SVC_ATTR_NETMASK, s.netmask))
    return EINVAL;
  // NLA_NUL_STRING of at most IP_VS_SCHEDNAME_MAXLEN including the NUL.
  const std::string& n = sched->second;
  if (n.empty() || n.back() != '\0' || n.size() > IP_VS_SCHEDNAME_MAXLEN) return EINVAL;
  s.scheduler = n.substr(0, n.size() - 1);
  if (s.scheduler != "rr" && s.scheduler != "wrr" && s.scheduler != "lc" && s.scheduler != "sh" &&
      s.scheduler != "dh" && s.scheduler != "sed" && s.scheduler != "nq" && s.scheduler != "wlc")
    return ENOENT;  // the kernel cannot load the scheduler module
  ip_vs_flags f;
  std::memcpy(&f, flags->second.data(), sizeof f);
  s.flags = f.flags & f.mask;
  return 0;
}

int parseDest(const Attrs& a, bool full, std::string& key, FakeIpvsPeer::Dest& d) {
  std::string ip;
  uint16_t port = 0;
  if (!addr(a, IPVS_DEST_ATTR_ADDR, ip) || !u16(a, IPVS_DEST_ATTR_PORT, port)) return EINVAL;
  key = ip + ":" + std::to_string(ntohs(port));
  if (!full) return 0;
  if (!u32(a, IPVS_DEST_ATTR_FWD_METHOD, d.forward) || !u32(a, IPVS_DEST_ATTR_WEIGHT, d.weight) ||
      !u32(a, IPVS_DEST_ATTR_U_THRESH, d.upper) || !u32(a, IPVS_DEST_ATTR_L_THRESH, d.lower))
    return EINVAL;
  return 0;
}

std::string serviceReply(const std::string& key, const FakeIpvsPeer::Service& s, uint32_t seq) {
  auto colon = key.find(':');
  auto slash = key.find('/');
  std::string inner;
  putU16(inner, IPVS_SVC_ATTR_AF, AF_INET);
  putU16(inner, IPVS_SVC_ATTR_PROTOCOL, key.substr(slash + 1) == "UDP" ? IPPROTO_UDP : IPPROTO_TCP);
  unsigned char a[16] = {};
  inet_pton(AF_INET, key.substr(0, colon).c_str(), a);
  putAttr(inner, IPVS_SVC_ATTR_ADDR, a, sizeof a);
  putU16(inner, IPVS_SVC_ATTR_PORT, htons(static_cast<uint16_t>(std::stoi(key.substr(colon + 1)))));
  putAttr(inner, IPVS_SVC_ATTR_SCHED_NAME, s.scheduler.c_str(), s.scheduler.size() + 1);
  ip_vs_flags f{s.flags, ~0u};
  putAttr(inner, IPVS_SVC_ATTR_FLAGS, &f, sizeof f);
  putU32(inner, IPVS_SVC_ATTR_TIMEOUT, s.timeout);
  putU32(inner, IPVS_SVC_ATTR_NETMASK, s.netmask);
  putNest(inner, IPVS_SVC_ATTR_STATS, std::string());  // the kernel sends stats; ignored
  genlmsghdr g{IPVS_CMD_NEW_SERVICE, IPVS_GENL_VERSION, 0};
  std::string payload(reinterpret_cast<const char*>(&g), sizeof g);
  putNest(payload, IPVS_CMD_ATTR_SERVICE, inner);
  return message(FakeIpvsPeer::kFamily, NLM_F_MULTI, seq, payload);
}

std::string destReply(const std::string& key, const FakeIpvsPeer::Dest& d, uint32_t seq) {
  auto colon = key.find(':');
  std::string inner;
  unsigned char a[16] = {};
  inet_pton(AF_INET, key.substr(0, colon).c_str(), a);
  putAttr(inner, IPVS_DEST_ATTR_ADDR, a, sizeof a);
  putU16(inner, IPVS_DEST_ATTR_PORT,
         htons(static_cast<uint16_t>(std::stoi(key.substr(colon + 1)))));
  putU32(inner, IPVS_DEST_ATTR_FWD_METHOD, d.forward);
  putU32(inner, IPVS_DEST_ATTR_WEIGHT, d.weight);
  putU32(inner, IPVS_DEST_ATTR_U_THRESH, d.upper);
  putU32(inner, IPVS_DEST_ATTR_L_THRESH, d.lower);
  putU32(inner, IPVS_DEST_ATTR_ACTIVE_CONNS, d.active);
  putU32(inner, IPVS_DEST_ATTR_INACT_CONNS, d.inactive);
  putU32(inner, IPVS_DEST_ATTR_PERSIST_CONNS, 0);
  putU16(inner, IPVS_DEST_ATTR_ADDR_FAMILY, AF_INET);
  genlmsghdr g{IPVS_CMD_NEW_DEST, IPVS_GENL_VERSION, 0};
  std::string payload(reinterpret_cast<const char*>(&g), sizeof g);
  putNest(payload, IPVS_CMD_ATTR_DEST, inner);
  return message(FakeIpvsPeer::kFamily, NLM_F_MULTI, seq, payload);
}

// A dump's answer: one message per entry of `table`, then NLMSG_DONE.
template <typename Table, typename Reply>
std::vector<std::string> dump(const Table& table, uint32_t seq, Reply reply) {
  std::vector<std::string> out;
  for (const auto& [k, v] : table) out.push_back(reply(k, v, seq));
  out.push_back(message(NLMSG_DONE, NLM_F_MULTI, seq, std::string(4, '\0')));
  return out;
}

// The commands that add, replace or remove one service or destination.
enum class Change { New, Set, Del };
const std::map<uint8_t, Change> kServiceChanges = {{IPVS_CMD_NEW_SERVICE, Change::New},
                                                   {IPVS_CMD_SET_SERVICE, Change::Set},
                                                   {IPVS_CMD_DEL_SERVICE, Change::Del}};
const std::map<uint8_t, Change> kDestChanges = {{IPVS_CMD_NEW_DEST, Change::New},
                                                {IPVS_CMD_SET_DEST, Change::Set},
                                                {IPVS_CMD_DEL_DEST, Change::Del}};

// NEW, SET or DEL of entry `key` of `table` (the services, or one service's destinations) as the
// kernel answers it: EEXIST for a NEW of an entry that exists, `unknown` for a SET or DEL of one
// that does not (ESRCH for a service, ENOENT for a destination). A SET replaces the entry with
// `parsed` after `keep(old, parsed)` carried over what the request does not hold.
template <typename Table, typename Keep>
int change(Table& table, Change c, const std::string& key, typename Table::mapped_type parsed,
           int unknown, Keep keep) {
  auto it = table.find(key);
  if (c == Change::New) {
    if (it != table.end()) return EEXIST;
    table[key] = std::move(parsed);
    return 0;
  }
  if (it == table.end()) return unknown;
  if (c == Change::Del) {
    table.erase(it);
  } else {
    keep(it->second, parsed);
    it->second = std::move(parsed);
  }
  return 0;
}

const char* cmdName(uint8_t cmd) {
  switch (cmd) {
    case IPVS_CMD_NEW_SERVICE:
      return "NEW_SERVICE";
    case IPVS_CMD_SET_SERVICE:
      return "SET_SERVICE";
    case IPVS_CMD_DEL_SERVICE:
      return "DEL_SERVICE";
    case IPVS_CMD_GET_SERVICE:
      return "GET_SERVICE";
    case IPVS_CMD_NEW_DEST:
      return "NEW_DEST";
    case IPVS_CMD_SET_DEST:
      return "SET_DEST";
    case IPVS_CMD_DEL_DEST:
      return "DEL_DEST";
    case IPVS_CMD_GET_DEST:
      return "GET_DEST";
    default:
      return "UNKNOWN";
  }
}

}  // namespace

Result<uint16_t> FakeIpvsPeer::resolveFamily() {
  if (!available) return Error(ErrorCode::NotFound, "Object not found");
  return kFamily;
}

void FakeIpvsPeer::setConnections(const std::string& service, const std::string& dest,
                                  uint32_t active, uint32_t inactive) {
  auto& d = services.at(service).dests.at(dest);
  d.active = active;
  d.inactive = inactive;
}

Result<std::vector<std::string>> FakeIpvsPeer::roundTrip(const std::string& req) {
  if (req.size() < NLMSG_HDRLEN + GENL_HDRLEN)
    return Error(ErrorCode::Invalid, "fake ipvs: short request");
  nlmsghdr h;
  std::memcpy(&h, req.data(), sizeof h);
  // Every answer but a dump's is one ack carrying the errno (0: done).
  auto reply = [&h](int err) { return std::vector<std::string>{ack(h, err)}; };
  if (h.nlmsg_len != req.size() || h.nlmsg_type != kFamily || !(h.nlmsg_flags & NLM_F_REQUEST))
    return reply(EINVAL);
  genlmsghdr g;
  std::memcpy(&g, req.data() + NLMSG_HDRLEN, sizeof g);
  auto top =
      parseAttrs(req.data() + NLMSG_HDRLEN + GENL_HDRLEN, req.size() - NLMSG_HDRLEN - GENL_HDRLEN);
  if (!top || g.version != IPVS_GENL_VERSION) return reply(EINVAL);
  std::optional<Attrs> svc, dst;
  if (top->count(IPVS_CMD_ATTR_SERVICE)) {
    const auto& s = top->at(IPVS_CMD_ATTR_SERVICE);
    svc = parseAttrs(s.data(), s.size());
    if (!svc) return reply(EINVAL);
  }
  if (top->count(IPVS_CMD_ATTR_DEST)) {
    const auto& d = top->at(IPVS_CMD_ATTR_DEST);
    dst = parseAttrs(d.data(), d.size());
    if (!dst) return reply(EINVAL);
  }
  std::string key, dkey;
  Service parsed;
  Dest dparsed;
  bool full_svc = g.cmd == IPVS_CMD_NEW_SERVICE || g.cmd == IPVS_CMD_SET_SERVICE;
  bool full_dst = g.cmd == IPVS_CMD_NEW_DEST || g.cmd == IPVS_CMD_SET_DEST;
  if (g.cmd == IPVS_CMD_GET_SERVICE) {
    log.push_back("GET_SERVICE");
    if (!(h.nlmsg_flags & NLM_F_DUMP)) return reply(EINVAL);
    return dump(services, h.nlmsg_seq, serviceReply);
  }
  if (!svc) return reply(EINVAL);
  if (int e = parseService(*svc, full_svc, key, parsed)) return reply(e);
  log.push_back(std::string(cmdName(g.cmd)) + " " + key);
  // A SET keeps the service's destinations.
  auto keep_dests = [](Service& old, Service& next) { next.dests = std::move(old.dests); };
  if (auto c = kServiceChanges.find(g.cmd); c != kServiceChanges.end())
    return reply(change(services, c->second, key, std::move(parsed), ESRCH, keep_dests));
  auto it = services.find(key);
  if (it == services.end()) return reply(ESRCH);
  auto& dests = it->second.dests;
  if (g.cmd == IPVS_CMD_GET_DEST) return dump(dests, h.nlmsg_seq, destReply);
  if (!dst) return reply(EINVAL);
  if (int e = parseDest(*dst, full_dst, dkey, dparsed)) return reply(e);
  log.back() += " " + dkey;
  // A SET keeps the destination's connection counters.
  auto keep_counters = [](const Dest& old, Dest& next) {
    next.active = old.active;
    next.inactive = old.inactive;
  };
  if (auto c = kDestChanges.find(g.cmd); c != kDestChanges.end())
    return reply(change(dests, c->second, dkey, dparsed, ENOENT, keep_counters));
  return reply(EINVAL);
}

}  // namespace skiff::netproxy::testing
