// The nftables seam over libnftnl + libmnl: one NETLINK_NETFILTER socket kept across calls, a
// whole transaction sent with a single sendmsg (nfnetlink processes a batch only when BEGIN..END
// arrive in one skb), errors read back and mapped to the change that caused them.

#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "nft_encode.h"
#include "skiff/netproxy/sys/nftables.h"

namespace skiff::netproxy::sys {

namespace {

using namespace nft::vocabulary;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxMessage = 64 * 1024;    // room reserved for the next message
constexpr std::size_t kElementsPerMessage = 200;  // keeps a nest under its 64 KiB length limit

struct SocketCloser {
  void operator()(mnl_socket* s) const { mnl_socket_close(s); }
};
using MnlSocket = std::unique_ptr<mnl_socket, SocketCloser>;

template <typename T, void (*Free)(const T*)>
struct Owned {
  T* p;
  explicit Owned(T* x) : p(x) {}
  ~Owned() { Free(p); }
  Owned(const Owned&) = delete;
  Owned& operator=(const Owned&) = delete;
};
using Table = Owned<nftnl_table, nftnl_table_free>;
using ChainObj = Owned<nftnl_chain, nftnl_chain_free>;
using RuleObj = Owned<nftnl_rule, nftnl_rule_free>;
using SetObj = Owned<nftnl_set, nftnl_set_free>;

uint16_t nfproto(Family f) { return f == Family::Ip ? NFPROTO_IPV4 : NFPROTO_IPV6; }

int hookNumber(const std::string& hook) {
  if (hook == "prerouting") return NF_INET_PRE_ROUTING;
  if (hook == "input") return NF_INET_LOCAL_IN;
  if (hook == "forward") return NF_INET_FORWARD;
  if (hook == "output") return NF_INET_LOCAL_OUT;
  return NF_INET_POST_ROUTING;
}

std::string describe(const Op& op) {
  struct V {
    std::string operator()(const op::AddTable&) { return "add table"; }
    std::string operator()(const op::DeleteTable&) { return "delete table"; }
    std::string operator()(const op::FlushTable&) { return "flush table"; }
    std::string operator()(const op::AddChain& o) { return "add chain '" + o.chain.name + "'"; }
    std::string operator()(const op::FlushChain& o) { return "flush chain '" + o.chain + "'"; }
    std::string operator()(const op::DeleteChain& o) { return "delete chain '" + o.chain + "'"; }
    std::string operator()(const op::AddSet& o) { return "add set '" + o.set.name + "'"; }
    std::string operator()(const op::FlushSet& o) { return "flush set '" + o.set + "'"; }
    std::string operator()(const op::DeleteSet& o) { return "delete set '" + o.set + "'"; }
    std::string operator()(const op::AddRule& o) { return "add rule to chain '" + o.chain + "'"; }
    std::string operator()(const op::AddElements& o) {
      return "add elements to '" + o.set.name + "'";
    }
    std::string operator()(const op::DeleteElements& o) {
      return "delete elements from '" + o.set.name + "'";
    }
  };
  return std::visit(V{}, op);
}

// The op behind one message: which batch (table) of the transaction and which op in it.
struct OpRef {
  std::size_t batch = 0;
  std::size_t op = 0;
};

// Builds the messages of one transaction (one or more tables' batches) into one contiguous
// buffer, remembering which op each sequence number belongs to.
class BatchWriter {
 public:
  explicit BatchWriter(uint32_t seq0) : seq0_(seq0) {
    reserve();
    nftnl_batch_begin(at(), seq0_);
    advance();
  }

  // The ops of `b` (the transaction's batch number `batch`), in order.
  void write(const Batch& b, std::size_t batch) {
    b_ = &b;
    for (std::size_t i = 0; i < b.ops.size(); ++i) {
      index_ = OpRef{batch, i};
      std::visit([this](const auto& o) { emit(o); }, b.ops[i]);
    }
  }

