// The libiptc implementation of the iptables seam (reference/netproxy.md §6).
//
// Why typed entries rather than libxtables: libxtables parses argv through per-extension
// shared objects whose ABI changes between iptables releases, and it would have us rebuild the
// iptables command parser. The handful of matches/targets kube-proxy's layout uses are encoded
// here directly from the kernel's uapi structs (name, revision, XT_ALIGNed payload), which is
// what those extensions produce; the integration suite checks the result against
// iptables-legacy-save, so any encoding drift fails a test.

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <thread>
#include <type_traits>

#include <libiptc/libiptc.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/xt_MARK.h>
#include <linux/netfilter/xt_addrtype.h>
#include <linux/netfilter/xt_comment.h>
#include <linux/netfilter/xt_conntrack.h>
#include <linux/netfilter/xt_mark.h>
#include <linux/netfilter/xt_recent.h>
#include <linux/netfilter/xt_statistic.h>
#include <linux/netfilter/xt_tcpudp.h>
#include <linux/netfilter_ipv4/ipt_REJECT.h>

#include <fmt/format.h>

#include "skiff/common/unique_fd.h"
#include "skiff/netproxy/sys/iptables.h"

namespace skiff::netproxy::sys {

namespace {

using Clock = std::chrono::steady_clock;

// ---- encoding ----------------------------------------------------------------------------

class EntryBuilder {
 public:
  explicit EntryBuilder(const Rule& r) {
    buf_.resize(sizeof(ipt_entry));
    ipt_entry* e = entry();
    if (r.src) {
      e->ip.src.s_addr = htonl(r.src->network().value);
      e->ip.smsk.s_addr = htonl(r.src->mask());
      if (r.src_invert) e->ip.invflags |= IPT_INV_SRCIP;
    }
    if (r.dst) {
      e->ip.dst.s_addr = htonl(r.dst->network().value);
      e->ip.dmsk.s_addr = htonl(r.dst->mask());
      if (r.dst_invert) e->ip.invflags |= IPT_INV_DSTIP;
    }
    if (r.proto) e->ip.proto = *r.proto == Protocol::Tcp ? IPPROTO_TCP : IPPROTO_UDP;
    for (const Match& m : r.matches) std::visit([&](const auto& v) { add(r, v); }, m);
    entry()->target_offset = static_cast<uint16_t>(buf_.size());
    std::visit([&](const auto& t) { target(t); }, r.target);
    entry()->next_offset = static_cast<uint16_t>(buf_.size());
  }
  const ipt_entry* get() const { return reinterpret_cast<const ipt_entry*>(buf_.data()); }

 private:
  ipt_entry* entry() { return reinterpret_cast<ipt_entry*>(buf_.data()); }

  template <typename T>
  T* match(const char* name, uint8_t revision) {
    return append<xt_entry_match, T>(name, revision);
  }
  template <typename T>
  T* targetOf(const char* name, uint8_t revision) {
    return append<xt_entry_target, T>(name, revision);
  }
  // Appends a match or target header (Header: xt_entry_match or xt_entry_target, which differ
  // only in the name of their size field) for extension `name` and returns its data, a T.
  template <typename Header, typename T>
  T* append(const char* name, uint8_t revision) {
    std::size_t off = buf_.size();
    std::size_t size = XT_ALIGN(sizeof(Header)) + XT_ALIGN(sizeof(T));
    buf_.resize(off + size);
    auto* h = reinterpret_cast<Header*>(buf_.data() + off);
    if constexpr (std::is_same_v<Header, xt_entry_match>) {
      h->u.match_size = static_cast<uint16_t>(size);
    } else {
      h->u.target_size = static_cast<uint16_t>(size);
    }
    std::strncpy(h->u.user.name, name, sizeof(h->u.user.name) - 1);
    h->u.user.revision = revision;
    return reinterpret_cast<T*>(h->data);
  }

