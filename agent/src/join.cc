#include "skiff/agent/join.h"

#include <sys/stat.h>

#include <filesystem>
#include <thread>

#include "skiff/agent/kube_client.h"
#include "skiff/agent/kubeconfig.h"
#include "skiff/agent/tls_util.h"
#include "skiff/common/file.h"
#include "skiff/common/log.h"
#include "skiff/common/split_list.h"

namespace skiff::agent {

using nlohmann::json;
using skiff::log::kv;

Result<void> validateBootstrapToken(const std::string& token) {
  auto ok_chars = [](const std::string& s) {
    return s.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789") == std::string::npos;
  };
  auto dot = token.find('.');
  if (dot != 6 || token.size() != 23 || !ok_chars(token.substr(0, 6)) ||
      !ok_chars(token.substr(7))) {
    return Error(ErrorCode::Invalid,
                 "the bootstrap token must be of the form [a-z0-9]{6}.[a-z0-9]{16}");
  }
  return ok();
}

namespace {

// kubeadm discovery: the CA from cluster-info, else from the presented chain; pinned by hash.
Result<std::string> discoverCa(const AgentConfig& cfg, const ServerAddress& addr) {
  auto lg = skiff::log::get("agent");
  std::vector<std::string> candidates;
  TlsOptions insecure;
  insecure.insecure_skip_verify = true;
  SKIFF_ASSIGN_OR_RETURN(auto anon, makeHttpsTransport(addr, insecure, ""));
  KubeClient anon_client(anon);
  auto ci = anon_client.get(apiPath("", "v1", "configmaps", "kube-public", "cluster-info"));
  if (ci) {
    std::string kc = ci->value("data", json::object()).value("kubeconfig", "");
    auto parsed = parseKubeconfig(kc, "/");
    if (parsed && !parsed->tls.ca_pem.empty()) candidates.push_back(parsed->tls.ca_pem);
  } else {
    SKIFF_LOG_DEBUG(lg, "No cluster-info ConfigMap, using the server's certificate chain",
                    kv("err", ci.error().message()));
  }
  auto chain = fetchServerCertificates(addr.host, addr.port);
  if (chain) {
    for (const auto& c : *chain) candidates.push_back(c);
  }
  if (candidates.empty()) {
    return Error(ErrorCode::Unavailable, "discover cluster CA at '" + addr.url() + "': " +
                                             (chain ? "no certificates" : chain.error().message()));
  }
  std::string want = cfg.ca_cert_hash;
  for (auto& c : want) c = static_cast<char>(std::tolower(c));
  for (const auto& pem : candidates) {
    auto h = caCertHash(pem);
    if (h && *h == want) return pem;
  }
  return Error(ErrorCode::Forbidden,
               "cluster CA found, but none of its public keys match the pin '" + cfg.ca_cert_hash +
                   "' (--ca-cert-hash)");
}

}  // namespace

Result<KubeConfig> joinCluster(const AgentConfig& cfg, const std::string& node_name) {
  auto lg = skiff::log::get("agent");
  if (splitList(cfg.server).empty() || cfg.token.empty()) {
    return Error(ErrorCode::Invalid, "join needs --server and --token");
  }
  SKIFF_TRY(validateBootstrapToken(cfg.token));
  if (cfg.ca_cert_hash.rfind("sha256:", 0) != 0 || cfg.ca_cert_hash.size() != 71) {
    return Error(ErrorCode::Invalid,
                 "--ca-cert-hash must be sha256:<64 hex digits> (kubeadm's "
                 "discovery-token-ca-cert-hash)");
  }
  // With several masters (--server a,b) the node joins through the first; the others are the
  // running agent's fallbacks.
  const std::string server = splitList(cfg.server).front();
  SKIFF_ASSIGN_OR_RETURN(auto addr, parseServerUrl(server));
  SKIFF_ASSIGN_OR_RETURN(std::string ca, discoverCa(cfg, addr));
  SKIFF_LOG_INFO(lg, "Cluster CA verified against the pinned public key", kv("server", server));

  TlsOptions tls;
  tls.ca_pem = ca;
  SKIFF_ASSIGN_OR_RETURN(auto boot, makeHttpsTransport(addr, tls, cfg.token));
  KubeClient client(boot);
  SKIFF_ASSIGN_OR_RETURN(auto csr, makeCsr("system:node:" + node_name, "system:nodes"));
  json req = {{"apiVersion", "certificates.k8s.io/v1"},
              {"kind", "CertificateSigningRequest"},
              {"metadata", {{"generateName", "node-csr-"}}},
              {"spec",
               {{"request", base64Encode(csr.csr_pem)},
                {"signerName", "kubernetes.io/kube-apiserver-client-kubelet"},
                {"usages", {"digital signature", "client auth"}}}}};
  auto created =
      client.create(apiPath("certificates.k8s.io", "v1", "certificatesigningrequests"), req);
  if (!created) return std::move(created).error().wrap("request node certificate");
  std::string name = (*created)["metadata"].value("name", "");
  json obj = *created;
  for (int i = 0; i < 300; ++i) {
    std::string cert_b64 = obj.value("status", json::object()).value("certificate", "");
    if (!cert_b64.empty()) {
      SKIFF_ASSIGN_OR_RETURN(auto cert, base64Decode(cert_b64));
      KubeConfig out;
      out.server = server;
      out.tls.ca_pem = ca;
      out.tls.client_cert_pem = cert;
      out.tls.client_key_pem = csr.key_pem;
      std::string path = cfg.kubeconfigPath();
      std::error_code ec;
      std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
      SKIFF_TRY(writeFileAtomic(path, renderKubeconfig(out), 0600));
      SKIFF_LOG_INFO(lg, "Node credentials issued and stored", kv("csr", name),
                     kv("kubeconfig", path));
      return out;
    }
    for (const auto& c : obj.value("status", json::object()).value("conditions", json::array())) {
      std::string t = c.value("type", "");
      if (t == "Denied" || t == "Failed") {
        return Error(ErrorCode::Forbidden, "certificate signing request '" + name + "' " +
                                               (t == "Denied" ? "was denied" : "failed") + ": " +
                                               c.value("message", ""));
      }
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
    auto cur =
        client.get(apiPath("certificates.k8s.io", "v1", "certificatesigningrequests", "", name));
    if (cur) obj = *cur;
  }
  return Error(ErrorCode::Timeout,
               "certificate signing request '" + name + "' was not approved within 5 minutes");
}

}  // namespace skiff::agent
