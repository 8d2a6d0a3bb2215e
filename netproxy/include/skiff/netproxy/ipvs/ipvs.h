#pragma once

// IPVS virtual and real servers, and the seam to the kernel's IPVS generic-netlink family
// (linux/ip_vs.h), modelled on kube-proxy's pkg/proxy/ipvs/util interface: one request per
// method, no policy. The encoding lives in ipvs_codec.h so that it can be checked against golden
// messages and a fake generic-netlink peer.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "skiff/common/result.h"
#include "skiff/netproxy/ipv4.h"
#include "skiff/netproxy/rule.h"

namespace skiff::netproxy::ipvs {

// IP_VS_SVC_F_PERSISTENT: ClientIP affinity (timeout = the affinity seconds).
inline constexpr uint32_t kFlagPersistent = 0x0001;
// IP_VS_CONN_F_MASQ: real servers are reached by NAT (the only method kube-proxy uses).
inline constexpr uint32_t kForwardMasq = 0x0000;

struct VirtualServer {
  Ipv4 addr;
  uint16_t port = 0;
  Protocol protocol = Protocol::Tcp;
  std::string scheduler = "rr";
  uint32_t flags = 0;
  uint32_t timeout = 0;  // seconds, with kFlagPersistent
  uint32_t netmask = 0xffffffff;
  // "10.96.0.1:80/TCP": identifies the virtual server (the kernel's key is af, proto, addr, port).
  std::string key() const;
  friend bool operator==(const VirtualServer&, const VirtualServer&) = default;
};

struct RealServer {
  Ipv4 addr;
  uint16_t port = 0;
  uint32_t weight = 1;
  uint32_t forward = kForwardMasq;
  uint32_t upper_threshold = 0, lower_threshold = 0;
  // Read back from the kernel only.
  uint32_t active_conns = 0, inactive_conns = 0;
  std::string key() const;  // "10.244.1.5:8080"
};

// The IPVS family, bound to one network namespace.
class IpvsKernel {
 public:
  virtual ~IpvsKernel() = default;
  virtual Result<std::vector<VirtualServer>> listServices() = 0;
  virtual Result<void> addService(const VirtualServer& vs) = 0;
  virtual Result<void> updateService(const VirtualServer& vs) = 0;
  virtual Result<void> deleteService(const VirtualServer& vs) = 0;
  virtual Result<std::vector<RealServer>> listDestinations(const VirtualServer& vs) = 0;
  virtual Result<void> addDestination(const VirtualServer& vs, const RealServer& rs) = 0;
  virtual Result<void> updateDestination(const VirtualServer& vs, const RealServer& rs) = 0;
  virtual Result<void> deleteDestination(const VirtualServer& vs, const RealServer& rs) = 0;
};

// One generic-netlink request and its replies (each a whole nlmsghdr-framed message; an ACK or
// error is an NLMSG_ERROR message). The real one is a libnl-genl socket; tests use a fake peer.
class GenlTransport {
 public:
  virtual ~GenlTransport() = default;
  // The family id of "IPVS"; NotFound when the kernel has no IPVS (module not loaded/built).
  virtual Result<uint16_t> resolveFamily() = 0;
  virtual Result<std::vector<std::string>> roundTrip(const std::string& request) = 0;
};

// A libnl-genl socket in the current network namespace.
Result<std::unique_ptr<GenlTransport>> openGenlSocket();

// IpvsKernel over a transport. Fails with NotFound (and a message that says so) when the kernel
// has no IPVS, so the caller can fall back to another proxy mode.
Result<std::unique_ptr<IpvsKernel>> openIpvs(GenlTransport& transport);

}  // namespace skiff::netproxy::ipvs
