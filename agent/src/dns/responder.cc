#include "skiff/agent/dns/responder.h"

#include <arpa/inet.h>
#include "skiff/agent/dns/ldns.h"

#include <algorithm>
#include <cstring>
#include <iterator>

#include "skiff/common/enum_names.h"

namespace skiff::agent::dns {

namespace {

struct PktFree {
  void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
using Pkt = std::unique_ptr<ldns_pkt, PktFree>;

std::vector<std::uint8_t> toWire(const ldns_pkt* p) {
  std::uint8_t* buf = nullptr;
  std::size_t n = 0;
  if (ldns_pkt2wire(&buf, p, &n) != LDNS_STATUS_OK) {
    free(buf);
    return {};
  }
  std::vector<std::uint8_t> out(buf, buf + n);
  free(buf);
  return out;
}

// A reply header only: ID, opcode and RD copied, QR set, counts zero. Used where ldns could not
// parse the query, so it is written by hand from the 12 fixed header bytes.
std::vector<std::uint8_t> headerOnly(const std::uint8_t* q, int rcode) {
  std::vector<std::uint8_t> h(12, 0);
  h[0] = q[0];
  h[1] = q[1];
  h[2] = static_cast<std::uint8_t>(0x80 | (q[2] & 0x79));  // QR | opcode | RD
  h[3] = static_cast<std::uint8_t>(rcode & 0x0f);
  return h;
}

ldns_rdf* dname(const std::string& name) { return ldns_dname_new_frm_str((name + ".").c_str()); }

ldns_rr* newRr(ldns_rdf* owner, ldns_rr_type type, std::uint32_t ttl) {
  ldns_rr* rr = ldns_rr_new();
  ldns_rr_set_owner(rr, owner);
  ldns_rr_set_type(rr, type);
  ldns_rr_set_class(rr, LDNS_RR_CLASS_IN);
  ldns_rr_set_ttl(rr, ttl);
  return rr;
}

// The records of one owner name for one question type, into `section`.
struct Builder {
  ldns_pkt* pkt;
  std::uint32_t ttl;

