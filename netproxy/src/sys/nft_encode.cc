#include "nft_encode.h"

#include <arpa/inet.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <netinet/in.h>

#include <cstring>
#include <initializer_list>

namespace skiff::netproxy::sys::detail {

namespace {

using namespace nft::vocabulary;

// nft's datatype ids (src/datatype.h), for the key types `nft list` prints.
constexpr uint32_t kTypeInteger = 4;
constexpr uint32_t kTypeIpAddr = 7;
constexpr uint32_t kTypeInetProto = 12;
constexpr uint32_t kTypeInetService = 13;
constexpr uint32_t kTypeBits = 6;  // concat_subtype_add: type << 6 | subtype
constexpr uint32_t kByteorderHost = 1;
constexpr uint32_t kRtnLocal = 2;  // RTN_LOCAL, the fib addrtype result

uint8_t protoNumber(Protocol p) { return p == Protocol::Tcp ? IPPROTO_TCP : IPPROTO_UDP; }

void add(nftnl_rule* r, nftnl_expr* e) { nftnl_rule_add_expr(r, e); }

// One u32 attribute of an expression; most of what the kernel reads from ours is registers,
// keys and flags of this kind.
struct U32Attr {
  uint16_t attr;
  uint32_t value;
};

// A new expression of kind `name` with its u32 attributes set; the caller sets any others.
nftnl_expr* expr(const char* name, std::initializer_list<U32Attr> u32s = {}) {
  nftnl_expr* e = nftnl_expr_alloc(name);
  for (const auto& a : u32s) nftnl_expr_set_u32(e, a.attr, a.value);
  return e;
}

void payload(nftnl_rule* r, uint32_t base, uint32_t offset, uint32_t len, uint32_t dreg) {
  add(r, expr("payload", {{NFTNL_EXPR_PAYLOAD_BASE, base},
                          {NFTNL_EXPR_PAYLOAD_OFFSET, offset},
                          {NFTNL_EXPR_PAYLOAD_LEN, len},
                          {NFTNL_EXPR_PAYLOAD_DREG, dreg}}));
}

void meta(nftnl_rule* r, uint32_t key, uint32_t dreg) {
  add(r, expr("meta", {{NFTNL_EXPR_META_KEY, key}, {NFTNL_EXPR_META_DREG, dreg}}));
}

void metaSet(nftnl_rule* r, uint32_t key, uint32_t sreg) {
  add(r, expr("meta", {{NFTNL_EXPR_META_KEY, key}, {NFTNL_EXPR_META_SREG, sreg}}));
}

void cmp(nftnl_rule* r, uint32_t op, const void* data, uint32_t len) {
  nftnl_expr* e = expr("cmp", {{NFTNL_EXPR_CMP_SREG, NFT_REG_1}, {NFTNL_EXPR_CMP_OP, op}});
  nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
  add(r, e);
}

void bitwise(nftnl_rule* r, const void* mask, const void* xor_, uint32_t len) {
  nftnl_expr* e = expr("bitwise", {{NFTNL_EXPR_BITWISE_SREG, NFT_REG_1},
                                   {NFTNL_EXPR_BITWISE_DREG, NFT_REG_1},
                                   {NFTNL_EXPR_BITWISE_LEN, len}});
  nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
  nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, xor_, len);
  add(r, e);
}

void lookup(nftnl_rule* r, const std::string& set, uint32_t sreg, bool vmap, bool negate,
            uint32_t set_id = 0) {
  nftnl_expr* e = expr("lookup", {{NFTNL_EXPR_LOOKUP_SREG, sreg}});
  if (vmap) nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, NFT_REG_VERDICT);
  nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set.c_str());
  if (set_id != 0) nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, set_id);
  if (negate) nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
  add(r, e);
}

void addrLoad(nftnl_rule* r, bool source, uint32_t dreg) {
  payload(r, NFT_PAYLOAD_NETWORK_HEADER, source ? 12 : 16, 4, dreg);
}

void encodeAddr(nftnl_rule* r, const stmt::Addr& a) {
  addrLoad(r, a.source, NFT_REG_1);
  uint32_t net = htonl(a.cidr.network().value);
  if (a.cidr.prefix < 32) {
    uint32_t mask = htonl(a.cidr.mask()), zero = 0;
    bitwise(r, &mask, &zero, 4);
  }
  cmp(r, a.negate ? NFT_CMP_NEQ : NFT_CMP_EQ, &net, 4);
}

void encodeProto(nftnl_rule* r, Protocol p, uint16_t dport) {
  meta(r, NFT_META_L4PROTO, NFT_REG_1);
  uint8_t proto = protoNumber(p);
  cmp(r, NFT_CMP_EQ, &proto, 1);
  if (dport != 0) {
    payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
    uint16_t port = htons(dport);
    cmp(r, NFT_CMP_EQ, &port, 2);
  }
}

