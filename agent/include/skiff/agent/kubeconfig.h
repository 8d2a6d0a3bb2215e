#pragma once

// kubeconfig files (reference/kube-api-surface.md §8): the current context's cluster (server,
// certificate-authority[-data], insecure-skip-tls-verify) and user (client-certificate[-data],
// client-key[-data] or token[-file]). YAML or JSON.

#include <string>
#include <string_view>
#include <vector>

#include "skiff/agent/http_transport.h"
#include "skiff/common/result.h"

namespace skiff::agent {

struct KubeConfig {
  std::string server;  // https://host:port
  TlsOptions tls;
  std::string token;
};

// Parses kubeconfig text; relative file references (certificate-authority: ca.crt) resolve
// against `base_dir`, as kubectl resolves them against the kubeconfig's directory.
Result<KubeConfig> parseKubeconfig(std::string_view text, const std::string& base_dir);
Result<KubeConfig> loadKubeconfig(const std::string& path);

// A self-contained kubeconfig (cluster, user and context all named "default", data embedded
// base64, as k3s writes them). YAML that is also plain to read.
std::string renderKubeconfig(const KubeConfig& cfg);

// A transport for the kubeconfig's server with its credentials; with `also` (HA masters: the
// other entries of --server), one over the kubeconfig's server first and then those, failing
// over between them (makeFailoverTransport).
Result<HttpTransportPtr> transportFromKubeconfig(const KubeConfig& cfg,
                                                 const std::vector<std::string>& also = {});

}  // namespace skiff::agent
