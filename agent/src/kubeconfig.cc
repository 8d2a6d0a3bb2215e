#include "skiff/agent/kubeconfig.h"

#include "skiff/common/kubeconfig.h"

#include <algorithm>

namespace skiff::agent {
namespace {

KubeConfig fromCommon(skiff::Kubeconfig k) {
  KubeConfig out;
  out.server = std::move(k.server);
  out.tls.ca_pem = std::move(k.ca_pem);
  out.tls.client_cert_pem = std::move(k.client_cert_pem);
  out.tls.client_key_pem = std::move(k.client_key_pem);
  out.tls.insecure_skip_verify = k.insecure_skip_tls_verify;
  out.token = std::move(k.token);
  return out;
}

}  // namespace

Result<KubeConfig> parseKubeconfig(std::string_view text, const std::string& base_dir) {
  SKIFF_ASSIGN_OR_RETURN(skiff::Kubeconfig k, skiff::parseKubeconfig(text, base_dir));
  return fromCommon(std::move(k));
}

Result<KubeConfig> loadKubeconfig(const std::string& path) {
  SKIFF_ASSIGN_OR_RETURN(skiff::Kubeconfig k, skiff::loadKubeconfig(path));
  return fromCommon(std::move(k));
}

std::string renderKubeconfig(const KubeConfig& cfg) {
  return skiff::renderKubeconfig({cfg.server, cfg.tls.ca_pem, cfg.tls.client_cert_pem,
                                  cfg.tls.client_key_pem, cfg.token, cfg.tls.insecure_skip_verify});
}

Result<HttpTransportPtr> transportFromKubeconfig(const KubeConfig& cfg,
                                                 const std::vector<std::string>& also) {
  std::vector<HttpTransportPtr> servers;
  std::vector<std::string> urls = {cfg.server};
  for (const std::string& url : also) {
    if (std::find(urls.begin(), urls.end(), url) == urls.end()) urls.push_back(url);
  }
  for (const std::string& url : urls) {
    SKIFF_ASSIGN_OR_RETURN(auto addr, parseServerUrl(url));
    SKIFF_ASSIGN_OR_RETURN(auto t, makeHttpsTransport(std::move(addr), cfg.tls, cfg.token));
    servers.push_back(std::move(t));
  }
  return makeFailoverTransport(std::move(servers));
}

}  // namespace skiff::agent