  void push(ldns_rr* rr, ldns_pkt_section s) { ldns_pkt_push_rr(pkt, s, rr); }
  int addresses(const ldns_rdf* owner, const NameRecords& r, std::uint16_t type,
                ldns_pkt_section s) {
    int n = addressRecords(owner, r.a, LDNS_RR_TYPE_A, LDNS_RDF_TYPE_A, type, s);  // A first
    return n + addressRecords(owner, r.aaaa, LDNS_RR_TYPE_AAAA, LDNS_RDF_TYPE_AAAA, type, s);
  }
  // The A (4-byte) or AAAA (16-byte) records of `addrs`, when the question type asks for them.
  template <std::size_t N>
  int addressRecords(const ldns_rdf* owner, const std::vector<std::array<std::uint8_t, N>>& addrs,
                     ldns_rr_type rr_type, ldns_rdf_type rdf_type, std::uint16_t type,
                     ldns_pkt_section s) {
    if (type != rr_type && type != LDNS_RR_TYPE_ANY) return 0;
    for (const auto& a : addrs) {
      ldns_rr* rr = newRr(ldns_rdf_clone(owner), rr_type, ttl);
      ldns_rr_push_rdf(rr, ldns_rdf_new_frm_data(rdf_type, N, a.data()));
      push(rr, s);
    }
    return static_cast<int>(addrs.size());
  }
  // CNAME owner -> target, then (unless CNAME was asked) the target's records while it is inside
  // the cluster zone, link after link (at most kMaxChase, against ExternalName loops).
  int chase(const ldns_rdf* owner, const NameRecords& r, std::uint16_t type,
            const RecordIndex& idx) {
    constexpr int kMaxChase = 8;
    ldns_rr* rr = newRr(ldns_rdf_clone(owner), LDNS_RR_TYPE_CNAME, ttl);
    ldns_rr_push_rdf(rr, dname(r.cname));
    push(rr, LDNS_SECTION_ANSWER);
    int n = 1;
    std::string target = r.cname;
    for (int hop = 0; hop < kMaxChase && type != LDNS_RR_TYPE_CNAME && idx.inZone(target); ++hop) {
      const NameRecords* t = idx.find(target);
      if (t == nullptr) break;
      ldns_rdf* towner = dname(target);
      if (t->cname.empty()) {
        n += answer(towner, *t, type, idx);
        ldns_rdf_deep_free(towner);
        break;
      }
      rr = newRr(towner, LDNS_RR_TYPE_CNAME, ttl);
      ldns_rr_push_rdf(rr, dname(t->cname));
      push(rr, LDNS_SECTION_ANSWER);
      ++n;
      target = t->cname;
    }
    return n;
  }
  int answer(const ldns_rdf* owner, const NameRecords& r, std::uint16_t type,
             const RecordIndex& idx) {
    if (!r.cname.empty()) return chase(owner, r, type, idx);
    int n = addresses(owner, r, type, LDNS_SECTION_ANSWER);
    if (type == LDNS_RR_TYPE_SRV || type == LDNS_RR_TYPE_ANY) {
      for (const auto& s : r.srv) {
        ldns_rr* rr = newRr(ldns_rdf_clone(owner), LDNS_RR_TYPE_SRV, ttl);
        ldns_rr_push_rdf(rr, ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, s.priority));
        ldns_rr_push_rdf(rr, ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, s.weight));
        ldns_rr_push_rdf(rr, ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, s.port));
        ldns_rr_push_rdf(rr, dname(s.target));
        push(rr, LDNS_SECTION_ANSWER);
        ++n;
        // The targets' addresses ride along in the additional section, as CoreDNS sends them.
        if (const NameRecords* t = idx.find(s.target)) {
          ldns_rdf* towner = dname(s.target);
          addresses(towner, *t, LDNS_RR_TYPE_ANY, LDNS_SECTION_ADDITIONAL);
          ldns_rdf_deep_free(towner);
        }
      }
    }
    if (type == LDNS_RR_TYPE_PTR || type == LDNS_RR_TYPE_ANY) {
      for (const auto& p : r.ptr) {
        ldns_rr* rr = newRr(ldns_rdf_clone(owner), LDNS_RR_TYPE_PTR, ttl);
        ldns_rr_push_rdf(rr, dname(p));
        push(rr, LDNS_SECTION_ANSWER);
        ++n;
      }
    }
    if ((type == LDNS_RR_TYPE_TXT || type == LDNS_RR_TYPE_ANY) && !r.txt.empty()) {
      ldns_rr* rr = newRr(ldns_rdf_clone(owner), LDNS_RR_TYPE_TXT, ttl);
      ldns_rr_push_rdf(rr, ldns_rdf_new_frm_str(LDNS_RDF_TYPE_STR, r.txt.c_str()));
      push(rr, LDNS_SECTION_ANSWER);
      ++n;
    }
    return n;
  }
  void soa(const std::string& domain, ldns_pkt_section s) {
    ldns_rr* rr = newRr(dname(domain), LDNS_RR_TYPE_SOA, ttl);
    ldns_rr_push_rdf(rr, dname("ns.dns." + domain));
    ldns_rr_push_rdf(rr, dname("hostmaster." + domain));
    for (std::uint32_t v : {1u, 7200u, 1800u, 86400u, ttl}) {
      ldns_rr_push_rdf(rr, ldns_native2rdf_int32(LDNS_RDF_TYPE_INT32, v));
    }
    push(rr, s);
  }
};

