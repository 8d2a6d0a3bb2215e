// The access reviews (pkg/registry/authorization/*, pkg/registry/authentication/*): the spec is
// validated as pkg/apis/authorization/validation does, the answer is the authorizer chain's
// decision (or the caller's RBAC rules, or identity) in status, and nothing is stored.
#include "skiff/master/api/authorizer.h"
#include "skiff/master/api/object_util.h"
#include "skiff/master/api/reviews.h"
#include "skiff/master/rbac/policy_index.h"
#include "strategies.h"

namespace skiff::master::api {
namespace {

using Type = FieldError::Type;

json userInfoJson(const UserInfo& u) {
  json j = {{"username", u.name}, {"groups", u.groups}};
  if (!u.uid.empty()) j["uid"] = u.uid;
  if (!u.extra.empty()) j["extra"] = u.extra;
  return j;
}

std::vector<std::string> strings(const json& v) {
  std::vector<std::string> out;
  if (!v.is_array()) return out;
  for (const auto& s : v) {
    if (s.is_string()) out.push_back(s.get<std::string>());
  }
  return out;
}

// ValidateSubjectAccessReviewSpec (and the Self/Local variants).
FieldErrors validateSpec(const std::string& kind, const json& spec) {
  FieldErrors errs;
  bool res = spec.contains("resourceAttributes") && spec["resourceAttributes"].is_object();
  bool non = spec.contains("nonResourceAttributes") && spec["nonResourceAttributes"].is_object();
  if (res && non) {
    errs.push_back({Type::Invalid, "spec.nonResourceAttributes", spec["nonResourceAttributes"],
                    "cannot be specified in combination with resourceAttributes"});
  }
  if (!res && !non) {
    errs.push_back({Type::Invalid, "spec.resourceAttributes", json(),
                    "exactly one of nonResourceAttributes or resourceAttributes must be "
                    "specified"});
  }
  if (kind == "LocalSubjectAccessReview" && non) {
    errs.push_back({Type::Invalid, "spec.nonResourceAttributes", spec["nonResourceAttributes"],
                    "disallowed on this kind of request"});
  }
  if ((kind == "SubjectAccessReview" || kind == "LocalSubjectAccessReview") &&
      spec.value("user", "").empty() && strings(spec.value("groups", json())).empty()) {
    errs.push_back(
        {Type::Invalid, "spec.user", "", "at least one of user or group must be specified"});
  }
  return errs;
}

rbac::Attributes attributesFrom(const json& spec) {
  rbac::Attributes a;
  if (spec.contains("resourceAttributes") && spec["resourceAttributes"].is_object()) {
    const json& ra = spec["resourceAttributes"];
    a.verb = ra.value("verb", "");
    a.api_group = ra.value("group", "");
    a.resource = ra.value("resource", "");
    a.subresource = ra.value("subresource", "");
    a.ns = ra.value("namespace", "");
    a.name = ra.value("name", "");
  } else {
    const json& na = spec.value("nonResourceAttributes", json::object());
    a.resource_request = false;
    a.verb = na.value("verb", "");
    a.path = na.value("path", "");
  }
  return a;
}

UserInfo specUser(const json& spec) {
  UserInfo u;
  u.name = spec.value("user", "");
  u.groups = strings(spec.value("groups", json()));
  u.uid = spec.value("uid", "");
  const json& extra = spec.value("extra", json());
  if (extra.is_object()) {
    for (auto& [k, v] : extra.items()) u.extra[k] = strings(v);
  }
  return u;
}

// RBAC rules as SelfSubjectRulesReview lists them.
json rulesStatus(const rbac::PolicyRules& rules, bool incomplete) {
  json res = json::array(), non = json::array();
  for (const auto& r : rules) {
    if (!r.non_resource_urls.empty()) {
      non.push_back({{"verbs", r.verbs}, {"nonResourceURLs", r.non_resource_urls}});
      continue;
    }
    json j = {{"verbs", r.verbs}};
    if (!r.api_groups.empty()) j["apiGroups"] = r.api_groups;
    if (!r.resources.empty()) j["resources"] = r.resources;
    if (!r.resource_names.empty()) j["resourceNames"] = r.resource_names;
    res.push_back(std::move(j));
  }
  return {{"resourceRules", res}, {"nonResourceRules", non}, {"incomplete", incomplete}};
}

class ReviewStrategy : public Strategy {
 public:
  explicit ReviewStrategy(Registry& reg) : reg_(reg) {}

