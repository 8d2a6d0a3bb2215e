#pragma once

// Encoding of IPVS generic-netlink requests and decoding of the kernel's replies, with the
// attribute layout of linux/ip_vs.h: addresses as 16-byte nf_inet_addr, ports in network byte
// order, flags as struct ip_vs_flags {flags, mask}. Pure functions over bytes.

#include <cstdint>
#include <string>
#include <vector>

#include "skiff/common/result.h"
#include "skiff/netproxy/ipvs/ipvs.h"

namespace skiff::netproxy::ipvs {

// A request for `cmd` (IPVS_CMD_*): with the service's full attributes for NEW/SET_SERVICE,
// only its key for the others; with the destination when given. Dumps (GET_*) carry NLM_F_DUMP.
std::string encodeRequest(uint16_t family, uint8_t cmd, uint32_t seq, const VirtualServer* vs,
                          const RealServer* rs);

// The errno of an NLMSG_ERROR reply (0 = ACK); InvalidArgument when `msg` is not one.
Result<int> decodeAck(const std::string& msg);
// One IPVS_CMD_NEW_SERVICE message of a service dump.
Result<VirtualServer> decodeService(const std::string& msg);
// One IPVS_CMD_NEW_DEST message of a destination dump.
Result<RealServer> decodeDestination(const std::string& msg);

// Hex dump (two digits a byte, no separators) for golden files.
std::string toHex(const std::string& bytes);

}  // namespace skiff::netproxy::ipvs