// "10-244-1-5.<ns>.pod.<domain>" -> the A record CoreDNS's `pods insecure` mode (kubeadm's
// Corefile) synthesises for any namespace.
bool podRecord(const std::string& name, const std::string& domain, NameRecords* out) {
  std::string suffix = ".pod." + domain;
  if (name.size() <= suffix.size() || !name.ends_with(suffix)) return false;
  std::string head = name.substr(0, name.size() - suffix.size());
  auto dot = head.find('.');
  if (dot == std::string::npos || head.find('.', dot + 1) != std::string::npos) return false;
  std::string ip = head.substr(0, dot);
  std::replace(ip.begin(), ip.end(), '-', '.');
  std::array<std::uint8_t, 4> v4;
  if (::inet_pton(AF_INET, ip.c_str(), v4.data()) != 1) return false;
  out->a.push_back(v4);
  return true;
}

Pkt replyTo(const ldns_pkt* q, const Question& qi, std::uint16_t edns_size) {
  Pkt r(ldns_pkt_new());
  ldns_pkt_set_id(r.get(), qi.id);
  ldns_pkt_set_qr(r.get(), true);
  ldns_pkt_set_opcode(r.get(), LDNS_PACKET_QUERY);
  ldns_pkt_set_rd(r.get(), qi.recursion_desired);
  ldns_pkt_set_ra(r.get(), true);
  ldns_pkt_set_cd(r.get(), ldns_pkt_cd(q));
  ldns_pkt_push_rr(r.get(), LDNS_SECTION_QUESTION,
                   ldns_rr_clone(ldns_rr_list_rr(ldns_pkt_question(q), 0)));
  if (qi.edns) {
    ldns_pkt_set_edns_udp_size(r.get(), edns_size);
    ldns_pkt_set_edns_do(r.get(), qi.dnssec_ok);
  }
  return r;
}

// Serialises `r`, shedding the additional section and then every record (with TC) until it fits.
std::vector<std::uint8_t> fit(ldns_pkt* r, std::size_t max) {
  auto wire = toWire(r);
  if (wire.size() <= max) return wire;
  ldns_rr_list_deep_free(ldns_pkt_additional(r));
  ldns_pkt_set_additional(r, ldns_rr_list_new());
  ldns_pkt_set_arcount(r, 0);
  wire = toWire(r);
  if (wire.size() <= max) return wire;
  ldns_rr_list_deep_free(ldns_pkt_answer(r));
  ldns_pkt_set_answer(r, ldns_rr_list_new());
  ldns_pkt_set_ancount(r, 0);
  ldns_rr_list_deep_free(ldns_pkt_authority(r));
  ldns_pkt_set_authority(r, ldns_rr_list_new());
  ldns_pkt_set_nscount(r, 0);
  ldns_pkt_set_tc(r, true);
  return toWire(r);
}

}  // namespace

