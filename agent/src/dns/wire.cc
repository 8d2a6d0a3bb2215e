#include "skiff/agent/dns/wire.h"

#include <iterator>

#include "skiff/agent/dns/record_index.h"

namespace skiff::agent::dns {

namespace {

std::uint16_t u16(const std::uint8_t* d, std::size_t o) {
  return static_cast<std::uint16_t>((d[o] << 8) | d[o + 1]);
}

// Letters, digits, '-' and '_' only: anything else (a dot inside a label, a space, a backslash,
// a non-ASCII byte) is printed escaped by ldns, whose canonical form the slow path uses, so
// such names take that path to keep one notion of a name.
bool plain(std::uint8_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

}  // namespace

bool readQuery(const std::uint8_t* d, std::size_t len, QueryView* q) {
  if (len < 17 || (d[2] & 0xf8) != 0) return false;  // short, QR set, or opcode other than QUERY
  if (u16(d, 4) != 1 || u16(d, 6) != 0 || u16(d, 8) != 0 || u16(d, 10) > 1) return false;
  q->id = u16(d, 0);
  q->flags_hi = d[2];
  q->flags_lo = d[3];
  std::size_t off = 12, n = 0;
  for (;;) {
    if (off >= len) return false;
    std::uint8_t l = d[off++];
    if (l == 0) break;
    // A pointer or an extended label type (> 63), or a name over 253 characters dotted.
    if (l > 63 || off + l > len || n + l + (n ? 1 : 0) > 253) return false;
    if (n) q->name[n++] = '.';
    for (std::size_t i = 0; i < l; ++i) {
      std::uint8_t c = d[off + i];
      if (!plain(c)) return false;
      q->name[n++] = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    off += l;
  }
  q->name_len = n;
  if (off + 4 > len) return false;
  q->qtype = u16(d, off);
  q->qclass = u16(d, off + 2);
  off += 4;
  q->question_end = off;
  q->edns = false;
  q->dnssec_ok = false;
  q->udp_size = 0;
  if (u16(d, 10) == 1) {
    // OPT: root owner, TYPE 41, CLASS = payload size, TTL = ext-rcode, version, DO|Z, RDATA.
    if (off + 11 > len || d[off] != 0 || u16(d, off + 1) != kTypeOpt || d[off + 6] != 0)
      return false;
    q->edns = true;
    q->udp_size = u16(d, off + 3);
    q->dnssec_ok = (d[off + 7] & 0x80) != 0;
    off += 11 + u16(d, off + 9);
  }
  return off == len;
}

namespace {
// Skips one possibly compressed name; the offset after it, or 0 when it runs past `len`.
std::size_t skipName(const std::uint8_t* d, std::size_t len, std::size_t off) {
  while (off < len) {
    std::uint8_t l = d[off];
    if (l == 0) return off + 1;
    if ((l & 0xc0) == 0xc0) return off + 2 <= len ? off + 2 : 0;
    if (l > 63) return 0;
    off += 1 + l;
  }
  return 0;
}
}  // namespace

bool mapTtls(const std::uint8_t* d, std::size_t len, TtlMap* out) {
  out->offsets.clear();
  out->has_opt = false;
  if (len < 12) return false;
  std::size_t off = 12;
  for (int i = 0; i < u16(d, 4); ++i) {
    off = skipName(d, len, off);
    if (off == 0 || off + 4 > len) return false;
    off += 4;
  }
  int records = u16(d, 6) + u16(d, 8) + u16(d, 10);
  for (int i = 0; i < records; ++i) {
    off = skipName(d, len, off);
    if (off == 0 || off + 10 > len || off + 4 > 0xffff) return false;
    if (u16(d, off) == kTypeOpt) {
      out->has_opt = true;
    } else {
      out->offsets.push_back(static_cast<std::uint16_t>(off + 4));
    }
    off += 10 + u16(d, off + 8);
    if (off > len) return false;
  }
  return off == len;
}

NameWriter::NameWriter(std::string_view qname, std::size_t base) : base_(base) {
  for (std::size_t i = 0; i < qname.size();) {
    seen_.emplace(std::string(qname.substr(i)), static_cast<std::uint16_t>(12 + i));
    auto dot = qname.find('.', i);
    if (dot == std::string_view::npos) break;
    i = dot + 1;
  }
}

void NameWriter::write(std::vector<std::uint8_t>& out, std::string_view name) {
  while (!name.empty()) {
    auto it = seen_.find(std::string(name));
    if (it != seen_.end()) {
      put16(out, static_cast<std::uint16_t>(0xc000 | it->second));
      return;
    }
    std::size_t at = base_ + out.size();
    if (at < 0x4000) seen_.emplace(std::string(name), static_cast<std::uint16_t>(at));
    auto dot = name.find('.');
    std::string_view label = name.substr(0, dot);
    out.push_back(static_cast<std::uint8_t>(label.size()));
    out.insert(out.end(), label.begin(), label.end());
    name = dot == std::string_view::npos ? std::string_view() : name.substr(dot + 1);
  }
  out.push_back(0);
}

void put16(std::vector<std::uint8_t>& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}

void put32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  put16(out, static_cast<std::uint16_t>(v >> 16));
  put16(out, static_cast<std::uint16_t>(v));
}

void appendRrHeader(std::vector<std::uint8_t>& out, std::uint16_t type, std::uint32_t ttl,
                    std::uint16_t rdlen) {
  put16(out, type);
  put16(out, kClassIn);
  put32(out, ttl);
  put16(out, rdlen);
}

void appendSoa(std::vector<std::uint8_t>& out, std::size_t question_name_len,
               std::size_t domain_len, std::uint32_t ttl) {
  auto domain = static_cast<std::uint16_t>(0xc000 | (12 + question_name_len - domain_len));
  put16(out, domain);
  appendRrHeader(out, kTypeSoa, ttl, 42);
  static constexpr std::uint8_t kNsDns[] = {2, 'n', 's', 3, 'd', 'n', 's'};
  out.insert(out.end(), std::begin(kNsDns), std::end(kNsDns));
  put16(out, domain);
  out.push_back(10);
  for (char c : std::string_view("hostmaster")) out.push_back(static_cast<std::uint8_t>(c));
  put16(out, domain);
  for (std::uint32_t v : {1u, 7200u, 1800u, 86400u, ttl}) put32(out, v);
}

namespace {

constexpr std::uint16_t kQuestionName = 0xc00c;

// An RR whose RDATA is one name: the RDLENGTH is patched once the name is written.
void nameRr(std::vector<std::uint8_t>& out, NameWriter& w, std::uint16_t owner, std::uint16_t type,
            std::uint32_t ttl, std::string_view target, const std::uint8_t* prefix,
            std::size_t prefix_len) {
  put16(out, owner);
  appendRrHeader(out, type, ttl, 0);
  std::size_t rdlen_at = out.size() - 2, start = out.size();
  out.insert(out.end(), prefix, prefix + prefix_len);
  w.write(out, target);
  std::size_t rdlen = out.size() - start;
  out[rdlen_at] = static_cast<std::uint8_t>(rdlen >> 8);
  out[rdlen_at + 1] = static_cast<std::uint8_t>(rdlen);
}

template <std::size_t N>
void addresses(std::vector<std::uint8_t>& out, NameWriter* w, std::string_view owner,
               std::uint16_t type, std::uint32_t ttl,
               const std::vector<std::array<std::uint8_t, N>>& list, std::uint16_t* count) {
  for (const auto& a : list) {
    if (w == nullptr) {
      put16(out, kQuestionName);
    } else {
      w->write(out, owner);
    }
    appendRrHeader(out, type, ttl, N);
    out.insert(out.end(), a.begin(), a.end());
    ++*count;
  }
}

}  // namespace

std::vector<ReplyTemplate> buildTemplates(std::string_view name, const NameRecords& r,
                                          std::uint32_t ttl, const FindRecords& find) {
  std::vector<ReplyTemplate> out;
  if (!r.cname.empty()) return out;
  // The body starts after the header (12), the question name (dotted length + 2) and QTYPE/QCLASS.
  std::size_t base = 12 + name.size() + 2 + 4;
  auto add = [&](std::uint16_t type) -> ReplyTemplate& {
    out.push_back(ReplyTemplate{type, 0, 0, 0, {}});
    return out.back();
  };
  if (!r.a.empty()) {
    auto& t = add(kTypeA);
    addresses(t.body, nullptr, name, kTypeA, ttl, r.a, &t.ancount);
    t.answer_bytes = static_cast<std::uint32_t>(t.body.size());
  }
  if (!r.aaaa.empty()) {
    auto& t = add(kTypeAaaa);
    addresses(t.body, nullptr, name, kTypeAaaa, ttl, r.aaaa, &t.ancount);
    t.answer_bytes = static_cast<std::uint32_t>(t.body.size());
  }
  if (!r.srv.empty()) {
    auto& t = add(kTypeSrv);
    NameWriter w(name, base);
    for (const auto& s : r.srv) {
      std::uint8_t fixed[6] = {
          static_cast<std::uint8_t>(s.priority >> 8), static_cast<std::uint8_t>(s.priority),
          static_cast<std::uint8_t>(s.weight >> 8),   static_cast<std::uint8_t>(s.weight),
          static_cast<std::uint8_t>(s.port >> 8),     static_cast<std::uint8_t>(s.port)};
      nameRr(t.body, w, kQuestionName, kTypeSrv, ttl, s.target, fixed, sizeof fixed);
      ++t.ancount;
    }
    t.answer_bytes = static_cast<std::uint32_t>(t.body.size());
    // The targets' addresses in the additional section, as CoreDNS sends them.
    for (const auto& s : r.srv) {
      const NameRecords* target = find(s.target);
      if (target == nullptr) continue;
      addresses(t.body, &w, s.target, kTypeA, ttl, target->a, &t.arcount);
      addresses(t.body, &w, s.target, kTypeAaaa, ttl, target->aaaa, &t.arcount);
    }
  }
  if (!r.ptr.empty()) {
    auto& t = add(kTypePtr);
    NameWriter w(name, base);
    for (const auto& p : r.ptr) {
      nameRr(t.body, w, kQuestionName, kTypePtr, ttl, p, nullptr, 0);
      ++t.ancount;
    }
    t.answer_bytes = static_cast<std::uint32_t>(t.body.size());
  }
  for (auto& t : out) t.body.shrink_to_fit();
  return out;
}

}  // namespace skiff::agent::dns