  // Closes the batch; the last real message asks for an ACK so the reader knows it is done.
  std::pair<const char*, std::size_t> finish() {
    if (last_ != nullptr) last_->nlmsg_flags |= NLM_F_ACK;
    reserve();
    nftnl_batch_end(at(), seq0_ + static_cast<uint32_t>(ops_.size()) + 1);
    advance();
    return {buf_.data(), len_};
  }

  uint32_t lastSeq() const { return seq0_ + static_cast<uint32_t>(ops_.size()); }
  // The op behind a sequence number (nullopt: begin/end).
  std::optional<OpRef> opOf(uint32_t seq) const {
    if (seq <= seq0_ || seq > lastSeq()) return std::nullopt;
    return ops_[seq - seq0_ - 1];
  }
  std::size_t messages() const { return ops_.size(); }

 private:
  char* at() { return buf_.data() + len_; }
  void reserve() {
    if (buf_.size() < len_ + kMaxMessage)
      buf_.resize(std::max(buf_.size() * 2, len_ + kMaxMessage));
  }
  void advance() {
    auto* nlh = reinterpret_cast<nlmsghdr*>(at());
    len_ += NLMSG_ALIGN(nlh->nlmsg_len);
  }
  nlmsghdr* header(uint16_t type, uint16_t flags) {
    reserve();
    ops_.push_back(index_);
    auto* nlh = nftnl_nlmsg_build_hdr(at(), type, nfproto(b_->family), flags,
                                      seq0_ + static_cast<uint32_t>(ops_.size()));
    last_ = nullptr;
    return nlh;
  }
  void done(nlmsghdr* nlh) {
    advance();
    last_ = nlh;
  }

  void tableMsg(uint16_t type, uint16_t flags) {
    Table t(nftnl_table_alloc());
    nftnl_table_set_str(t.p, NFTNL_TABLE_NAME, b_->table.c_str());
    nlmsghdr* nlh = header(type, flags);
    nftnl_table_nlmsg_build_payload(nlh, t.p);
    done(nlh);
  }
  void emit(const op::AddTable&) { tableMsg(NFT_MSG_NEWTABLE, NLM_F_CREATE); }
  void emit(const op::DeleteTable&) { tableMsg(NFT_MSG_DELTABLE, 0); }
  void emit(const op::FlushTable&) { ruleFlush(nullptr); }
  void emit(const op::FlushChain& o) { ruleFlush(&o.chain); }
  void ruleFlush(const std::string* chain) {
    RuleObj r(nftnl_rule_alloc());
    nftnl_rule_set_str(r.p, NFTNL_RULE_TABLE, b_->table.c_str());
    if (chain) nftnl_rule_set_str(r.p, NFTNL_RULE_CHAIN, chain->c_str());
    nlmsghdr* nlh = header(NFT_MSG_DELRULE, 0);
    nftnl_rule_nlmsg_build_payload(nlh, r.p);
    done(nlh);
  }
  void chainMsg(uint16_t type, uint16_t flags, const ChainSpec& spec) {
    ChainObj c(nftnl_chain_alloc());
    nftnl_chain_set_str(c.p, NFTNL_CHAIN_TABLE, b_->table.c_str());
    nftnl_chain_set_str(c.p, NFTNL_CHAIN_NAME, spec.name.c_str());
    if (spec.base) {
      nftnl_chain_set_u32(c.p, NFTNL_CHAIN_HOOKNUM,
                          static_cast<uint32_t>(hookNumber(spec.base->hook)));
      nftnl_chain_set_s32(c.p, NFTNL_CHAIN_PRIO, spec.base->priority);
      nftnl_chain_set_str(c.p, NFTNL_CHAIN_TYPE, spec.base->type.c_str());
      nftnl_chain_set_u32(c.p, NFTNL_CHAIN_POLICY, NF_ACCEPT);
    }
    nlmsghdr* nlh = header(type, flags);
    nftnl_chain_nlmsg_build_payload(nlh, c.p);
    done(nlh);
  }
  void emit(const op::AddChain& o) { chainMsg(NFT_MSG_NEWCHAIN, NLM_F_CREATE, o.chain); }
  void emit(const op::DeleteChain& o) { chainMsg(NFT_MSG_DELCHAIN, 0, ChainSpec{o.chain, {}}); }

