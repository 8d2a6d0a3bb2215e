// IpvsKernel over a generic-netlink transport: one request per method, replies checked.
#include <linux/ip_vs.h>
#include <linux/netlink.h>

#include "skiff/netproxy/ipvs/ipvs.h"
#include "skiff/netproxy/ipvs/ipvs_codec.h"

namespace skiff::netproxy::ipvs {

std::string VirtualServer::key() const {
  return addr.str() + ":" + std::to_string(port) + "/" +
         (protocol == Protocol::Udp ? "UDP" : "TCP");
}

std::string RealServer::key() const { return addr.str() + ":" + std::to_string(port); }

namespace {

class GenlIpvs final : public IpvsKernel {
 public:
  GenlIpvs(GenlTransport& t, uint16_t family) : t_(t), family_(family) {}

  Result<std::vector<VirtualServer>> listServices() override {
    SKIFF_ASSIGN_OR_RETURN(auto replies, dump(IPVS_CMD_GET_SERVICE, nullptr, "list services"));
    std::vector<VirtualServer> out;
    for (const auto& m : replies) {
      auto vs = decodeService(m);
      if (!vs) return std::move(vs).error().wrap("list services");
      out.push_back(*vs);
    }
    return out;
  }
  Result<void> addService(const VirtualServer& vs) override {
    return request(IPVS_CMD_NEW_SERVICE, &vs, nullptr, "add virtual server " + vs.key());
  }
  Result<void> updateService(const VirtualServer& vs) override {
    return request(IPVS_CMD_SET_SERVICE, &vs, nullptr, "update virtual server " + vs.key());
  }
  Result<void> deleteService(const VirtualServer& vs) override {
    return request(IPVS_CMD_DEL_SERVICE, &vs, nullptr, "delete virtual server " + vs.key());
  }
  Result<std::vector<RealServer>> listDestinations(const VirtualServer& vs) override {
    std::string what = "list real servers of " + vs.key();
    SKIFF_ASSIGN_OR_RETURN(auto replies, dump(IPVS_CMD_GET_DEST, &vs, what));
    std::vector<RealServer> out;
    for (const auto& m : replies) {
      auto rs = decodeDestination(m);
      if (!rs) return std::move(rs).error().wrap(what);
      out.push_back(*rs);
    }
    return out;
  }
  Result<void> addDestination(const VirtualServer& vs, const RealServer& rs) override {
    return request(IPVS_CMD_NEW_DEST, &vs, &rs, "add real server " + rs.key() + " to " + vs.key());
  }
  Result<void> updateDestination(const VirtualServer& vs, const RealServer& rs) override {
    return request(IPVS_CMD_SET_DEST, &vs, &rs,
                   "update real server " + rs.key() + " of " + vs.key());
  }
  Result<void> deleteDestination(const VirtualServer& vs, const RealServer& rs) override {
    return request(IPVS_CMD_DEL_DEST, &vs, &rs,
                   "delete real server " + rs.key() + " of " + vs.key());
  }

 private:
  // A command answered by one ACK (or an error).
  Result<void> request(uint8_t cmd, const VirtualServer* vs, const RealServer* rs,
                       const std::string& what) {
    auto replies = t_.roundTrip(encodeRequest(family_, cmd, ++seq_, vs, rs));
    if (!replies) return std::move(replies).error().wrap(what);
    for (const auto& m : *replies) {
      auto err = decodeAck(m);
      if (!err) return std::move(err).error().wrap(what);
      if (*err != 0) return Error::fromErrno(*err, what);
      return ok();
    }
    return Error(ErrorCode::Internal, what + ": no acknowledgement from the kernel");
  }

  // A dump: the data messages, an error if the kernel answered one.
  Result<std::vector<std::string>> dump(uint8_t cmd, const VirtualServer* vs,
                                        const std::string& what) {
    auto replies = t_.roundTrip(encodeRequest(family_, cmd, ++seq_, vs, nullptr));
    if (!replies) return std::move(replies).error().wrap(what);
    std::vector<std::string> data;
    for (auto& m : *replies) {
      if (m.size() < sizeof(nlmsghdr)) return Error(ErrorCode::Invalid, what + ": short reply");
      const auto* h = reinterpret_cast<const nlmsghdr*>(m.data());
      if (h->nlmsg_type == NLMSG_DONE) break;
      if (h->nlmsg_type == NLMSG_ERROR) {
        SKIFF_ASSIGN_OR_RETURN(int err, decodeAck(m));
        if (err != 0) return Error::fromErrno(err, what);
        continue;
      }
      data.push_back(std::move(m));
    }
    return data;
  }

  GenlTransport& t_;
  uint16_t family_;
  uint32_t seq_ = 0;
};

}  // namespace

Result<std::unique_ptr<IpvsKernel>> openIpvs(GenlTransport& transport) {
  auto family = transport.resolveFamily();
  if (!family) {
    return Error(ErrorCode::NotFound,
                 "IPVS is not available: the generic netlink family \"" IPVS_GENL_NAME
                 "\" does not resolve (" +
                     family.error().message() + "; is the ip_vs module loaded?)");
  }
  return std::unique_ptr<IpvsKernel>(std::make_unique<GenlIpvs>(transport, *family));
}

}  // namespace skiff::netproxy::ipvs