  void add(const Rule&, const match::Comment& c) {
    auto* info = match<xt_comment_info>("comment", 0);
    std::strncpy(info->comment, c.text.c_str(), XT_MAX_COMMENT_LEN - 1);
  }
  void add(const Rule& r, const match::Port& p) {
    bool udp = r.proto && *r.proto == Protocol::Udp;
    if (udp) {
      auto* info = match<xt_udp>("udp", 0);
      info->spts[1] = 0xffff;
      info->dpts[0] = p.dport;
      info->dpts[1] = p.dport ? p.dport : 0xffff;
    } else {
      auto* info = match<xt_tcp>("tcp", 0);
      info->spts[1] = 0xffff;
      info->dpts[0] = p.dport;
      info->dpts[1] = p.dport ? p.dport : 0xffff;
    }
  }
  void add(const Rule&, const match::Statistic& s) {
    auto* info = match<xt_statistic_info>("statistic", 0);
    info->mode = XT_STATISTIC_MODE_RANDOM;
    info->u.random.probability = s.probability;
  }
  void add(const Rule&, const match::Recent& rc) {
    auto* info = match<xt_recent_mtinfo_v1>("recent", 1);
    std::strncpy(info->name, rc.name.c_str(), XT_RECENT_NAME_LEN - 1);
    info->side = XT_RECENT_SOURCE;
    std::memset(&info->mask, 0xff, sizeof(info->mask));
    if (rc.set) {
      info->check_set = XT_RECENT_SET;
    } else {
      info->check_set = XT_RECENT_CHECK | XT_RECENT_REAP;
      info->seconds = rc.seconds;
    }
  }
  void add(const Rule&, const match::Mark& m) {
    auto* info = match<xt_mark_mtinfo1>("mark", 1);
    info->mark = m.mark;
    info->mask = m.mask;
    info->invert = m.invert ? 1 : 0;
  }
  void add(const Rule&, const match::AddrType& a) {
    auto* info = match<xt_addrtype_info_v1>("addrtype", 1);
    if (a.src_local) {
      info->source = XT_ADDRTYPE_LOCAL;
      if (a.invert) info->flags |= XT_ADDRTYPE_INVERT_SOURCE;
    }
    if (a.dst_local) {
      info->dest = XT_ADDRTYPE_LOCAL;
      if (a.invert) info->flags |= XT_ADDRTYPE_INVERT_DEST;
    }
  }
  void add(const Rule&, const match::Conntrack& c) {
    auto* info = match<xt_conntrack_mtinfo3>("conntrack", 3);
    info->match_flags = XT_CONNTRACK_STATE;
    info->state_mask = c.states;
    if (c.invert) info->invert_flags = XT_CONNTRACK_STATE;
  }

  void target(const target::Jump& j) {
    auto* v = targetOf<int>(j.chain.c_str(), 0);  // xt_standard_target: libiptc maps the name
    *v = 0;
  }
  void target(const target::SetMark& m) {
    auto* info = targetOf<xt_mark_tginfo2>("MARK", 2);
    info->mark = m.value;
    info->mask = m.mask;
  }
  void target(const target::Masquerade& m) {
    auto* info = targetOf<nf_nat_ipv4_multi_range_compat>("MASQUERADE", 0);
    info->rangesize = 1;
    if (m.random_fully) info->range[0].flags = NF_NAT_RANGE_PROTO_RANDOM_FULLY;
  }
  void target(const target::Dnat& d) {
    // Revision 2 (nf_nat_range2), what iptables >= 1.8.6 writes; the v4-only revision 0 is
    // printed as "[unsupported revision]" by current iptables-save.
    auto* r = targetOf<nf_nat_range2>("DNAT", 2);
    r->flags = NF_NAT_RANGE_MAP_IPS;
    r->min_addr.ip = r->max_addr.ip = htonl(d.ip.value);
    if (d.port) {
      r->flags |= NF_NAT_RANGE_PROTO_SPECIFIED;
      r->min_proto.tcp.port = r->max_proto.tcp.port = htons(d.port);
    }
  }
  void target(const target::Reject&) {
    auto* info = targetOf<ipt_reject_info>("REJECT", 0);
    info->with = IPT_ICMP_PORT_UNREACHABLE;
  }

