#pragma once

// Joining a cluster with a bootstrap token, as kubeadm join does (and k3s's CA-hash token):
//  1. discovery: read the cluster CA without trusting anyone yet — the kube-public/cluster-info
//     ConfigMap (anonymous), or failing that the certificates the server presents — and accept
//     it only if sha256(SubjectPublicKeyInfo) equals --ca-cert-hash;
//  2. TLS bootstrap: with the bootstrap token over the now-verified connection, POST a
//     CertificateSigningRequest (signerName kubernetes.io/kube-apiserver-client-kubelet,
//     CN system:node:<name>, O system:nodes) and wait for status.certificate;
//  3. write a kubeconfig with the CA, the certificate and the key (mode 0600), so later starts
//     need no token.

#include <string>

#include "skiff/agent/config.h"
#include "skiff/agent/kubeconfig.h"

namespace skiff::agent {

// "abcdef.0123456789abcdef": [a-z0-9]{6}.[a-z0-9]{16}.
Result<void> validateBootstrapToken(const std::string& token);

Result<KubeConfig> joinCluster(const AgentConfig& cfg, const std::string& node_name);

}  // namespace skiff::agent
