#include "skiff/agent/tls_util.h"

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <memory>

#include "skiff/common/openssl_ptr.h"

namespace skiff::agent {
namespace {

using openssl::BioPtr;
using openssl::memBioString;
using openssl::PkeyPtr;
using openssl::X509Ptr;
using openssl::X509ReqPtr;

Result<PkeyPtr> newEcKey() {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return Error(ErrorCode::Internal, "generate ec key: openssl failure");
  return key;
}

std::string keyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  return memBioString(bio.get());
}

}  // namespace

Result<CsrAndKey> makeCsr(const std::string& common_name, const std::string& organization) {
  SKIFF_ASSIGN_OR_RETURN(auto key, newEcKey());
  X509ReqPtr req(X509_REQ_new());
  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(organization.c_str()), -1, -1,
                             0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  X509_REQ_set_pubkey(req.get(), key.get());
  if (X509_REQ_sign(req.get(), key.get(), EVP_sha256()) <= 0) {
    return Error(ErrorCode::Internal, "sign certificate request: openssl failure");
  }
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509_REQ(bio.get(), req.get());
  return CsrAndKey{memBioString(bio.get()), keyPem(key.get())};
}

Result<CertAndKey> makeSelfSignedServingCert(const std::string& host,
                                             const std::vector<std::string>& dns_names,
                                             const std::vector<std::string>& ips) {
  SKIFF_ASSIGN_OR_RETURN(auto key, newEcKey());
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), static_cast<long>(std::time(nullptr)));
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 365L * 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  std::string cn = host + "@" + std::to_string(std::time(nullptr));
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  std::string san;
  for (const auto& d : dns_names) san += (san.empty() ? "" : ",") + std::string("DNS:") + d;
  for (const auto& ip : ips) san += (san.empty() ? "" : ",") + std::string("IP:") + ip;
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  auto add = [&](int nid, const std::string& value) -> Result<void> {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    if (ext == nullptr) return Error(ErrorCode::Invalid, "make extension '" + value + "'");
    X509_add_ext(cert.get(), ext, -1);
    X509_EXTENSION_free(ext);
    return ok();
  };
  SKIFF_TRY(add(NID_key_usage, "critical,digitalSignature,keyEncipherment"));
  SKIFF_TRY(add(NID_ext_key_usage, "serverAuth"));
  SKIFF_TRY(add(NID_basic_constraints, "critical,CA:FALSE"));
  if (!san.empty()) SKIFF_TRY(add(NID_subject_alt_name, san));
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0) {
    return Error(ErrorCode::Internal, "sign serving certificate: openssl failure");
  }
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert.get());
  return CertAndKey{memBioString(bio.get()), keyPem(key.get())};
}

}  // namespace skiff::agent

#include <openssl/ssl.h>

namespace skiff::agent {

Result<std::vector<std::string>> fetchServerCertificates(const std::string& host,
                                                         const std::string& port) {
  std::unique_ptr<SSL_CTX, void (*)(SSL_CTX*)> ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  if (!ctx) return Error(ErrorCode::Internal, "create tls context");
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  BioPtr bio(BIO_new_ssl_connect(ctx.get()));
  if (!bio) return Error(ErrorCode::Internal, "create tls connection");
  std::string target = (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + port;
  BIO_set_conn_hostname(bio.get(), target.c_str());
  SSL* ssl = nullptr;
  BIO_get_ssl(bio.get(), &ssl);
  SSL_set_tlsext_host_name(ssl, host.c_str());
  if (BIO_do_connect(bio.get()) <= 0 || BIO_do_handshake(bio.get()) <= 0) {
    return Error(ErrorCode::Unavailable, "tls handshake with '" + target + "' failed");
  }
  std::vector<std::string> out;
  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl);
  for (int i = 0; chain != nullptr && i < sk_X509_num(chain); ++i) {
    BioPtr mem(BIO_new(BIO_s_mem()));
    PEM_write_bio_X509(mem.get(), sk_X509_value(chain, i));
    out.push_back(memBioString(mem.get()));
  }
  return out;
}

}  // namespace skiff::agent