  std::vector<unsigned char> buf_;
};

// ---- decoding (for listRules and for finding our jump rules in built-in chains) ------------

std::optional<Cidr> cidrOf(in_addr addr, in_addr mask) {
  uint32_t m = ntohl(mask.s_addr);
  if (m == 0) return std::nullopt;
  int prefix = __builtin_popcount(m);
  return Cidr{{ntohl(addr.s_addr)}, prefix};
}

Result<Rule> decode(const ipt_entry* e, xtc_handle* h) {
  Rule r;
  r.src = cidrOf(e->ip.src, e->ip.smsk);
  r.src_invert = (e->ip.invflags & IPT_INV_SRCIP) != 0;
  r.dst = cidrOf(e->ip.dst, e->ip.dmsk);
  r.dst_invert = (e->ip.invflags & IPT_INV_DSTIP) != 0;
  if (e->ip.proto == IPPROTO_TCP)
    r.proto = Protocol::Tcp;
  else if (e->ip.proto == IPPROTO_UDP)
    r.proto = Protocol::Udp;
  else if (e->ip.proto != 0)
    return Error(ErrorCode::Unsupported, "decode rule: protocol");
  if (e->ip.iniface[0] || e->ip.outiface[0]) {
    return Error(ErrorCode::Unsupported, "decode rule: interface match");
  }
  const auto* base = reinterpret_cast<const unsigned char*>(e);
  for (std::size_t off = sizeof(ipt_entry); off < e->target_offset;) {
    const auto* m = reinterpret_cast<const xt_entry_match*>(base + off);
    if (m->u.match_size < sizeof(xt_entry_match)) {
      return Error(ErrorCode::Invalid, "decode rule: bad match size");
    }
    std::string_view name = m->u.user.name;
    const void* d = m->data;
    if (name == "comment") {
      const auto* i = static_cast<const xt_comment_info*>(d);
      r.matches.push_back(
          match::Comment{std::string(i->comment, strnlen(i->comment, XT_MAX_COMMENT_LEN))});
    } else if (name == "tcp" || name == "udp") {
      uint16_t lo = name == "tcp" ? static_cast<const xt_tcp*>(d)->dpts[0]
                                  : static_cast<const xt_udp*>(d)->dpts[0];
      r.matches.push_back(match::Port{lo});
    } else if (name == "statistic") {
      r.matches.push_back(
          match::Statistic{static_cast<const xt_statistic_info*>(d)->u.random.probability});
    } else if (name == "recent") {
      const auto* i = static_cast<const xt_recent_mtinfo_v1*>(d);
      r.matches.push_back(match::Recent{i->name, (i->check_set & XT_RECENT_SET) != 0, i->seconds});
    } else if (name == "mark") {
      const auto* i = static_cast<const xt_mark_mtinfo1*>(d);
      r.matches.push_back(match::Mark{i->mark, i->mask, i->invert != 0});
    } else if (name == "addrtype") {
      const auto* i = static_cast<const xt_addrtype_info_v1*>(d);
      r.matches.push_back(
          match::AddrType{i->source == XT_ADDRTYPE_LOCAL, i->dest == XT_ADDRTYPE_LOCAL,
                          (i->flags & (XT_ADDRTYPE_INVERT_SOURCE | XT_ADDRTYPE_INVERT_DEST)) != 0});
    } else if (name == "conntrack") {
      const auto* i = static_cast<const xt_conntrack_mtinfo3*>(d);
      r.matches.push_back(
          match::Conntrack{i->state_mask, (i->invert_flags & XT_CONNTRACK_STATE) != 0});
    } else {
      return Error(ErrorCode::Unsupported, fmt::format("decode rule: match '{}'", name));
    }
    off += m->u.match_size;
  }
  const char* tname = ::iptc_get_target(e, h);
  std::string_view t = tname ? tname : "";
  const auto* tgt = reinterpret_cast<const xt_entry_target*>(base + e->target_offset);
  if (t == "MARK") {
    const auto* i = reinterpret_cast<const xt_mark_tginfo2*>(tgt->data);
    r.target = target::SetMark{i->mark, i->mask};
  } else if (t == "MASQUERADE") {
    const auto* i = reinterpret_cast<const nf_nat_ipv4_multi_range_compat*>(tgt->data);
    r.target = target::Masquerade{(i->range[0].flags & NF_NAT_RANGE_PROTO_RANDOM_FULLY) != 0};
  } else if (t == "DNAT") {
    if (tgt->u.user.revision == 0) {
      const auto* i = reinterpret_cast<const nf_nat_ipv4_multi_range_compat*>(tgt->data);
      r.target = target::Dnat{{ntohl(i->range[0].min_ip)}, ntohs(i->range[0].min.tcp.port)};
    } else if (tgt->u.user.revision == 1 || tgt->u.user.revision == 2) {
      // nf_nat_range2 starts with nf_nat_range's fields, so both decode the same way here.
      const auto* i = reinterpret_cast<const nf_nat_range2*>(tgt->data);
      r.target = target::Dnat{{ntohl(i->min_addr.ip)}, ntohs(i->min_proto.tcp.port)};
    } else {
      return Error(ErrorCode::Unsupported, "decode rule: DNAT revision");
    }
  } else if (t == "REJECT") {
    r.target = target::Reject{};
  } else if (t.empty()) {
    return Error(ErrorCode::Unsupported, "decode rule: no target");
  } else {
    r.target = target::Jump{std::string(t)};
  }
  return r;
}

// ---- the xtables lock ----------------------------------------------------------------------

Result<UniqueFd> lockXtables(const std::string& path, std::chrono::milliseconds timeout) {
  UniqueFd fd(::open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600));
  if (!fd) return Error::fromErrno(errno, fmt::format("open xtables lock '{}'", path));
  auto deadline = Clock::now() + timeout;
  while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      return Error::fromErrno(errno, fmt::format("lock '{}'", path));
    }
    if (Clock::now() >= deadline) {
      return Error(
          ErrorCode::Timeout,
          fmt::format("lock '{}': another app is currently holding the xtables lock", path));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return fd;
}

struct HandleDeleter {
  void operator()(xtc_handle* h) const { ::iptc_free(h); }
};
using IptcHandle = std::unique_ptr<xtc_handle, HandleDeleter>;

Error iptcError(std::string what) {
  int err = errno;
  return Error(err == EAGAIN ? ErrorCode::Unavailable : ErrorCode::Internal, err,
               fmt::format("{}: {}", what, ::iptc_strerror(err)));
}

// Tables that exist in the calling thread's netns. /proc/thread-self, not /proc/self: the
// latter follows the thread-group leader, which may be in another network namespace.
bool tableExists(std::string_view table) {
  std::ifstream f("/proc/thread-self/net/ip_tables_names");
  std::string line;
  while (std::getline(f, line)) {
    if (line == table) return true;
  }
  return false;
}

class LegacyIptables final : public Iptables {
 public:
  explicit LegacyIptables(LegacyIptablesOptions o) : opts_(std::move(o)) {}
  ~LegacyIptables() override { joinRelease(); }