  nftnl_set* setObj(const std::string& name) {
    nftnl_set* s = nftnl_set_alloc();
    nftnl_set_set_str(s, NFTNL_SET_TABLE, b_->table.c_str());
    nftnl_set_set_str(s, NFTNL_SET_NAME, name.c_str());
    nftnl_set_set_u32(s, NFTNL_SET_FAMILY, nfproto(b_->family));
    return s;
  }
  void emit(const op::AddSet& o) {
    SetObj s(setObj(o.set.name));
    detail::encodeSetSpec(s.p, o.set);
    nftnl_set_set_u32(s.p, NFTNL_SET_ID, next_set_id_++);
    nlmsghdr* nlh = header(NFT_MSG_NEWSET, NLM_F_CREATE);
    nftnl_set_nlmsg_build_payload(nlh, s.p);
    done(nlh);
  }
  void emit(const op::DeleteSet& o) {
    SetObj s(setObj(o.set));
    nlmsghdr* nlh = header(NFT_MSG_DELSET, 0);
    nftnl_set_nlmsg_build_payload(nlh, s.p);
    done(nlh);
  }
  void emit(const op::FlushSet& o) {
    SetObj s(setObj(o.set));
    nlmsghdr* nlh = header(NFT_MSG_DELSETELEM, 0);
    nftnl_set_elems_nlmsg_build_payload(nlh, s.p);
    done(nlh);
  }
  void elements(uint16_t type, uint16_t flags, const SetSpec& spec,
                const std::vector<Element>& elems) {
    for (std::size_t i = 0; i < elems.size(); i += kElementsPerMessage) {
      SetObj s(setObj(spec.name));
      for (std::size_t j = i; j < std::min(elems.size(), i + kElementsPerMessage); ++j) {
        nftnl_set_elem* e = nftnl_set_elem_alloc();
        auto key = detail::elementKey(spec, elems[j]);
        nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key.data(), static_cast<uint32_t>(key.size()));
        if (elems[j].verdict && type == NFT_MSG_NEWSETELEM) {
          nftnl_set_elem_set_u32(
              e, NFTNL_SET_ELEM_VERDICT,
              static_cast<uint32_t>(detail::verdictCode(elems[j].verdict->kind)));
          if (!elems[j].verdict->chain.empty()) {
            nftnl_set_elem_set_str(e, NFTNL_SET_ELEM_CHAIN, elems[j].verdict->chain.c_str());
          }
        }
        nftnl_set_elem_add(s.p, e);
      }
      nlmsghdr* nlh = header(type, flags);
      nftnl_set_elems_nlmsg_build_payload(nlh, s.p);
      done(nlh);
    }
  }
  void emit(const op::AddElements& o) {
    elements(NFT_MSG_NEWSETELEM, NLM_F_CREATE, o.set, o.elements);
  }
  void emit(const op::DeleteElements& o) { elements(NFT_MSG_DELSETELEM, 0, o.set, o.elements); }

