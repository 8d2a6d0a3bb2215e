// CertificateSigningRequests (pkg/registry/certificates/certificates/strategy.go): the
// requesting user is recorded from the request, status starts empty, and node client
// certificates are approved and signed at once (csr_approval.h).
#include "csr_approval.h"
#include "strategies.h"

namespace skiff::master::api {
namespace {

class CertificateSigningRequestStrategy : public Strategy {
 public:
  explicit CertificateSigningRequestStrategy(RegistryOptions::SignCsr sign)
      : sign_(std::move(sign)) {}

  Result<void> admitCreate(const ResourceInfo& r, json& obj, const WriteOptions& opts) override {
    json& spec = obj["spec"];
    spec["username"] = opts.user.name;
    spec["groups"] = opts.user.groups;
    obj["status"] = json::object();
    if (sign_ && autoApproves(spec.value("signerName", ""), opts.user)) {
      SKIFF_TRY(approveAndSign(r, obj, sign_));
    }
    return ok();
  }

 private:
  RegistryOptions::SignCsr sign_;
};

}  // namespace

StrategyPtr newCertificateSigningRequestStrategy(RegistryOptions::SignCsr sign) {
  return std::make_shared<CertificateSigningRequestStrategy>(std::move(sign));
}

}  // namespace skiff::master::api
