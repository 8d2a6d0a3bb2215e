#include "csr_approval.h"

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>

#include "skiff/common/base64.h"
#include "skiff/master/api/object_util.h"

namespace skiff::master::api {

namespace {

// The values of `nid` in the subject of a PEM certificate request.
std::vector<std::string> subjectValues(const std::string& csr_pem, int nid) {
  std::vector<std::string> out;
  std::unique_ptr<BIO, decltype(&BIO_free)> b(
      BIO_new_mem_buf(csr_pem.data(), static_cast<int>(csr_pem.size())), BIO_free);
  if (!b) return out;
  std::unique_ptr<X509_REQ, decltype(&X509_REQ_free)> req(
      PEM_read_bio_X509_REQ(b.get(), nullptr, nullptr, nullptr), X509_REQ_free);
  if (!req) return out;
  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  for (int i = -1; (i = X509_NAME_get_index_by_NID(name, nid, i)) >= 0;) {
    ASN1_STRING* v = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
    unsigned char* utf8 = nullptr;
    int n = ASN1_STRING_to_UTF8(&utf8, v);
    if (n >= 0)
      out.push_back(std::string(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(n)));
    OPENSSL_free(utf8);
  }
  return out;
}

}  // namespace

std::set<std::string> csrOrganizations(const std::string& csr_pem) {
  auto v = subjectValues(csr_pem, NID_organizationName);
  return {v.begin(), v.end()};
}

std::string csrCommonName(const std::string& csr_pem) {
  auto v = subjectValues(csr_pem, NID_commonName);
  return v.empty() ? "" : v.front();
}

bool autoApproves(const std::string& signer, const std::string& csr_pem,
                  const std::string& username, const CsrPermission& may) {
  if (signer != "kubernetes.io/kube-apiserver-client-kubelet") return false;
  std::string cn = csrCommonName(csr_pem);
  if (cn.rfind("system:node:", 0) != 0 || cn.size() <= 12) return false;
  if (csrOrganizations(csr_pem) != std::set<std::string>{"system:nodes"}) return false;
  return may(cn == username ? "selfnodeclient" : "nodeclient");
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
