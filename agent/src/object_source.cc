#include "skiff/agent/object_source.h"

#include "skiff/agent/token_manager.h"
#include "skiff/common/rfc3339.h"

namespace skiff::agent {
namespace {

using nlohmann::json;

class ApiObjectSource final : public ObjectSource {
 public:
  ApiObjectSource(KubeClientPtr c, ServiceLister lister)
      : c_(std::move(c)),
        lister_(std::move(lister)),
        tokens_([this](const TokenRequestSpec& s) { return requestToken(s); }) {}

  Result<json> configMap(const std::string& ns, const std::string& name) override {
    return c_->get(apiPath("", "v1", "configmaps", ns, name));
  }
  Result<json> secret(const std::string& ns, const std::string& name) override {
    return c_->get(apiPath("", "v1", "secrets", ns, name));
  }
  Result<json> persistentVolumeClaim(const std::string& ns, const std::string& name) override {
    return c_->get(apiPath("", "v1", "persistentvolumeclaims", ns, name));
  }
  Result<json> persistentVolume(const std::string& name) override {
    return c_->get(apiPath("", "v1", "persistentvolumes", "", name));
  }
  Result<std::vector<json>> services(const std::string& ns) override {
    if (lister_) {
      if (auto cached = lister_(ns)) {
        std::vector<json> out = std::move(*cached);
        if (ns != "default") {
          for (auto& k : lister_("default").value_or(std::vector<json>{})) {
            if (k["metadata"].value("name", "") == "kubernetes") out.push_back(std::move(k));
          }
        }
        return out;
      }
    }
    std::vector<json> out;
    SKIFF_ASSIGN_OR_RETURN(auto l, c_->list(apiPath("", "v1", "services", ns)));
    for (auto& s : l.value("items", json::array())) out.push_back(s);
    if (ns != "default") {
      auto k = c_->get(apiPath("", "v1", "services", "default", "kubernetes"));
      if (k) out.push_back(*k);
    }
    return out;
  }
  Result<std::string> serviceAccountToken(const std::string& ns, const std::string& sa,
                                          const std::string& audience, const std::string& pod_name,
                                          const std::string& pod_uid,
                                          int64_t expiration_seconds) override {
    return tokens_.getServiceAccountToken(
        {ns, sa, audience, expiration_seconds, pod_name, pod_uid});
  }
  void forgetPod(const std::string& pod_uid) override {
    tokens_.deleteServiceAccountTokens(pod_uid);
  }
  Result<std::string> rootCa(const std::string& ns) override {
    auto cm = c_->get(apiPath("", "v1", "configmaps", ns, "kube-root-ca.crt"));
    if (cm) {
      std::string ca = cm->value("data", json::object()).value("ca.crt", "");
      if (!ca.empty()) return ca;
    }
    // Fall back to the CA this agent trusts for the API server.
    return Error(ErrorCode::NotFound, "configmap 'kube-root-ca.crt' in '" + ns + "' not found");
  }

 private:
  Result<IssuedServiceAccountToken> requestToken(const TokenRequestSpec& s) {
    json audiences = json::array();
    if (!s.audience.empty()) audiences.push_back(s.audience);
    json req = {
        {"apiVersion", "authentication.k8s.io/v1"},
        {"kind", "TokenRequest"},
        {"spec",
         {{"audiences", audiences},
          {"expirationSeconds", s.expiration_seconds},
          {"boundObjectRef",
           {{"kind", "Pod"}, {"apiVersion", "v1"}, {"name", s.pod_name}, {"uid", s.pod_uid}}}}}};
    SKIFF_ASSIGN_OR_RETURN(
        auto resp,
        c_->create(apiPath("", "v1", "serviceaccounts", s.ns, s.service_account, "token"), req));
    const json& status = resp.value("status", json::object());
    std::string tok = status.value("token", "");
    auto exp = parseRfc3339(status.value("expirationTimestamp", ""));
    if (tok.empty() || !exp) {
      return Error(ErrorCode::Invalid,
                   "token request for '" + s.service_account + "': no token in the response");
    }
    return IssuedServiceAccountToken{tok, *exp};
  }

  KubeClientPtr c_;
  ServiceLister lister_;
  ServiceAccountTokenManager tokens_;
};

}  // namespace

std::unique_ptr<ObjectSource> makeApiObjectSource(KubeClientPtr client, ServiceLister services) {
  return std::make_unique<ApiObjectSource>(std::move(client), std::move(services));
}

}  // namespace skiff::agent
