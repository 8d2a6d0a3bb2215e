// Node IPAM (pkg/controller/nodeipam, range allocator): gives each Node one spec.podCIDR from
// --cluster-cidr, never the same one twice, and frees it when the Node goes away. The set of
// used ranges is rebuilt from the Nodes themselves on the first sync, so a restart never
// hands out a CIDR that is already assigned.

#include <arpa/inet.h>

#include <map>
#include <mutex>
#include <set>

#include "skiff/common/log.h"
#include "skiff/master/controllers/controllers.h"
#include "skiff/master/informer/event_recorder.h"
#include "skiff/master/informer/meta.h"
#include "util.h"

namespace skiff::master {

namespace {

struct Cidr {
  std::uint32_t base = 0;
  int prefix = 0;
};

Result<Cidr> parseCidr(const std::string& text) {
  auto slash = text.find('/');
  if (slash == std::string::npos) return Error(ErrorCode::Invalid, "invalid CIDR '" + text + "'");
  in_addr addr{};
  if (::inet_pton(AF_INET, text.substr(0, slash).c_str(), &addr) != 1) {
    return Error(ErrorCode::Invalid, "invalid CIDR '" + text + "': only IPv4 is supported");
  }
  int prefix = -1;
  try {
    prefix = std::stoi(text.substr(slash + 1));
  } catch (const std::exception&) {
  }
  if (prefix < 0 || prefix > 32) return Error(ErrorCode::Invalid, "invalid CIDR '" + text + "'");
  std::uint32_t ip = ntohl(addr.s_addr);
  std::uint32_t mask = prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix);
  return Cidr{ip & mask, prefix};
}

std::string formatCidr(std::uint32_t ip, int prefix) {
  in_addr a{};
  a.s_addr = htonl(ip);
  char buf[INET_ADDRSTRLEN];
  ::inet_ntop(AF_INET, &a, buf, sizeof buf);
  return std::string(buf) + "/" + std::to_string(prefix);
}

class NodeIpamController : public RecordingController {
 public:
  NodeIpamController(ApiClient& client, std::shared_ptr<Clock> clock, Cidr cluster, int mask)
      : RecordingController("nodeipam", client, std::move(clock), "node-controller"),
        cluster_(cluster),
        mask_(mask) {}

  void registerHandlers(SharedInformers& inf) override {
    inf.get(gvr::kNodes)
        .addEventHandlers({
            .on_add = [this](const json& n) { queue().add(meta::name(n)); },
            .on_update = [this](const json&, const json& n) { queue().add(meta::name(n)); },
            .on_delete =
                [this](const json& n) {
                  std::lock_guard lock(mu_);
                  std::string cidr = meta::str(n, {"spec", "podCIDR"});
                  auto it = owner_.find(cidr);
                  if (it != owner_.end() && it->second == meta::name(n)) {
                    owner_.erase(it);  // ReleaseCIDR
                  }
                },
        });
  }

  Result<void> sync(const std::string& key) override {
    std::lock_guard lock(mu_);
    if (!initialised_) {
      // Occupy every range already assigned (restart safety), as the allocator does at start.
      SKIFF_ASSIGN_OR_RETURN(ObjectList nodes, client_.list(gvr::kNodes, "", ListOptions{}));
      for (const auto& n : nodes.items) {
        std::string cidr = meta::str(n, {"spec", "podCIDR"});
        if (!cidr.empty()) owner_[cidr] = meta::name(n);
      }
      initialised_ = true;
    }
    SKIFF_ASSIGN_OR_RETURN(std::optional<json> got, ctl::getIfExists(client_, gvr::kNodes, key));
    if (!got) return {};
    const json& node = *got;
    std::string have = meta::str(node, {"spec", "podCIDR"});
    if (!have.empty()) {
      owner_[have] = key;
      return {};
    }
    if (meta::isDeleting(node)) return {};
    std::uint64_t count = std::uint64_t{1} << (mask_ - cluster_.prefix);
    for (std::uint64_t i = 0; i < count; ++i) {
      std::uint32_t ip = cluster_.base + static_cast<std::uint32_t>(i << (32 - mask_));
      std::string cidr = formatCidr(ip, mask_);
      if (owner_.count(cidr) != 0) continue;
      json patch = {{"spec", {{"podCIDR", cidr}, {"podCIDRs", json::array({cidr})}}}};
      auto r = client_.patch(gvr::kNodes, "", key, PatchType::Merge, patch);
      if (!r) return std::move(r).error().wrap("assign pod CIDR to node '" + key + "'");
      owner_[cidr] = key;
      auto lg = log::get("master");
      SKIFF_LOG_INFO(lg, "Assigned pod CIDR", log::kv("node", key), log::kv("cidr", cidr));
      return {};
    }
    recorder_.event(node, "Normal", "CIDRNotAvailable",
                    "Node " + key + " status is now: CIDRNotAvailable");
    return Error(ErrorCode::Unavailable, "allocate pod CIDR for node '" + key +
                                             "': CIDR allocation failed; there are no remaining "
                                             "CIDRs left to allocate in the accepted range");
  }

 private:
  Cidr cluster_;
  int mask_;
  std::mutex mu_;
  bool initialised_ = false;
  std::map<std::string, std::string> owner_;  // cidr -> node
};

}  // namespace

Result<std::unique_ptr<Controller>> newNodeIpamController(ApiClient& client,
                                                          std::shared_ptr<Clock> clock,
                                                          const NodeIpamOptions& options) {
  SKIFF_ASSIGN_OR_RETURN(Cidr cidr, parseCidr(options.cluster_cidr));
  if (options.node_cidr_mask_size < cidr.prefix || options.node_cidr_mask_size > 30 ||
      options.node_cidr_mask_size - cidr.prefix > 20) {
    return Error(ErrorCode::Invalid, "invalid node CIDR mask size " +
                                         std::to_string(options.node_cidr_mask_size) +
                                         " for cluster CIDR '" + options.cluster_cidr + "'");
  }
  return std::unique_ptr<Controller>(std::make_unique<NodeIpamController>(
      client, std::move(clock), cidr, options.node_cidr_mask_size));
}

}  // namespace skiff::master