  Result<json> review(const ResourceInfo& r, const std::string& ns, json obj,
                      const WriteOptions& opts) override {
    if (r.kind == "SelfSubjectReview") {
      obj["status"] = {{"userInfo", userInfoJson(opts.user)}};
      return obj;
    }
    json spec = obj.value("spec", json::object());
    if (!spec.is_object()) spec = json::object();
    if (r.kind == "SelfSubjectRulesReview") return rulesReview(obj, spec, opts.user);
    FieldErrors errs = validateSpec(r.kind, spec);
    if (!errs.empty()) return invalidError(r, "", errs);
    UserInfo subject = r.kind.rfind("Self", 0) == 0 ? opts.user : specUser(spec);
    rbac::Attributes a = attributesFrom(spec);
    if (r.kind == "LocalSubjectAccessReview") {
      std::string on = str(obj, {"metadata", "namespace"});
      if (!on.empty() && on != ns) {
        return Error(ErrorCode::BadRequest,
                     "the namespace of the provided object does not match the namespace sent "
                     "on the request");
      }
      if (a.ns != ns) {
        return Error(ErrorCode::BadRequest,
                     "spec.resourceAttributes.namespace must match namespace: " + ns);
      }
      obj["metadata"]["namespace"] = ns;
    }
    a.user = subject.name;
    AuthzDecision d = authorizeAttributes(reg_, subject, a);
    json status = {{"allowed", d.allowed}};
    if (!d.reason.empty()) status["reason"] = d.reason;
    obj["status"] = std::move(status);
    return obj;
  }

 private:
  Result<json> rulesReview(json obj, const json& spec, const UserInfo& u) {
    std::string ns = spec.value("namespace", "");
    if (ns.empty()) return Error(ErrorCode::BadRequest, "no namespace on request");
    std::vector<std::string> errors;
    rbac::PolicyRules rules = reg_.policy().rulesFor({u.name, u.groups}, ns, &errors);
    // The Node authorizer's rules are not listed (upstream's node authorizer reports none and
    // marks the answer incomplete).
    bool node = u.inGroup("system:nodes") && u.name.rfind("system:node:", 0) == 0;
    json status = rulesStatus(rules, node);
    if (!errors.empty()) {
      std::string e;
      for (std::size_t i = 0; i < errors.size(); ++i) e += (i ? ", " : "") + errors[i];
      status["evaluationError"] = errors.size() == 1 ? e : "[" + e + "]";
    }
    obj["status"] = std::move(status);
    return obj;
  }
  Registry& reg_;
};

class TokenReviewStrategy : public Strategy {
 public:
  explicit TokenReviewStrategy(Authenticator& authn) : authn_(authn) {}

  Result<json> review(const ResourceInfo&, const std::string&, json obj,
                      const WriteOptions&) override {
    const json& spec = obj.value("spec", json::object());
    std::string token = spec.is_object() ? spec.value("token", "") : "";
    if (token.empty()) {
      return Error(ErrorCode::BadRequest, "token is required for TokenReview in authentication");
    }
    json status = {{"authenticated", false}, {"user", json::object()}};
    Authenticator::Review r = authn_.reviewToken(token, strings(spec.value("audiences", json())));
    if (r.authenticated) {
      status["authenticated"] = true;
      status["user"] = userInfoJson(r.user);
      status["audiences"] = r.audiences;
    }
    if (!r.error.empty()) status["error"] = r.error;
    obj["status"] = std::move(status);
    return obj;
  }

 private:
  Authenticator& authn_;
};

}  // namespace

StrategyPtr newReviewStrategy(Registry& registry) {
  return std::make_shared<ReviewStrategy>(registry);
}

void registerTokenReview(Registry& registry, Authenticator& authn) {
  registry.strategies().add("authentication.k8s.io", "tokenreviews",
                            std::make_shared<TokenReviewStrategy>(authn));
}

}  // namespace skiff::master::api