  // netproxy::sys::Iptables
  Result<CommitStats> apply(const TableChange& c) override {
    joinRelease();
    CommitStats st;
    auto t0 = Clock::now();
    SKIFF_ASSIGN_OR_RETURN(UniqueFd lock, lockXtables(opts_.lock_path, opts_.lock_timeout));
    auto t1 = Clock::now();
    st.lock_wait = t1 - t0;
    IptcHandle h(::iptc_init(c.table.c_str()));
    if (!h) return iptcError(fmt::format("init table '{}'", c.table));
    auto t2 = Clock::now();
    st.fetch = t2 - t1;
    for (const Chain& ch : c.write) {
      if (::iptc_is_chain(ch.name.c_str(), h.get())) {
        if (!::iptc_flush_entries(ch.name.c_str(), h.get())) {
          return iptcError(fmt::format("flush chain '{}'", ch.name));
        }
      } else if (!::iptc_create_chain(ch.name.c_str(), h.get())) {
        return iptcError(fmt::format("create chain '{}'", ch.name));
      }
    }
    for (const Chain& ch : c.write) {
      for (const Rule& r : ch.rules) {
        EntryBuilder e(r);
        if (!::iptc_append_entry(ch.name.c_str(), e.get(), h.get())) {
          return iptcError(fmt::format("append to '{}' rule '{}'", ch.name, render(r)));
        }
      }
    }
    for (const JumpRule& j : c.unhook) {
      std::string want = render(j.rule);
      for (;;) {
        auto idx = findRule(h.get(), j.chain, want);
        if (!idx) break;
        if (!::iptc_delete_num_entry(j.chain.c_str(), *idx, h.get())) {
          return iptcError(fmt::format("delete rule from '{}'", j.chain));
        }
      }
    }
    for (const std::string& name : c.remove) {
      if (::iptc_is_chain(name.c_str(), h.get()) && !::iptc_flush_entries(name.c_str(), h.get())) {
        return iptcError(fmt::format("flush chain '{}'", name));
      }
    }
    for (const std::string& name : c.remove) {
      if (::iptc_is_chain(name.c_str(), h.get()) && !::iptc_delete_chain(name.c_str(), h.get())) {
        return iptcError(fmt::format("delete chain '{}'", name));
      }
    }
    std::map<std::string, unsigned> position;
    for (const JumpRule& j : c.ensure) {
      unsigned pos = position[j.chain]++;
      if (findRule(h.get(), j.chain, render(j.rule))) continue;
      unsigned count = 0;
      for (auto* e = ::iptc_first_rule(j.chain.c_str(), h.get()); e;
           e = ::iptc_next_rule(e, h.get()))
        ++count;
      EntryBuilder e(j.rule);
      if (!::iptc_insert_entry(j.chain.c_str(), e.get(), std::min(pos, count), h.get())) {
        return iptcError(fmt::format("insert rule into '{}'", j.chain));
      }
    }
    auto t3 = Clock::now();
    st.build = t3 - t2;
    if (!::iptc_commit(h.get())) return iptcError(fmt::format("commit table '{}'", c.table));
    st.commit = Clock::now() - t3;
    // Freeing libiptc's cache of a large table (one malloc per rule and chain) costs about as
    // much as parsing it; do it off the caller's path. The next apply() joins it first, so at
    // most one old cache is alive at a time.
    release_ = std::thread([old = h.release()] { ::iptc_free(old); });
    return st;
  }