  void emit(const op::AddRule& o) {
    RuleObj r(nftnl_rule_alloc());
    nftnl_rule_set_str(r.p, NFTNL_RULE_TABLE, b_->table.c_str());
    nftnl_rule_set_str(r.p, NFTNL_RULE_CHAIN, o.chain.c_str());
    nftnl_rule_set_u32(r.p, NFTNL_RULE_FAMILY, nfproto(b_->family));
    auto anon = detail::encodeRule(r.p, o.rule, next_set_id_);
    for (const detail::AnonMap& m : anon) {
      SetObj s(setObj("__map%d"));
      detail::encodeAnonMap(s.p, m);
      nlmsghdr* nlh = header(NFT_MSG_NEWSET, NLM_F_CREATE);
      nftnl_set_nlmsg_build_payload(nlh, s.p);
      done(nlh);
      // The elements go in their own messages (a long chain list would overflow one nest).
      for (std::size_t i = 0; i < m.chains.size(); i += kElementsPerMessage) {
        SetObj part(setObj("__map%d"));
        nftnl_set_set_u32(part.p, NFTNL_SET_ID, m.id);
        for (std::size_t j = i; j < std::min(m.chains.size(), i + kElementsPerMessage); ++j) {
          nftnl_set_elem* e = nftnl_set_elem_alloc();
          uint32_t key = static_cast<uint32_t>(j);
          nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, &key, 4);
          nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_VERDICT, static_cast<uint32_t>(NFT_GOTO));
          nftnl_set_elem_set_str(e, NFTNL_SET_ELEM_CHAIN, m.chains[j].c_str());
          nftnl_set_elem_add(part.p, e);
        }
        nlmsghdr* en = header(NFT_MSG_NEWSETELEM, NLM_F_CREATE);
        nftnl_set_elems_nlmsg_build_payload(en, part.p);
        done(en);
      }
    }
    nlmsghdr* nlh = header(NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND);
    nftnl_rule_nlmsg_build_payload(nlh, r.p);
    done(nlh);
  }

  const Batch* b_ = nullptr;  // the batch being written
  uint32_t seq0_;
  std::vector<char> buf_;
  std::size_t len_ = 0;
  std::vector<OpRef> ops_;  // op per message, in sequence order
  OpRef index_;
  nlmsghdr* last_ = nullptr;
  uint32_t next_set_id_ = 1;
};

Result<MnlSocket> openSocket() {
  MnlSocket nl(mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC));
  if (!nl) {
    int e = errno;
    return Error(e == EPROTONOSUPPORT ? ErrorCode::Unavailable : ErrorCode::Internal, e,
                 std::string("open nfnetlink socket: ") + std::strerror(e));
  }
  if (mnl_socket_bind(nl.get(), 0, MNL_SOCKET_AUTOPID) < 0) {
    int e = errno;
    return Error::fromErrno(e, "bind nfnetlink socket");
  }
  int one = 1;
  int fd = mnl_socket_get_fd(nl.get());
  (void)::setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  (void)::setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  timeval tv{60, 0};
  (void)::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return nl;
}

// The extended-ack text of an error message, if the kernel sent one.
std::string extAckText(const nlmsghdr* nlh) {
  if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS)) return "";
  const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
  std::size_t off = sizeof(nlmsgerr);
  if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) off += err->msg.nlmsg_len - sizeof(nlmsghdr);
  const char* p = static_cast<const char*>(mnl_nlmsg_get_payload(nlh)) + off;
  const char* end = reinterpret_cast<const char*>(nlh) + nlh->nlmsg_len;
  while (p + sizeof(nlattr) <= end) {
    const auto* a = reinterpret_cast<const nlattr*>(p);
    if (a->nla_len < sizeof(nlattr)) break;
    if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG) {
      return std::string(static_cast<const char*>(mnl_attr_get_payload(a)));
    }
    p += NLA_ALIGN(a->nla_len);
  }
  return "";
}

// The network namespace the calling thread is in (its nsfs inode), or 0 when unknown.
ino_t currentNetns() {
  struct stat st {};
  return ::stat("/proc/thread-self/ns/net", &st) == 0 ? st.st_ino : 0;
}

// Reads and drops whatever is queued on the socket (replies of an exchange cut short by an error),
// so the next exchange reads only its own.
void drain(mnl_socket* nl) {
  char buf[4096];
  while (::recv(mnl_socket_get_fd(nl), buf, sizeof buf, MSG_DONTWAIT) > 0) {
  }
}

