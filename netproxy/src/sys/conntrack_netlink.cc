// Conntrack deletion over ctnetlink (NETLINK_NETFILTER), built with libnl-3 core messages.
// Why not libnetfilter_conntrack: it is not a skiff dependency and we need two messages; why not
// the `conntrack` CLI: a process per deletion, and its output format is not an API.
// The kernel only deletes by complete tuple, so we dump the IPv4 table and delete each entry
// that matches the filter by its original tuple (what `conntrack -D` does internally).

#include <arpa/inet.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <netinet/in.h>

#include <cstring>
#include <memory>
#include <vector>

#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include <fmt/format.h>

#include "libnl_ptr.h"
#include "skiff/netproxy/sys/conntrack.h"

namespace skiff::netproxy::sys {

namespace {

struct Tuple {
  uint32_t src = 0, dst = 0;  // network order
  uint8_t proto = 0;
  uint16_t sport = 0, dport = 0;  // network order
  bool complete = false;
};

bool parseTuple(nlattr* nest, Tuple& t) {
  nlattr* tb[CTA_TUPLE_MAX + 1] = {};
  if (nla_parse_nested(tb, CTA_TUPLE_MAX, nest, nullptr) < 0) return false;
  if (!tb[CTA_TUPLE_IP] || !tb[CTA_TUPLE_PROTO]) return false;
  nlattr* ip[CTA_IP_MAX + 1] = {};
  nlattr* pr[CTA_PROTO_MAX + 1] = {};
  if (nla_parse_nested(ip, CTA_IP_MAX, tb[CTA_TUPLE_IP], nullptr) < 0) return false;
  if (nla_parse_nested(pr, CTA_PROTO_MAX, tb[CTA_TUPLE_PROTO], nullptr) < 0) return false;
  if (!ip[CTA_IP_V4_SRC] || !ip[CTA_IP_V4_DST] || !pr[CTA_PROTO_NUM]) return false;
  if (nla_len(ip[CTA_IP_V4_SRC]) != 4 || nla_len(ip[CTA_IP_V4_DST]) != 4) return false;
  std::memcpy(&t.src, nla_data(ip[CTA_IP_V4_SRC]), 4);
  std::memcpy(&t.dst, nla_data(ip[CTA_IP_V4_DST]), 4);
  t.proto = nla_get_u8(pr[CTA_PROTO_NUM]);
  if (pr[CTA_PROTO_SRC_PORT]) t.sport = nla_get_u16(pr[CTA_PROTO_SRC_PORT]);
  if (pr[CTA_PROTO_DST_PORT]) t.dport = nla_get_u16(pr[CTA_PROTO_DST_PORT]);
  t.complete = pr[CTA_PROTO_SRC_PORT] && pr[CTA_PROTO_DST_PORT];
  return true;
}

struct DumpState {
  const ConntrackFilter* filter;
  std::vector<Tuple> matches;
};

int onEntry(nl_msg* msg, void* arg) {
  auto* st = static_cast<DumpState*>(arg);
  nlmsghdr* hdr = nlmsg_hdr(msg);
  nlattr* tb[CTA_MAX + 1] = {};
  // Replies from the kernel are untrusted input too: anything malformed is skipped.
  if (nlmsg_parse(hdr, sizeof(nfgenmsg), tb, CTA_MAX, nullptr) < 0) return NL_OK;
  if (!tb[CTA_TUPLE_ORIG] || !tb[CTA_TUPLE_REPLY]) return NL_OK;
  Tuple orig, reply;
  if (!parseTuple(tb[CTA_TUPLE_ORIG], orig) || !parseTuple(tb[CTA_TUPLE_REPLY], reply))
    return NL_OK;
  const ConntrackFilter& f = *st->filter;
  uint8_t want_proto = f.protocol == Protocol::Udp ? IPPROTO_UDP : IPPROTO_TCP;
  if (orig.proto != want_proto || !orig.complete) return NL_OK;
  if (f.orig_dst && orig.dst != htonl(f.orig_dst->value)) return NL_OK;
  if (f.orig_dport && orig.dport != htons(*f.orig_dport)) return NL_OK;
  if (f.reply_src && reply.src != htonl(f.reply_src->value)) return NL_OK;
  st->matches.push_back(orig);
  return NL_OK;
}

Error nlError(int err, std::string what) {
  return Error(ErrorCode::Internal, fmt::format("{}: {}", what, nl_geterror(err)));
}

NlMsg ctMessage(uint8_t cmd, int flags) {
  NlMsg msg(nlmsg_alloc_simple((NFNL_SUBSYS_CTNETLINK << 8) | cmd, flags));
  nfgenmsg g{};
  g.nfgen_family = AF_INET;
  g.version = NFNETLINK_V0;
  if (msg && nlmsg_append(msg.get(), &g, sizeof g, NLMSG_ALIGNTO) < 0) return nullptr;
  return msg;
}

class NetlinkConntrack final : public Conntrack {
 public:
  Result<std::size_t> deleteEntries(const ConntrackFilter& filter) override {
    NlSocket sk(nl_socket_alloc());
    if (!sk) return Error(ErrorCode::Internal, "allocate netlink socket");
    int err = nl_connect(sk.get(), NETLINK_NETFILTER);
    if (err < 0) return nlError(err, "connect ctnetlink");
    nl_socket_disable_seq_check(sk.get());

    DumpState st{&filter, {}};
    NlMsg dump = ctMessage(IPCTNL_MSG_CT_GET, NLM_F_REQUEST | NLM_F_DUMP);
    if (!dump) return Error(ErrorCode::Internal, "build conntrack dump");
    nl_socket_modify_cb(sk.get(), NL_CB_VALID, NL_CB_CUSTOM, onEntry, &st);
    err = nl_send_auto(sk.get(), dump.get());
    if (err < 0) return nlError(err, "dump conntrack");
    err = nl_recvmsgs_default(sk.get());
    if (err < 0) return nlError(err, "read conntrack dump");

    std::size_t deleted = 0;
    for (const Tuple& t : st.matches) {
      NlMsg del = ctMessage(IPCTNL_MSG_CT_DELETE, NLM_F_REQUEST | NLM_F_ACK);
      if (!del) return Error(ErrorCode::Internal, "build conntrack delete");
      nlattr* orig = nla_nest_start(del.get(), CTA_TUPLE_ORIG);
      nlattr* ip = nla_nest_start(del.get(), CTA_TUPLE_IP);
      nla_put(del.get(), CTA_IP_V4_SRC, 4, &t.src);
      nla_put(del.get(), CTA_IP_V4_DST, 4, &t.dst);
      nla_nest_end(del.get(), ip);
      nlattr* proto = nla_nest_start(del.get(), CTA_TUPLE_PROTO);
      nla_put_u8(del.get(), CTA_PROTO_NUM, t.proto);
      nla_put_u16(del.get(), CTA_PROTO_SRC_PORT, t.sport);
      nla_put_u16(del.get(), CTA_PROTO_DST_PORT, t.dport);
      nla_nest_end(del.get(), proto);
      nla_nest_end(del.get(), orig);
      err = nl_send_sync(sk.get(), del.release());
      if (err == -NLE_OBJ_NOTFOUND) continue;  // expired meanwhile
      if (err < 0) return nlError(err, "delete conntrack entry");
      ++deleted;
    }
    return deleted;
  }
};

}  // namespace

std::unique_ptr<Conntrack> makeNetlinkConntrack() { return std::make_unique<NetlinkConntrack>(); }

}  // namespace skiff::netproxy::sys