void encodeVerdict(nftnl_rule* r, const stmt::Verdict& v) {
  nftnl_expr* e =
      expr("immediate", {{NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT},
                         {NFTNL_EXPR_IMM_VERDICT, static_cast<uint32_t>(verdictCode(v.kind))}});
  if (!v.chain.empty()) nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, v.chain.c_str());
  add(r, e);
}

void immediateData(nftnl_rule* r, uint32_t dreg, const void* data, uint32_t len) {
  nftnl_expr* e = expr("immediate", {{NFTNL_EXPR_IMM_DREG, dreg}});
  nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, data, len);
  add(r, e);
}

void encodeFib(nftnl_rule* r, bool source) {
  add(r, expr("fib", {{NFTNL_EXPR_FIB_DREG, NFT_REG_1},
                      {NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE},
                      {NFTNL_EXPR_FIB_FLAGS, source ? NFTA_FIB_F_SADDR : NFTA_FIB_F_DADDR}}));
  uint32_t local = kRtnLocal;
  cmp(r, NFT_CMP_EQ, &local, 4);
}

void encodeVmapKeys(nftnl_rule* r, KeyShape keys) {
  // Concatenations use 32-bit registers: each field starts on its own register.
  uint32_t reg = NFT_REG32_00;
  if (keys == KeyShape::AddrProtoPort) addrLoad(r, false, reg++);
  meta(r, NFT_META_L4PROTO, reg++);
  payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, reg);
}

struct Encoder {
  nftnl_rule* r;
  uint32_t& next_set_id;
  std::vector<AnonMap>& anon;

  void operator()(const stmt::Addr& a) { encodeAddr(r, a); }
  void operator()(const stmt::Proto& p) { encodeProto(r, p.protocol, p.dport); }
  void operator()(const stmt::MarkTest& m) {
    meta(r, NFT_META_MARK, NFT_REG_1);
    uint32_t mask = m.bits, zero = 0;
    bitwise(r, &mask, &zero, 4);
    cmp(r, m.is_set ? NFT_CMP_NEQ : NFT_CMP_EQ, &zero, 4);
  }
  void operator()(const stmt::CtNew&) {
    add(r, expr("ct", {{NFTNL_EXPR_CT_KEY, NFT_CT_STATE}, {NFTNL_EXPR_CT_DREG, NFT_REG_1}}));
    uint32_t bit = 1u << 3, zero = 0;  // NF_CT_STATE_BIT(IP_CT_NEW)
    bitwise(r, &bit, &zero, 4);
    cmp(r, NFT_CMP_NEQ, &zero, 4);
  }
  void operator()(const stmt::FibLocal& f) { encodeFib(r, f.source); }
  void operator()(const stmt::InSet& s) {
    addrLoad(r, s.source, NFT_REG_1);
    lookup(r, s.set, NFT_REG_1, false, s.negate);
  }
  void operator()(const stmt::Vmap& v) {
    encodeVmapKeys(r, v.keys);
    lookup(r, v.map, NFT_REG32_00, true, false);
  }
  void operator()(const stmt::NumgenVmap& n) {
    add(r, expr("numgen", {{NFTNL_EXPR_NG_DREG, NFT_REG_1},
                           {NFTNL_EXPR_NG_TYPE, NFT_NG_RANDOM},
                           {NFTNL_EXPR_NG_MODULUS, static_cast<uint32_t>(n.chains.size())},
                           {NFTNL_EXPR_NG_OFFSET, 0}}));
    AnonMap m{next_set_id++, n.chains};
    lookup(r, "__map%d", NFT_REG_1, true, false, m.id);
    anon.push_back(std::move(m));
  }
  void operator()(const stmt::MarkSet& m) {
    meta(r, NFT_META_MARK, NFT_REG_1);
    uint32_t mask = m.xor_ ? ~0u : ~m.bits, x = m.bits;
    bitwise(r, &mask, &x, 4);
    metaSet(r, NFT_META_MARK, NFT_REG_1);
  }
  void operator()(const stmt::Masquerade& m) {
    nftnl_expr* e = expr("masq");
    if (m.fully_random)
      nftnl_expr_set_u32(e, NFTNL_EXPR_MASQ_FLAGS, NF_NAT_RANGE_PROTO_RANDOM_FULLY);
    add(r, e);
  }
  void operator()(const stmt::Dnat& d) {
    encodeProto(r, d.protocol, 0);
    uint32_t ip = htonl(d.ip.value);
    uint16_t port = htons(d.port);
    immediateData(r, NFT_REG_1, &ip, 4);
    immediateData(r, NFT_REG_2, &port, 2);
    add(r, expr("nat", {{NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT},
                        {NFTNL_EXPR_NAT_FAMILY, NFPROTO_IPV4},
                        {NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1},
                        {NFTNL_EXPR_NAT_REG_PROTO_MIN, NFT_REG_2}}));
  }
  void operator()(const stmt::Reject& j) {
    nftnl_expr* e = expr("reject", {{NFTNL_EXPR_REJECT_TYPE,
                                     j.tcp_reset ? NFT_REJECT_TCP_RST : NFT_REJECT_ICMP_UNREACH}});
    nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, j.tcp_reset ? 0 : 3);  // ICMP_PORT_UNREACH
    add(r, e);
  }
  void operator()(const stmt::UpdateSaddr& u) {
    addrLoad(r, true, NFT_REG_1);
    nftnl_expr* e = expr("dynset", {{NFTNL_EXPR_DYNSET_SREG_KEY, NFT_REG_1},
                                    {NFTNL_EXPR_DYNSET_OP, NFT_DYNSET_OP_UPDATE}});
    nftnl_expr_set_str(e, NFTNL_EXPR_DYNSET_SET_NAME, u.set.c_str());
    add(r, e);
  }
  void operator()(const stmt::Verdict& v) { encodeVerdict(r, v); }
};