class NetlinkNftables final : public Nftables {
 public:
  // netproxy::sys::Nftables
  Result<NftStats> apply(const Batch& batch) override { return send({&batch}); }

  Result<NftStats> applyAll(const std::vector<Batch>& batches) override {
    std::vector<const Batch*> list;
    for (const Batch& b : batches) {
      if (!b.empty()) list.push_back(&b);
    }
    return send(list);
  }

  Result<std::vector<std::string>> listTables(Family family) override {
    std::lock_guard lock(mu_);
    SKIFF_ASSIGN_OR_RETURN(mnl_socket * nl, socket());
    auto names = listTableNames(nl, nextSeq(1), family);
    if (!names) nl_.reset();
    return names;
  }

 private:
  // The socket, opened on first use and kept: closing an nfnetlink socket right after a commit
  // that removed objects waits for the kernel's deferred destroy work (nft_rcv_nl_event flushes
  // it, an RCU grace period: ~11 ms here), which cost an open-per-call seam more than the commit
  // of a one-Service change. A socket belongs to the namespace it was made in, so a caller that
  // has moved to another network namespace gets a new one; after an error the next call does too.
  Result<mnl_socket*> socket() {
    ino_t ns = currentNetns();
    if (nl_ && ns == netns_ && ns != 0) {
      drain(nl_.get());
      return nl_.get();
    }
    nl_.reset();
    SKIFF_ASSIGN_OR_RETURN(nl_, openSocket());
    netns_ = ns;
    return nl_.get();
  }

  // The first of `n` fresh sequence numbers (a batch advances seq_ past its own): numbers do not
  // repeat on the kept socket, so a late reply cannot be taken for one of this exchange.
  uint32_t nextSeq(uint32_t n) {
    if (seq_ == 0) seq_ = static_cast<uint32_t>(::time(nullptr)) & 0x3fffffff;
    uint32_t first = seq_;
    seq_ += n;
    return first;
  }

  Result<NftStats> send(const std::vector<const Batch*>& batches) {
    NftStats st;
    if (batches.empty() || (batches.size() == 1 && batches[0]->empty())) return st;
    std::lock_guard lock(mu_);
    auto t0 = Clock::now();
    BatchWriter w(nextSeq(0));
    for (std::size_t i = 0; i < batches.size(); ++i) w.write(*batches[i], i);
    auto [data, len] = w.finish();
    seq_ = w.lastSeq() + 1;

    st.messages = w.messages();
    auto t1 = Clock::now();
    st.encode = t1 - t0;
    SKIFF_ASSIGN_OR_RETURN(mnl_socket * nl, socket());
    auto sent = sendBatch(nl, w, data, len, batches);
    if (!sent) {
      nl_.reset();  // the next call starts on a clean socket
      return std::move(sent).error();
    }
    st.kernel = Clock::now() - t1;
    return st;
  }