  Result<std::vector<std::string>> listChains(std::string_view table) override {
    std::vector<std::string> out;
    if (!tableExists(table)) return out;
    SKIFF_ASSIGN_OR_RETURN(UniqueFd lock, lockXtables(opts_.lock_path, opts_.lock_timeout));
    IptcHandle h(::iptc_init(std::string(table).c_str()));
    if (!h) return iptcError(fmt::format("init table '{}'", table));
    for (const char* c = ::iptc_first_chain(h.get()); c; c = ::iptc_next_chain(h.get())) {
      if (!::iptc_builtin(c, h.get())) out.emplace_back(c);
    }
    return out;
  }

  Result<std::vector<Rule>> listRules(std::string_view table, std::string_view chain) override {
    if (!tableExists(table)) {
      return Error(ErrorCode::NotFound,
                   fmt::format("list chain '{}': no table '{}'", chain, table));
    }
    SKIFF_ASSIGN_OR_RETURN(UniqueFd lock, lockXtables(opts_.lock_path, opts_.lock_timeout));
    IptcHandle h(::iptc_init(std::string(table).c_str()));
    if (!h) return iptcError(fmt::format("init table '{}'", table));
    std::string c(chain);
    if (!::iptc_is_chain(c.c_str(), h.get())) {
      return Error(ErrorCode::NotFound, fmt::format("list chain '{}': no such chain", chain));
    }
    std::vector<Rule> out;
    for (auto* e = ::iptc_first_rule(c.c_str(), h.get()); e; e = ::iptc_next_rule(e, h.get())) {
      SKIFF_ASSIGN_OR_RETURN(Rule r, decode(e, h.get()));
      out.push_back(std::move(r));
    }
    return out;
  }

 private:
  // Rule number of the first rule in `chain` that decodes to `want` (rules we cannot decode
  // belong to someone else and never match).
  static std::optional<unsigned> findRule(xtc_handle* h, const std::string& chain,
                                          const std::string& want) {
    unsigned n = 0;
    for (auto* e = ::iptc_first_rule(chain.c_str(), h); e; e = ::iptc_next_rule(e, h), ++n) {
      auto r = decode(e, h);
      if (r && render(*r) == want) return n;
    }
    return std::nullopt;
  }

  void joinRelease() {
    if (release_.joinable()) release_.join();
  }

  LegacyIptablesOptions opts_;
  std::thread release_;
};

}  // namespace

std::unique_ptr<Iptables> makeLegacyIptables(LegacyIptablesOptions options) {
  return std::make_unique<LegacyIptables>(std::move(options));
}

}  // namespace skiff::netproxy::sys
