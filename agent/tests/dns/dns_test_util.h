#pragma once

// Test helpers: queries built and replies read with ldns, so tests speak the wire format through
// the same maintained library the server uses, not through hand-made bytes.

#include "skiff/agent/dns/ldns.h"

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace skiff::agent::dns::testing {

using nlohmann::json;
// A DNS message on the wire.
using Bytes = std::vector<std::uint8_t>;

struct PktFree {
  void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
using Pkt = std::unique_ptr<ldns_pkt, PktFree>;

inline Bytes query(const std::string& name, ldns_rr_type type, int edns_size = 0,
                   std::uint16_t id = 4242, ldns_rr_class klass = LDNS_RR_CLASS_IN) {
  ldns_pkt* p = ldns_pkt_query_new(ldns_dname_new_frm_str(name.c_str()), type, klass, LDNS_RD);
  ldns_pkt_set_id(p, id);
  if (edns_size > 0) ldns_pkt_set_edns_udp_size(p, static_cast<std::uint16_t>(edns_size));
  std::uint8_t* buf = nullptr;
  std::size_t n = 0;
  ldns_pkt2wire(&buf, p, &n);
  Bytes out(buf, buf + n);
  free(buf);
  ldns_pkt_free(p);
  return out;
}

inline Pkt parse(const Bytes& wire) {
  ldns_pkt* p = nullptr;
  if (ldns_wire2pkt(&p, wire.data(), wire.size()) != LDNS_STATUS_OK) {
    ldns_pkt_free(p);
    return nullptr;
  }
  return Pkt(p);
}

// The answer section's rdata as text ("10.96.0.1", "0 100 8080 x.svc.cluster.local.").
inline std::vector<std::string> answers(const ldns_pkt* p,
                                        ldns_pkt_section s = LDNS_SECTION_ANSWER) {
  std::vector<std::string> out;
  ldns_rr_list* l = ldns_pkt_get_section_clone(p, s);
  for (std::size_t i = 0; i < ldns_rr_list_rr_count(l); ++i) {
    ldns_rr* rr = ldns_rr_list_rr(l, i);
    std::string text;
    for (std::size_t j = 0; j < ldns_rr_rd_count(rr); ++j) {
      char* t = ldns_rdf2str(ldns_rr_rdf(rr, j));
      text += (j ? " " : "") + std::string(t);
      free(t);
    }
    out.push_back(text);
  }
  ldns_rr_list_deep_free(l);
  return out;
}

inline json service(const std::string& ns, const std::string& name, const std::string& cip,
                    json ports = json::array()) {
  return {{"metadata", {{"namespace", ns}, {"name", name}}},
          {"spec", {{"clusterIP", cip}, {"clusterIPs", json::array({cip})}, {"ports", ports}}}};
}

// A Service of type ExternalName: ns/name is an alias (CNAME) of `target`.
inline json externalName(const std::string& ns, const std::string& name,
                         const std::string& target) {
  return {{"metadata", {{"namespace", ns}, {"name", name}}},
          {"spec", {{"type", "ExternalName"}, {"externalName", target}}}};
}

inline json slice(const std::string& ns, const std::string& svc, json endpoints,
                  json ports = json::array()) {
  return {{"metadata",
           {{"namespace", ns},
            {"name", svc + "-abc"},
            {"labels", {{"kubernetes.io/service-name", svc}}}}},
          {"addressType", "IPv4"},
          {"endpoints", endpoints},
          {"ports", ports}};
}

inline json endpoint(const std::string& ip, bool ready = true, const std::string& hostname = "") {
  json e = {{"addresses", json::array({ip})}, {"conditions", {{"ready", ready}}}};
  if (!hostname.empty()) e["hostname"] = hostname;
  return e;
}

// `n` ready endpoints 10.244.7.1 .. 10.244.7.n (a headless Service whose answer is large).
inline json endpoints(int n) {
  json out = json::array();
  for (int i = 1; i <= n; ++i) out.push_back(endpoint("10.244.7." + std::to_string(i)));
  return out;
}

}  // namespace skiff::agent::dns::testing
