// The start-up helpers of agent_parts.h.
#include "agent_parts.h"

namespace skiff::agent::parts {

int64_t lowestOomScoreAdj() {
  auto read = [] {
    auto v = readFile("/proc/self/oom_score_adj", 64);
    return v ? std::strtoll(v->c_str(), nullptr, 10) : 0;
  };
  int64_t own = read();
  auto write = [](int64_t v) {
    std::ofstream f("/proc/self/oom_score_adj");
    f << v << std::flush;
    return bool(f);
  };
  if (!write(-1000)) return own;
  write(own);
  return -1000;
}

Result<CertAndKey> servingCert(const AgentConfig& cfg, const std::string& node,
                               const std::string& ip) {
  if (!cfg.tls_cert_file.empty()) {
    SKIFF_ASSIGN_OR_RETURN(auto cert, readFile(cfg.tls_cert_file, 1u << 20));
    SKIFF_ASSIGN_OR_RETURN(auto key, readFile(cfg.tls_private_key_file, 1u << 20));
    return CertAndKey{cert, key};
  }
  std::string dir = cfg.root_dir + "/pki";
  auto cert = readFile(dir + "/kubelet.crt", 1u << 20);
  auto key = readFile(dir + "/kubelet.key", 1u << 20);
  if (cert && key) return CertAndKey{*cert, *key};
  std::vector<std::string> ips = {"127.0.0.1"};
  if (!ip.empty()) ips.push_back(ip);
  SKIFF_ASSIGN_OR_RETURN(auto made, makeSelfSignedServingCert(node, {node, "localhost"}, ips));
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  SKIFF_TRY(writeFileAtomic(dir + "/kubelet.crt", made.cert_pem, 0644));
  SKIFF_TRY(writeFileAtomic(dir + "/kubelet.key", made.key_pem, 0600));
  return made;
}

}  // namespace skiff::agent::parts
