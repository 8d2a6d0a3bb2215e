// CertificateSigningRequests (pkg/registry/certificates/certificates/strategy.go): the
// requesting user is recorded from the request, status starts empty, and node client
// certificates are approved and signed at once (csr_approval.h). kubernetes.io/kube-apiserver-
// client requests (user certificates) are signed once approved, as the csrsigning controller
// does, and may not ask for system:masters (the CertificateSubjectRestriction admission).
#include "csr_approval.h"
#include "skiff/common/base64.h"
#include "skiff/master/api/authorizer.h"
#include "skiff/master/api/object_util.h"
#include "strategies.h"

namespace skiff::master::api {
namespace {

class CertificateSigningRequestStrategy : public Strategy {
 public:
  CertificateSigningRequestStrategy(RegistryOptions::SignCsr sign,
                                    RegistryOptions::SignCsr sign_client, Registry& registry)
      : sign_(std::move(sign)), sign_client_(std::move(sign_client)), registry_(registry) {}

  Result<void> admitCreate(const ResourceInfo& r, json& obj, const WriteOptions& opts) override {
    json& spec = obj["spec"];
    if (spec.value("signerName", "") == kClientSigner && requestsMasters(spec)) {
      return Error(ErrorCode::Forbidden, r.qualifiedResource() + " \"" +
                                             str(obj, {"metadata", "name"}) +
                                             "\" is forbidden: use of " + kClientSigner +
                                             " signer with system:masters group is not allowed");
    }
    spec["username"] = opts.user.name;
    spec["groups"] = opts.user.groups;
    obj["status"] = json::object();
    std::string pem;
    if (spec.value("request", json()).is_string())
      pem = base64Decode(spec["request"].get<std::string>()).value_or("");
    auto may = [&](const std::string& sub) {
      rbac::Attributes a;
      a.user = opts.user.name;
      a.verb = "create";
      a.api_group = "certificates.k8s.io";
      a.resource = "certificatesigningrequests";
      a.subresource = sub;
      return authorizeAttributes(registry_, opts.user, a).allowed;
    };
    if (sign_ && autoApproves(spec.value("signerName", ""), pem, opts.user.name, may)) {
      SKIFF_TRY(approveAndSign(r, obj, sign_));
    }
    return ok();
  }

  // An approval (or status write) of a kube-apiserver-client request that is approved, not
  // denied or failed, and not yet issued: sign it now.
  json prepareForStatusUpdate(const ResourceInfo& r, const json& obj,
                              const json& old) const override {
    json next = Strategy::prepareForStatusUpdate(r, obj, old);
    if (!sign_client_ || str(next, {"spec", "signerName"}) != kClientSigner) return next;
    if (!str(next, {"status", "certificate"}).empty()) return next;
    bool approved = false;
    for (const auto& c : at(next, {"status", "conditions"}).is_array()
                             ? at(next, {"status", "conditions"})
                             : json::array()) {
      std::string t = c.value("type", "");
      if (t == "Denied" || t == "Failed") return next;
      approved |= t == "Approved" && c.value("status", "True") == "True";
    }
    if (!approved) return next;
    std::string pem;
    const json& req = at(next, {"spec", "request"});
    if (req.is_string()) pem = base64Decode(req.get<std::string>()).value_or("");
    const json& secs = at(next, {"spec", "expirationSeconds"});
    auto cert =
        sign_client_(pem, secs.is_number_integer() ? secs.get<std::int64_t>() : 365LL * 24 * 3600);
    std::string now = formatTime(Clock::now());
    if (cert) {
      next["status"]["certificate"] = base64Encode(*cert);
    } else {
      next["status"]["conditions"].push_back({{"type", "Failed"},
                                              {"status", "True"},
                                              {"reason", "SignerValidationFailure"},
                                              {"message", cert.error().message()},
                                              {"lastUpdateTime", now},
                                              {"lastTransitionTime", now}});
    }
    return next;
  }

 private:
  static constexpr const char* kClientSigner = "kubernetes.io/kube-apiserver-client";

  // Whether the request's subject names O=system:masters.
  static bool requestsMasters(const json& spec) {
    const json& req = spec.value("request", json());
    if (!req.is_string()) return false;
    std::string pem = base64Decode(req.get<std::string>()).value_or("");
    return csrOrganizations(pem).count("system:masters") > 0;
  }

  RegistryOptions::SignCsr sign_;
  RegistryOptions::SignCsr sign_client_;
  Registry& registry_;
};

}  // namespace

StrategyPtr newCertificateSigningRequestStrategy(RegistryOptions::SignCsr sign,
                                                 RegistryOptions::SignCsr sign_client,
                                                 Registry& registry) {
  return std::make_shared<CertificateSigningRequestStrategy>(std::move(sign),
                                                             std::move(sign_client), registry);
}

}  // namespace skiff::master::api
