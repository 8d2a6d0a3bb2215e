#include "skiff/agent/object_source.h"

namespace skiff::agent {
namespace {

using nlohmann::json;

class ApiObjectSource final : public ObjectSource {
 public:
  ApiObjectSource(KubeClientPtr c, ServiceLister lister)
      : c_(std::move(c)), lister_(std::move(lister)) {}

  Result<json> configMap(const std::string& ns, const std::string& name) override {
    return c_->get(apiPath("", "v1", "configmaps", ns, name));
  }
  Result<json> secret(const std::string& ns, const std::string& name) override {
    return c_->get(apiPath("", "v1", "secrets", ns, name));
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
                                          const std::string& pod_name, const std::string& pod_uid,
                                          int64_t expiration_seconds) override {
    json req = {
        {"apiVersion", "authentication.k8s.io/v1"},
        {"kind", "TokenRequest"},
        {"spec",
         {{"audiences", json::array()},
          {"expirationSeconds", expiration_seconds},
          {"boundObjectRef",
           {{"kind", "Pod"}, {"apiVersion", "v1"}, {"name", pod_name}, {"uid", pod_uid}}}}}};
    SKIFF_ASSIGN_OR_RETURN(auto resp,
                           c_->create(apiPath("", "v1", "serviceaccounts", ns, sa, "token"), req));
    std::string tok = resp.value("status", json::object()).value("token", "");
    if (tok.empty()) return Error(ErrorCode::Invalid, "token request for '" + sa + "': no token");
    return tok;
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
  KubeClientPtr c_;
  ServiceLister lister_;
};

}  // namespace

std::unique_ptr<ObjectSource> makeApiObjectSource(KubeClientPtr client, ServiceLister services) {
  return std::make_unique<ApiObjectSource>(std::move(client), std::move(services));
}

}  // namespace skiff::agent
