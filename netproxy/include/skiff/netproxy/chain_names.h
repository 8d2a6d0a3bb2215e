#pragma once

#include <string>
#include <string_view>

namespace skiff::netproxy {

// kube-proxy's chain names (pkg/proxy/iptables/proxier.go, reference/netproxy.md §1.3): the
// first 16 characters of base32(sha256(servicePortName + protocol [+ endpoint])), protocol in
// lower case. Test vectors from upstream: "ns1/svc1:p80" + "tcp" -> KUBE-SVC-XPGD46QRK7WJZT7O.
std::string portProtoHash(std::string_view service_port_name, std::string_view protocol);

std::string serviceChainName(std::string_view svc_port_name,
                             std::string_view protocol);                                // KUBE-SVC-
std::string localChainName(std::string_view svc_port_name, std::string_view protocol);  // KUBE-SVL-
std::string externalChainName(std::string_view svc_port_name,
                              std::string_view protocol);  // KUBE-EXT-
std::string firewallChainName(std::string_view svc_port_name,
                              std::string_view protocol);  // KUBE-FW-
// KUBE-SEP-; endpoint is "ip:port".
std::string endpointChainName(std::string_view svc_port_name, std::string_view protocol,
                              std::string_view endpoint);

// RFC 4648 base32 with padding (Go's base32.StdEncoding).
std::string base32Encode(const unsigned char* data, std::size_t len);

}  // namespace skiff::netproxy