Outcome Responder::handle(const std::uint8_t* data, std::size_t len, const RecordIndex& idx,
                          bool tcp) const {
  Outcome out;
  if (len < 12 || (data[2] & 0x80) != 0) return out;  // not a query: never answer a reply
  if (fastHandle(data, len, idx, tcp, &out)) return out;
  ldns_pkt* raw = nullptr;
  if (ldns_wire2pkt(&raw, data, len) != LDNS_STATUS_OK) {
    ldns_pkt_free(raw);
    out.action = Action::Reply;
    out.rcode = LDNS_RCODE_FORMERR;
    out.wire = headerOnly(data, out.rcode);
    return out;
  }
  Pkt q(raw);
  if (ldns_pkt_get_opcode(q.get()) != LDNS_PACKET_QUERY || ldns_pkt_qdcount(q.get()) != 1) {
    out.action = Action::Reply;
    out.rcode =
        ldns_pkt_get_opcode(q.get()) != LDNS_PACKET_QUERY ? LDNS_RCODE_NOTIMPL : LDNS_RCODE_FORMERR;
    out.wire = headerOnly(data, out.rcode);
    return out;
  }
  const ldns_rr* qrr = ldns_rr_list_rr(ldns_pkt_question(q.get()), 0);
  Question& qi = out.question;
  char* qname = ldns_rdf2str(ldns_rr_owner(qrr));
  qi.name = canonicalName(qname ? qname : "");
  free(qname);
  qi.type = static_cast<std::uint16_t>(ldns_rr_get_type(qrr));
  qi.klass = static_cast<std::uint16_t>(ldns_rr_get_class(qrr));
  qi.id = ldns_pkt_id(q.get());
  qi.recursion_desired = ldns_pkt_rd(q.get());
  qi.edns = ldns_pkt_edns(q.get());
  qi.dnssec_ok = ldns_pkt_edns_do(q.get());
  qi.max_reply = replyLimit(tcp, qi.edns, ldns_pkt_edns_udp_size(q.get()), o_.edns_udp_size);

  bool ours = idx.inZone(qi.name);
  const NameRecords* recs = idx.find(qi.name);
  if (!ours && (recs == nullptr || recs->ptr.empty())) {
    out.action = Action::Forward;  // CoreDNS: `fallthrough in-addr.arpa ip6.arpa`, then forward
    return out;
  }
  Pkt r = replyTo(q.get(), qi, o_.edns_udp_size);
  ldns_pkt_set_aa(r.get(), true);
  Builder b{r.get(), o_.ttl};
  const ldns_rdf* owner = ldns_rr_owner(qrr);
  NameRecords synthesized;
  if (recs == nullptr && ours && podRecord(qi.name, idx.domain(), &synthesized))
    recs = &synthesized;
  if (qi.klass != LDNS_RR_CLASS_IN && qi.klass != LDNS_RR_CLASS_ANY) {
    out.rcode = LDNS_RCODE_REFUSED;
  } else if (recs == nullptr && !idx.exists(qi.name)) {
    out.rcode = LDNS_RCODE_NXDOMAIN;
    b.soa(idx.domain(), LDNS_SECTION_AUTHORITY);
  } else if (qi.name == idx.domain() && qi.type == LDNS_RR_TYPE_SOA) {
    b.soa(idx.domain(), LDNS_SECTION_ANSWER);
  } else if (recs == nullptr || b.answer(owner, *recs, qi.type, idx) == 0) {
    if (ours) b.soa(idx.domain(), LDNS_SECTION_AUTHORITY);  // NODATA
  }
  ldns_pkt_set_rcode(r.get(), static_cast<std::uint8_t>(out.rcode));
  out.action = Action::Reply;
  out.wire = fit(r.get(), qi.max_reply);
  return out;
}

std::optional<std::vector<std::uint8_t>> Responder::searchFallback(const std::uint8_t* data,
                                                                   std::size_t len,
                                                                   const Question& qi,
                                                                   const RecordIndex& idx) const {
  if (qi.klass != LDNS_RR_CLASS_IN && qi.klass != LDNS_RR_CLASS_ANY) return std::nullopt;
  // <svc>.<ns> or <svc>.<ns>.svc: two labels, or three ending in "svc".
  std::string_view n = qi.name;
  if (n.ends_with(".svc")) n.remove_suffix(4);
  auto dot = n.find('.');
  if (dot == 0 || dot == std::string_view::npos || dot + 1 == n.size() ||
      n.find('.', dot + 1) != std::string_view::npos)
    return std::nullopt;
  std::string target = std::string(n) + ".svc." + idx.domain();
  const NameRecords* recs = idx.find(target);
  if (recs == nullptr) return std::nullopt;
  ldns_pkt* raw = nullptr;
  if (ldns_wire2pkt(&raw, data, len) != LDNS_STATUS_OK || ldns_pkt_qdcount(raw) != 1) {
    ldns_pkt_free(raw);
    return std::nullopt;
  }
  Pkt q(raw);
  Pkt r = replyTo(q.get(), qi, o_.edns_udp_size);
  Builder b{r.get(), o_.ttl};
  const ldns_rdf* owner = ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(q.get()), 0));
  ldns_rr* cname = newRr(ldns_rdf_clone(owner), LDNS_RR_TYPE_CNAME, o_.ttl);
  ldns_rr_push_rdf(cname, dname(target));
  b.push(cname, LDNS_SECTION_ANSWER);
  if (qi.type != LDNS_RR_TYPE_CNAME) {
    ldns_rdf* towner = dname(target);
    int n_answers = b.answer(towner, *recs, qi.type, idx);
    ldns_rdf_deep_free(towner);
    if (n_answers == 0) b.soa(idx.domain(), LDNS_SECTION_AUTHORITY);  // NODATA at the target
  }
  return fit(r.get(), qi.max_reply);
}