  static Result<void> sendBatch(mnl_socket* nl, const BatchWriter& w, const char* data,
                                std::size_t len, const std::vector<const Batch*>& batches) {
    int fd = mnl_socket_get_fd(nl);
    int size = static_cast<int>(std::min<std::size_t>(len + 65536, 1u << 30));
    if (::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) != 0) {
      (void)::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    }
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    iovec iov{const_cast<char*>(data), len};
    msghdr msg{};
    msg.msg_name = &kernel;
    msg.msg_namelen = sizeof kernel;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (::sendmsg(fd, &msg, 0) < 0) {
      int e = errno;
      return Error::fromErrno(e, fmt::format("send nftables batch ({} bytes)", len));
    }
    return readReplies(nl, w, batches);
  }

  static Result<std::vector<std::string>> listTableNames(mnl_socket* nl, uint32_t seq,
                                                         Family family) {
    char buf[MNL_SOCKET_BUFFER_SIZE];
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, nfproto(family), NLM_F_DUMP, seq);
    if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
      return Error::fromErrno(errno, "list nftables tables");
    }
    std::vector<std::string> names;
    auto cb = [](const nlmsghdr* n, void* data) -> int {
      Table t(nftnl_table_alloc());
      if (nftnl_table_nlmsg_parse(n, t.p) < 0) return MNL_CB_ERROR;
      static_cast<std::vector<std::string>*>(data)->push_back(
          nftnl_table_get_str(t.p, NFTNL_TABLE_NAME));
      return MNL_CB_OK;
    };
    uint32_t portid = mnl_socket_get_portid(nl);
    for (;;) {
      ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof buf);
      if (n < 0) {
        return Error::fromErrno(errno, "list nftables tables");
      }
      int r = mnl_cb_run(buf, static_cast<size_t>(n), seq, portid, cb, &names);
      if (r == MNL_CB_STOP) break;
      if (r < 0) {
        int e = errno;
        return Error(
            e == EPROTONOSUPPORT || e == EINVAL ? ErrorCode::Unavailable : ErrorCode::Internal, e,
            std::string("list nftables tables: ") + std::strerror(e));
      }
    }
    return names;
  }

  static Result<void> readReplies(mnl_socket* nl, const BatchWriter& w,
                                  const std::vector<const Batch*>& batches) {
    std::vector<char> buf(1 << 16);
    uint32_t last = w.lastSeq();
    std::optional<Error> first;
    int fd = mnl_socket_get_fd(nl);
    for (;;) {
      // nfnetlink processes the batch inside sendmsg, so every reply is queued by now: once an
      // error is in hand, drain what is left without waiting.
      ssize_t n = ::recv(fd, buf.data(), buf.size(), first ? MSG_DONTWAIT : 0);
      if (n < 0 && first && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      if (n < 0) return Error::fromErrno(errno, "read nftables batch result");
      bool done = false;
      int len = static_cast<int>(n);
      for (auto* nlh = reinterpret_cast<const nlmsghdr*>(buf.data()); mnl_nlmsg_ok(nlh, len);
           nlh = mnl_nlmsg_next(nlh, &len)) {
        if (nlh->nlmsg_type != NLMSG_ERROR) continue;
        const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
        uint32_t seq = nlh->nlmsg_seq;
        if (err->error != 0 && !first) {
          int e = -err->error;
          auto ref = w.opOf(seq);
          std::string text = std::strerror(e);
          if (auto ext = extAckText(nlh); !ext.empty()) text += " (" + ext + ")";
          // A commit-time error (sequence of BATCH_END) belongs to no table in particular.
          const Batch& b = *batches[ref ? ref->batch : 0];
          std::string where = ref || batches.size() == 1
                                  ? fmt::format("table '{} {}'", familyName(b.family), b.table)
                                  : fmt::format("{} tables", batches.size());
          std::string what = ref ? fmt::format("op {} ({})", ref->op, describe(b.ops[ref->op]))
                                 : std::string("commit");
          first = Error(e == ENOENT   ? ErrorCode::NotFound
                        : e == EEXIST ? ErrorCode::AlreadyExists
                                      : ErrorCode::Internal,
                        e, fmt::format("nftables batch on {}: {}: {}", where, what, text));
        }
        if (seq == last || !w.opOf(seq)) done = true;
      }
      if (done) break;
    }
    if (first) return *first;
    return ok();
  }

  std::mutex mu_;  // one exchange at a time on the kept socket
  MnlSocket nl_;
  ino_t netns_ = 0;  // the namespace nl_ belongs to
  uint32_t seq_ = 0;
};

}  // namespace

std::unique_ptr<Nftables> makeNetlinkNftables() { return std::make_unique<NetlinkNftables>(); }

}  // namespace skiff::netproxy::sys
