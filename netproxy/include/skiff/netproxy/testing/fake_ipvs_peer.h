#pragma once

// A fake generic-netlink peer for the IPVS family: it decodes requests byte by byte with the
// kernel's linux/ip_vs.h attribute layout and the kernel's rules (ip_vs_genl_parse_service /
// _dest: which attributes a command needs, EEXIST/ESRCH/ENOENT), keeps virtual and real servers,
// and answers dumps and ACKs as the kernel frames them. It does not use libnl, so the encoder is
// checked against an independent reading of the layout.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "skiff/netproxy/ipvs/ipvs.h"

namespace skiff::netproxy::testing {

class FakeIpvsPeer final : public ipvs::GenlTransport {
 public:
  static constexpr uint16_t kFamily = 0x23;

  struct Dest {
    uint32_t forward = 0, weight = 0, upper = 0, lower = 0;
    uint32_t active = 0, inactive = 0;
  };
  struct Service {
    std::string scheduler;
    uint32_t flags = 0, timeout = 0, netmask = 0;
    std::map<std::string, Dest> dests;  // "ip:port"
  };

  // The kernel has no IPVS module: the family does not resolve.
  bool available = true;
  // Every request's command name ("NEW_SERVICE 10.96.0.1:80/TCP"), for assertions.
  std::vector<std::string> log;
  // Virtual servers by "ip:port/PROTO".
  std::map<std::string, Service> services;

  Result<uint16_t> resolveFamily() override;
  Result<std::vector<std::string>> roundTrip(const std::string& request) override;

  // Sets a real server's connection counts (as traffic would).
  void setConnections(const std::string& service, const std::string& dest, uint32_t active,
                      uint32_t inactive);
};

}  // namespace skiff::netproxy::testing