std::vector<std::uint8_t> Responder::adapt(const std::vector<std::uint8_t>& wire, const Question& q,
                                           std::uint32_t age, const TtlMap* ttls) const {
  if (ttls != nullptr && wire.size() >= 12 && wire.size() <= q.max_reply &&
      (q.edns || !ttls->has_opt)) {
    auto out = wire;
    out[0] = static_cast<std::uint8_t>(q.id >> 8);
    out[1] = static_cast<std::uint8_t>(q.id);
    for (std::uint16_t at : ttls->offsets) {
      std::uint32_t t = (std::uint32_t(out[at]) << 24) | (std::uint32_t(out[at + 1]) << 16) |
                        (std::uint32_t(out[at + 2]) << 8) | out[at + 3];
      t = t > age ? t - age : 0;
      for (int i = 0; i < 4; ++i) out[at + i] = static_cast<std::uint8_t>(t >> (24 - 8 * i));
    }
    return out;
  }
  ldns_pkt* raw = nullptr;
  if (ldns_wire2pkt(&raw, wire.data(), wire.size()) != LDNS_STATUS_OK) {
    ldns_pkt_free(raw);
    return {};
  }
  Pkt p(raw);
  ldns_pkt_set_id(p.get(), q.id);
  if (age > 0) {
    for (ldns_rr_list* l :
         {ldns_pkt_answer(p.get()), ldns_pkt_authority(p.get()), ldns_pkt_additional(p.get())}) {
      for (std::size_t i = 0; i < ldns_rr_list_rr_count(l); ++i) {
        ldns_rr* rr = ldns_rr_list_rr(l, i);
        std::uint32_t t = ldns_rr_ttl(rr);
        ldns_rr_set_ttl(rr, t > age ? t - age : 0);
      }
    }
  }
  if (!q.edns) {
    ldns_pkt_set_edns_udp_size(p.get(), 0);
    ldns_pkt_set_edns_do(p.get(), false);
    p->_edns_present = 0;  // ldns 1.8 keeps a parsed OPT record otherwise
  }
  if (wire.size() <= q.max_reply && age == 0 && q.edns) {
    auto copy = wire;
    copy[0] = static_cast<std::uint8_t>(q.id >> 8);
    copy[1] = static_cast<std::uint8_t>(q.id & 0xff);
    return copy;
  }
  return fit(p.get(), q.max_reply);
}

std::vector<std::uint8_t> Responder::errorReply(const Question& q, int rcode) const {
  Pkt r(ldns_pkt_new());
  ldns_pkt_set_id(r.get(), q.id);
  ldns_pkt_set_qr(r.get(), true);
  ldns_pkt_set_rd(r.get(), q.recursion_desired);
  ldns_pkt_set_ra(r.get(), true);
  ldns_rdf* owner = dname(q.name);
  if (owner != nullptr) {
    ldns_rr* rr = ldns_rr_new();
    ldns_rr_set_owner(rr, owner);
    ldns_rr_set_type(rr, static_cast<ldns_rr_type>(q.type));
    ldns_rr_set_class(rr, static_cast<ldns_rr_class>(q.klass));
    ldns_rr_set_question(rr, true);
    ldns_pkt_push_rr(r.get(), LDNS_SECTION_QUESTION, rr);
  }
  ldns_pkt_set_rcode(r.get(), static_cast<std::uint8_t>(rcode));
  return toWire(r.get());
}

