#include "csr_approval.h"

#include "skiff/common/base64.h"
#include "skiff/master/api/object_util.h"

namespace skiff::master::api {

bool autoApproves(const std::string& signer, const UserInfo& user) {
  bool node_client = signer == "kubernetes.io/kube-apiserver-client-kubelet";
  bool allowed = user.inGroup("system:bootstrappers") || user.inGroup("system:nodes") ||
                 user.inGroup("system:masters");
  return node_client && allowed;
}

Result<void> approveAndSign(const ResourceInfo& r, json& csr,
                            const RegistryOptions::SignCsr& sign) {
  json& spec = csr["spec"];
  std::string pem;
  const json& req = spec.value("request", json());
  // Validation has checked spec.request is base64; an undecodable one signs nothing and fails.
  if (req.is_string()) pem = base64Decode(req.get<std::string>()).value_or("");
  auto cert = sign(pem, spec.value("expirationSeconds", 365LL * 24 * 3600));
  if (!cert) {
    return Error(ErrorCode::Invalid, r.qualifiedKind() + " \"" + str(csr, {"metadata", "name"}) +
                                         "\" is invalid: spec.request: Invalid value: "
                                         "[]byte{...}: " +
                                         cert.error().message());
  }
  std::string now = formatTime(Clock::now());
  csr["status"]["conditions"] = json::array(
      {{{"type", "Approved"},
        {"status", "True"},
        {"reason", "AutoApproved"},
        {"message", "Auto approving kubelet client certificate after SubjectAccessReview."},
        {"lastUpdateTime", now},
        {"lastTransitionTime", now}}});
  csr["status"]["certificate"] = base64Encode(*cert);
  return ok();
}

}  // namespace skiff::master::api