void putKeyByteorder(nftnl_set* s, uint32_t order) {
  nftnl_udata_buf* ud = nftnl_udata_buf_alloc(64);
  nftnl_udata_put_u32(ud, NFTNL_UDATA_SET_KEYBYTEORDER, order);
  nftnl_set_set_data(s, NFTNL_SET_USERDATA, nftnl_udata_buf_data(ud), nftnl_udata_buf_len(ud));
  nftnl_udata_buf_free(ud);
}

}  // namespace

int verdictCode(stmt::VerdictKind kind) {
  switch (kind) {
    case stmt::VerdictKind::Accept:
      return NF_ACCEPT;
    case stmt::VerdictKind::Drop:
      return NF_DROP;
    case stmt::VerdictKind::Return:
      return NFT_RETURN;
    case stmt::VerdictKind::Jump:
      return NFT_JUMP;
    case stmt::VerdictKind::Goto:
      return NFT_GOTO;
  }
  return NF_ACCEPT;
}

std::vector<AnonMap> encodeRule(nftnl_rule* r, const NRule& rule, uint32_t& next_set_id) {
  std::vector<AnonMap> anon;
  Encoder enc{r, next_set_id, anon};
  for (const Stmt& s : rule) std::visit(enc, s);
  return anon;
}

void encodeSetSpec(nftnl_set* s, const SetSpec& spec) {
  switch (spec.kind) {
    case SetKind::VerdictMap: {
      bool addr = spec.keys == KeyShape::AddrProtoPort;
      uint32_t type = kTypeInetProto << kTypeBits | kTypeInetService;
      if (addr) type = (kTypeIpAddr << kTypeBits | kTypeInetProto) << kTypeBits | kTypeInetService;
      nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_MAP);
      nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, type);
      nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, addr ? 12 : 8);
      nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, NFT_DATA_VERDICT);
      nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, 0);  // as nft sends it: the kernel sizes verdicts
      break;
    }
    case SetKind::AddrSet:
      nftnl_set_set_u32(s, NFTNL_SET_FLAGS, 0);
      nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, kTypeIpAddr);
      nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, 4);
      break;
    case SetKind::AffinitySet:
      nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_TIMEOUT | NFT_SET_EVAL);
      nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, kTypeIpAddr);
      nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, 4);
      nftnl_set_set_u64(s, NFTNL_SET_TIMEOUT, uint64_t{spec.timeout_s} * 1000);
      break;
  }
}

void encodeAnonMap(nftnl_set* s, const AnonMap& m) {
  nftnl_set_set_str(s, NFTNL_SET_NAME, "__map%d");
  nftnl_set_set_u32(s, NFTNL_SET_ID, m.id);
  nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_ANONYMOUS | NFT_SET_CONSTANT | NFT_SET_MAP);
  nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, kTypeInteger);
  nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, 4);
  nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, NFT_DATA_VERDICT);
  nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, 0);
  nftnl_set_set_u32(s, NFTNL_SET_DESC_SIZE, static_cast<uint32_t>(m.chains.size()));
  putKeyByteorder(s, kByteorderHost);
}

std::vector<uint8_t> elementKey(const SetSpec& spec, const Element& e) {
  std::vector<uint8_t> key;
  auto put = [&](const void* p, std::size_t n) {
    std::size_t at = key.size();
    key.resize(at + 4, 0);  // every field padded to a 32-bit register
    std::memcpy(key.data() + at, p, n);
  };
  uint32_t ip = htonl(e.ip.value);
  if (spec.kind != SetKind::VerdictMap) {
    put(&ip, 4);
    return key;
  }
  if (spec.keys == KeyShape::AddrProtoPort) put(&ip, 4);
  uint8_t proto = protoNumber(e.protocol);
  put(&proto, 1);
  uint16_t port = htons(e.port);
  put(&port, 2);
  return key;
}

}  // namespace skiff::netproxy::sys::detail
