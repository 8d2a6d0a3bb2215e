// Secrets of type kubernetes.io/service-account-token: the annotation naming the
// ServiceAccount is required (pkg/apis/core/validation ValidateSecret), and the token, ca.crt
// and namespace keys are filled in as upstream's tokens controller
// (pkg/controller/serviceaccount/tokens_controller.go) does, here at create so the Secret is
// usable as soon as it exists.
#include "skiff/common/base64.h"
#include "skiff/master/api/object_util.h"
#include "strategies.h"

namespace skiff::master::api {
namespace {

constexpr char kTokenType[] = "kubernetes.io/service-account-token";
constexpr char kNameAnnotation[] = "kubernetes.io/service-account.name";
constexpr char kUidAnnotation[] = "kubernetes.io/service-account.uid";

class SecretStrategy : public Strategy {
 public:
  SecretStrategy(std::shared_ptr<const serviceaccount::TokenIssuer> tokens, std::string ca_pem,
                 ServiceAccountLookup lookup)
      : tokens_(std::move(tokens)), ca_(std::move(ca_pem)), lookup_(std::move(lookup)) {}

  FieldErrors validate(const ResourceInfo& r, const json& obj, const json* old) const override {
    FieldErrors errs = Strategy::validate(r, obj, old);
    if (obj.value("type", "") == kTokenType &&
        str(obj, {"metadata", "annotations", kNameAnnotation}).empty()) {
      errs.push_back({FieldError::Type::Required,
                      std::string("metadata.annotations[") + kNameAnnotation + "]", nullptr, ""});
    }
    return errs;
  }

  // A Secret naming a ServiceAccount that does not exist (or has another uid) stays empty;
  // upstream's controller would delete it.
  Result<void> admitCreate(const ResourceInfo&, json& obj, const WriteOptions&) override {
    if (obj.value("type", "") != kTokenType) return ok();
    std::string ns = str(obj, {"metadata", "namespace"});
    std::string name = str(obj, {"metadata", "annotations", kNameAnnotation});
    auto account = lookup_(ns, name);
    if (!account) return ok();
    std::string uid = str(*account, {"metadata", "uid"});
    std::string want_uid = str(obj, {"metadata", "annotations", kUidAnnotation});
    if (!want_uid.empty() && want_uid != uid) return ok();
    obj["metadata"]["annotations"][kUidAnnotation] = uid;
    json& data = obj["data"];
    if (!data.is_object()) data = json::object();
    if (!data.contains("token")) {
      SKIFF_ASSIGN_OR_RETURN(std::string token,
                             tokens_->issueLegacy(ns, {name, uid}, str(obj, {"metadata", "name"})));
      data["token"] = base64Encode(token);
    }
    if (!data.contains("ca.crt")) data["ca.crt"] = base64Encode(ca_);
    if (!data.contains("namespace")) data["namespace"] = base64Encode(ns);
    return ok();
  }

 private:
  std::shared_ptr<const serviceaccount::TokenIssuer> tokens_;
  std::string ca_;
  ServiceAccountLookup lookup_;
};

}  // namespace

StrategyPtr newSecretStrategy(std::shared_ptr<const serviceaccount::TokenIssuer> tokens,
                              std::string ca_pem, ServiceAccountLookup lookup) {
  return std::make_shared<SecretStrategy>(std::move(tokens), std::move(ca_pem), std::move(lookup));
}

}  // namespace skiff::master::api