CacheVerdict cacheVerdict(const std::vector<std::uint8_t>& wire) {
  CacheVerdict v;
  ldns_pkt* raw = nullptr;
  if (ldns_wire2pkt(&raw, wire.data(), wire.size()) != LDNS_STATUS_OK) {
    ldns_pkt_free(raw);
    return v;
  }
  Pkt p(raw);
  auto rcode = ldns_pkt_get_rcode(p.get());
  if (ldns_pkt_tc(p.get()) || (rcode != LDNS_RCODE_NOERROR && rcode != LDNS_RCODE_NXDOMAIN))
    return v;
  std::uint32_t ttl = UINT32_MAX;
  for (ldns_rr_list* l : {ldns_pkt_answer(p.get()), ldns_pkt_authority(p.get())}) {
    for (std::size_t i = 0; i < ldns_rr_list_rr_count(l); ++i) {
      const ldns_rr* rr = ldns_rr_list_rr(l, i);
      std::uint32_t t = ldns_rr_ttl(rr);
      if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA && ldns_rr_rd_count(rr) == 7)
        t = std::min(t, ldns_rdf2native_int32(ldns_rr_rdf(rr, 6)));
      ttl = std::min(ttl, t);
    }
  }
  v.negative = rcode == LDNS_RCODE_NXDOMAIN || ldns_pkt_ancount(p.get()) == 0;
  if (ttl == UINT32_MAX) ttl = v.negative ? 5 : 0;  // a bare negative reply: CoreDNS's minimum
  v.cacheable = ttl > 0;
  v.ttl = ttl;
  return v;
}

namespace {

// Query types and response codes as CoreDNS's metrics label them; "other" for the rest.
constexpr EnumName<int> kTypeNames[] = {
    {LDNS_RR_TYPE_A, "A"},     {LDNS_RR_TYPE_AAAA, "AAAA"}, {LDNS_RR_TYPE_SRV, "SRV"},
    {LDNS_RR_TYPE_PTR, "PTR"}, {LDNS_RR_TYPE_TXT, "TXT"},   {LDNS_RR_TYPE_CNAME, "CNAME"},
    {LDNS_RR_TYPE_SOA, "SOA"}, {LDNS_RR_TYPE_NS, "NS"},     {LDNS_RR_TYPE_MX, "MX"},
    {LDNS_RR_TYPE_ANY, "ANY"},
};
constexpr EnumName<int> kRcodeNames[] = {
    {LDNS_RCODE_NOERROR, "NOERROR"},   {LDNS_RCODE_FORMERR, "FORMERR"},
    {LDNS_RCODE_SERVFAIL, "SERVFAIL"}, {LDNS_RCODE_NXDOMAIN, "NXDOMAIN"},
    {LDNS_RCODE_NOTIMPL, "NOTIMP"},    {LDNS_RCODE_REFUSED, "REFUSED"},
};

static_assert(std::size(kTypeNames) + 1 == kTypeLabels &&
                  std::size(kRcodeNames) + 1 == kRcodeLabels,
              "the label counts in responder.h count the tables' rows and \"other\"");

// The row of `value` in `names`; N ("other") when it has none.
template <std::size_t N>
std::size_t rowOf(const EnumName<int> (&names)[N], int value) {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i].value == value) return i;
  }
  return N;
}

template <std::size_t N>
const char* nameAt(const EnumName<int> (&names)[N], std::size_t index) {
  return index < N ? names[index].name : "other";
}

}  // namespace

const char* typeLabel(std::uint16_t t) { return typeLabelAt(typeLabelIndex(t)); }

const char* rcodeLabel(int r) { return rcodeLabelAt(rcodeLabelIndex(r)); }

std::size_t typeLabelIndex(std::uint16_t t) { return rowOf(kTypeNames, t); }
std::size_t rcodeLabelIndex(int r) { return rowOf(kRcodeNames, r); }
const char* typeLabelAt(std::size_t index) { return nameAt(kTypeNames, index); }
const char* rcodeLabelAt(std::size_t index) { return nameAt(kRcodeNames, index); }

}  // namespace skiff::agent::dns
