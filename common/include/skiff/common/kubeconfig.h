#pragma once

// kubeconfig files (reference/kube-api-surface.md §8): the current context's cluster (server,
// certificate-authority[-data], insecure-skip-tls-verify) and user (client-certificate[-data],
// client-key[-data], token or tokenFile). YAML or JSON. Read by the agent (its node
// credentials, --kubeconfig) and by `skiff-master token` (the admin kubeconfig).

#include <string>
#include <string_view>

#include "skiff/common/result.h"

namespace skiff {

struct Kubeconfig {
  std::string server;  // https://host:port
  std::string ca_pem;  // empty: the system trust store
  std::string client_cert_pem;
  std::string client_key_pem;
  std::string token;
  bool insecure_skip_tls_verify = false;
};

// Parses kubeconfig text; relative file references (certificate-authority: ca.crt) resolve
// against `base_dir`, as kubectl resolves them against the kubeconfig's directory. `*-data`
// (base64) wins over the file form, as in client-go.
Result<Kubeconfig> parseKubeconfig(std::string_view text, const std::string& base_dir);
Result<Kubeconfig> loadKubeconfig(const std::string& path);

// A self-contained kubeconfig (cluster, user and context all named "default", data embedded
// base64, as k3s writes them). YAML that is also plain to read.
std::string renderKubeconfig(const Kubeconfig& cfg);

}  // namespace skiff
