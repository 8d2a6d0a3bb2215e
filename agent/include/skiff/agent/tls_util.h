#pragma once

// Small OpenSSL helpers the join flow and the kubelet server share.

#include <string>
#include <string_view>
#include <vector>

#include "skiff/common/base64.h"        // base64Encode/Decode, used with these helpers
#include "skiff/common/ca_cert_hash.h"  // caCertHash (join pins the CA with it)
#include "skiff/common/result.h"

namespace skiff::agent {

// A new EC P-256 key and a PKCS#10 request with CN `common_name` and O `organization`, both PEM.
struct CsrAndKey {
  std::string csr_pem;
  std::string key_pem;
};
Result<CsrAndKey> makeCsr(const std::string& common_name, const std::string& organization);

// A self-signed serving certificate for the kubelet API (as kubelet does without
// serverTLSBootstrap: "<host>@<unix time>" CA-less self-signed), with SANs for `dns_names` and
// `ips`. Valid for one year.
struct CertAndKey {
  std::string cert_pem;
  std::string key_pem;
};
Result<CertAndKey> makeSelfSignedServingCert(const std::string& host,
                                             const std::vector<std::string>& dns_names,
                                             const std::vector<std::string>& ips);

}  // namespace skiff::agent

namespace skiff::agent {

// TLS-handshakes with host:port without verifying anything and returns the PEM certificates the
// server presented (leaf first). Only for the join flow, which then pins the CA by its hash.
Result<std::vector<std::string>> fetchServerCertificates(const std::string& host,
                                                         const std::string& port);

}  // namespace skiff::agent
