#pragma once

// First-start PKI for skiff-master (reference/kube-api-surface.md §8): a CA, a serving
// certificate with every name and address clients use, an admin client certificate
// (CN=kubernetes-admin, O=system:masters) and the client certificate the API server presents to
// node agents; the ServiceAccount signing key pair; plus the admin kubeconfig.

#include <cstdint>
#include <string>
#include <vector>

#include "skiff/common/result.h"

namespace skiff::master {

struct PkiOptions {
  std::string dir;                    // <data-dir>/pki
  std::vector<std::string> dns_sans;  // hostname, kubernetes.default.svc, ...
  std::vector<std::string> ip_sans;   // 127.0.0.1, node IPs, advertise address, 10.96.0.1
};

struct PkiFiles {
  std::string ca_cert, ca_key;  // PEM files
  std::string server_cert, server_key;
  std::string admin_cert, admin_key;
  std::string kubelet_client_cert, kubelet_client_key;
  // The ServiceAccount token signing key pair (kubeadm's sa.key/sa.pub): RSA, created on the
  // first start and kept, so tokens issued before a restart stay valid.
  std::string sa_key, sa_pub;
  // The front proxy's CA and the client certificate (CN=front-proxy-client) the aggregator
  // presents to aggregated API servers with X-Remote-User/-Group (kubeadm's file names).
  std::string front_proxy_ca_cert, front_proxy_ca_key;
  std::string front_proxy_client_cert, front_proxy_client_key;
};

// Loads the CA and client certificates when present (creating them otherwise) and (re)issues the
// serving certificate so its SANs match this start's addresses.
Result<PkiFiles> ensurePki(const PkiOptions& options);

// The kubernetes.io/kube-apiserver-client signer: signs a PEM CSR as a client certificate for
// whatever subject it names (CN = user, O = groups); the CSR's approval is the policy.
Result<std::string> signClientCsr(const PkiFiles& pki, const std::string& csr_pem,
                                  std::int64_t seconds);

// Signs a PEM CSR as a node client certificate: the subject must be CN=system:node:<name>,
// O=system:nodes. Returns the PEM certificate.
Result<std::string> signNodeClientCsr(const PkiFiles& pki, const std::string& csr_pem,
                                      std::int64_t seconds);

// Writes a kubeconfig (k3s shape: cluster/user/context all "default") with embedded data.
Result<void> writeKubeconfig(const std::string& path, const std::string& server_url,
                             const std::string& ca_pem, const std::string& cert_pem,
                             const std::string& key_pem);

}  // namespace skiff::master
