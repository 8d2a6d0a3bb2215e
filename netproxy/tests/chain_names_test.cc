#include "skiff/netproxy/chain_names.h"

#include <gtest/gtest.h>

namespace skiff::netproxy {
namespace {

// Vectors from kube-proxy's pkg/proxy/iptables/proxier_test.go (and reference/netproxy.md §1.3).
TEST(ChainNamesTest, MatchUpstreamServiceVectors) {
  EXPECT_EQ(serviceChainName("ns1/svc1:p80", "tcp"), "KUBE-SVC-XPGD46QRK7WJZT7O");
  EXPECT_EQ(serviceChainName("ns2/svc2:p80", "tcp"), "KUBE-SVC-GNZBNJ2PO5MGZ6GT");
  EXPECT_EQ(serviceChainName("ns3/svc3:p80", "tcp"), "KUBE-SVC-X27LE4BHSL4DOUIK");
}

TEST(ChainNamesTest, MatchUpstreamEndpointVector) {
  EXPECT_EQ(endpointChainName("ns1/svc1:p80", "tcp", "10.180.0.1:80"), "KUBE-SEP-SXIVWICOYRO3J4NJ");
}

TEST(ChainNamesTest, FamiliesShareTheHash) {
  std::string h = portProtoHash("ns1/svc1:p80", "tcp");
  EXPECT_EQ(localChainName("ns1/svc1:p80", "tcp"), "KUBE-SVL-" + h);
  EXPECT_EQ(externalChainName("ns1/svc1:p80", "tcp"), "KUBE-EXT-" + h);
  EXPECT_EQ(firewallChainName("ns1/svc1:p80", "tcp"), "KUBE-FW-" + h);
  EXPECT_NE(portProtoHash("ns1/svc1:p80", "udp"), h);
}

TEST(ChainNamesTest, Base32MatchesRfc4648) {
  auto enc = [](std::string s) {
    return base32Encode(reinterpret_cast<const unsigned char*>(s.data()), s.size());
  };
  EXPECT_EQ(enc(""), "");
  EXPECT_EQ(enc("f"), "MY======");
  EXPECT_EQ(enc("fo"), "MZXQ====");
  EXPECT_EQ(enc("foo"), "MZXW6===");
  EXPECT_EQ(enc("foob"), "MZXW6YQ=");
  EXPECT_EQ(enc("fooba"), "MZXW6YTB");
  EXPECT_EQ(enc("foobar"), "MZXW6YTBOI======");
}

}  // namespace
}  // namespace skiff::netproxy
