#include "skiff/master/pki.h"

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <filesystem>
#include <memory>

#include "skiff/common/file.h"
#include "skiff/common/kubeconfig.h"
#include "skiff/common/openssl_ptr.h"
#include "skiff/master/serviceaccount/jwt.h"
#include "x509_subject.h"

namespace skiff::master {
namespace {

using Key = openssl::PkeyPtr;
using Cert = openssl::X509Ptr;
using Req = openssl::X509ReqPtr;
using Bio = openssl::BioPtr;

Error sslError(const std::string& what) {
  return Error(ErrorCode::Internal, what + ": openssl failure");
}

Result<Key> newKey() {
  EVP_PKEY* k = EVP_EC_gen("P-256");
  if (!k) return sslError("generate key");
  return Key(k);
}

std::string pemOf(EVP_PKEY* k) {
  Bio b(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(b.get(), k, nullptr, nullptr, 0, nullptr, nullptr);
  return openssl::memBioString(b.get());
}

std::string pemOf(X509* c) {
  Bio b(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(b.get(), c);
  return openssl::memBioString(b.get());
}

Result<Key> readKey(const std::string& pem) {
  Bio b(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  EVP_PKEY* k = PEM_read_bio_PrivateKey(b.get(), nullptr, nullptr, nullptr);
  if (!k) return sslError("parse private key");
  return Key(k);
}

Result<Cert> readCert(const std::string& pem) {
  Bio b(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509* c = PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr);
  if (!c) return sslError("parse certificate");
  return Cert(c);
}

void addExt(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext) {
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
  }
}

using Subject = CertSubject;

// Issues a certificate for `key` (self-signed when issuer is null).
Result<Cert> issue(EVP_PKEY* key, const Subject& subj, X509* issuer, EVP_PKEY* issuer_key,
                   long seconds, bool ca, const std::string& eku,
                   const std::vector<std::string>& dns, const std::vector<std::string>& ips) {
  Cert c(X509_new());
  X509_set_version(c.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(c.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(c.get()), seconds);
  X509_set_pubkey(c.get(), key);
  X509_NAME* name = X509_get_subject_name(c.get());
  for (const auto& o : subj.orgs) {
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(o.c_str()), -1, -1, 0);
  }
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(subj.cn.c_str()), -1, -1, 0);
  X509* iss = issuer ? issuer : c.get();
  X509_set_issuer_name(c.get(), X509_get_subject_name(iss));
  if (ca) {
    addExt(c.get(), iss, NID_basic_constraints, "critical,CA:TRUE");
    addExt(c.get(), iss, NID_key_usage, "critical,digitalSignature,keyEncipherment,keyCertSign");
  } else {
    addExt(c.get(), iss, NID_basic_constraints, "critical,CA:FALSE");
    addExt(c.get(), iss, NID_key_usage, "critical,digitalSignature,keyEncipherment");
    addExt(c.get(), iss, NID_ext_key_usage, eku);
  }
  addExt(c.get(), iss, NID_subject_key_identifier, "hash");
  if (issuer) addExt(c.get(), iss, NID_authority_key_identifier, "keyid:always");
  std::string san;
  for (const auto& d : dns) san += (san.empty() ? "" : ",") + std::string("DNS:") + d;
  for (const auto& i : ips) san += (san.empty() ? "" : ",") + std::string("IP:") + i;
  if (!san.empty()) addExt(c.get(), iss, NID_subject_alt_name, san);
  if (!X509_sign(c.get(), issuer_key ? issuer_key : key, EVP_sha256()))
    return sslError("sign certificate");
  return c;
}

bool exists(const std::string& p) { return std::filesystem::exists(p); }

Result<void> writePair(const std::string& cert_path, const std::string& key_path, X509* c,
                       EVP_PKEY* k) {
  SKIFF_TRY(writeFileAtomic(key_path, pemOf(k), 0600));
  SKIFF_TRY(writeFileAtomic(cert_path, pemOf(c), 0644));
  return ok();
}

Result<void> ensureClient(const PkiFiles& f, const std::string& cert_path,
                          const std::string& key_path, const Subject& subj, X509* ca,
                          EVP_PKEY* ca_key) {
  if (exists(cert_path) && exists(key_path)) return ok();
  SKIFF_ASSIGN_OR_RETURN(Key k, newKey());
  SKIFF_ASSIGN_OR_RETURN(
      Cert c, issue(k.get(), subj, ca, ca_key, 365L * 24 * 3600, false, "clientAuth", {}, {}));
  (void)f;
  return writePair(cert_path, key_path, c.get(), k.get());
}

// A CA's pair at `cert_path`/`key_path`: loaded when both exist, else made (10 years) and written.
struct Ca {
  Key key;
  Cert cert;
};
Result<Ca> ensureCa(const std::string& cert_path, const std::string& key_path,
                    const std::string& cn) {
  Ca ca;
  if (exists(cert_path) && exists(key_path)) {
    SKIFF_ASSIGN_OR_RETURN(std::string cpem, readFile(cert_path));
    SKIFF_ASSIGN_OR_RETURN(std::string kpem, readFile(key_path));
    SKIFF_ASSIGN_OR_RETURN(ca.cert, readCert(cpem));
    SKIFF_ASSIGN_OR_RETURN(ca.key, readKey(kpem));
    return ca;
  }
  SKIFF_ASSIGN_OR_RETURN(ca.key, newKey());
  SKIFF_ASSIGN_OR_RETURN(ca.cert, issue(ca.key.get(), {cn, {}}, nullptr, nullptr,
                                        10L * 365 * 24 * 3600, true, "", {}, {}));
  SKIFF_TRY(writePair(cert_path, key_path, ca.cert.get(), ca.key.get()));
  return ca;
}

// sa.key/sa.pub: made once; sa.pub is rewritten from sa.key when missing.
Result<void> ensureServiceAccountKey(const PkiFiles& f) {
  if (exists(f.sa_key)) {
    SKIFF_ASSIGN_OR_RETURN(std::string pem, readFile(f.sa_key));
    auto key = serviceaccount::RsaKey::fromPrivatePem(pem);
    if (!key) return std::move(key).error().wrap("load '" + f.sa_key + "'");
    if (!exists(f.sa_pub)) SKIFF_TRY(writeFileAtomic(f.sa_pub, key->publicPem(), 0644));
    return ok();
  }
  SKIFF_ASSIGN_OR_RETURN(auto key, serviceaccount::RsaKey::generate());
  SKIFF_TRY(writeFileAtomic(f.sa_key, key.privatePem(), 0600));
  return writeFileAtomic(f.sa_pub, key.publicPem(), 0644);
}

}  // namespace

Result<PkiFiles> ensurePki(const PkiOptions& o) {
  std::error_code ec;
  std::filesystem::create_directories(o.dir, ec);
  if (ec) return Error(ErrorCode::Internal, "create pki dir '" + o.dir + "': " + ec.message());
  ::chmod(o.dir.c_str(), 0700);
  PkiFiles f{o.dir + "/ca.crt",
             o.dir + "/ca.key",
             o.dir + "/apiserver.crt",
             o.dir + "/apiserver.key",
             o.dir + "/admin.crt",
             o.dir + "/admin.key",
             o.dir + "/apiserver-kubelet-client.crt",
             o.dir + "/apiserver-kubelet-client.key",
             o.dir + "/sa.key",
             o.dir + "/sa.pub",
             o.dir + "/front-proxy-ca.crt",
             o.dir + "/front-proxy-ca.key",
             o.dir + "/front-proxy-client.crt",
             o.dir + "/front-proxy-client.key"};
  SKIFF_ASSIGN_OR_RETURN(Ca cluster, ensureCa(f.ca_cert, f.ca_key, "skiff-ca"));
  X509* ca = cluster.cert.get();
  EVP_PKEY* ca_key = cluster.key.get();
  // The aggregator's own CA and client certificate (kubeadm's front-proxy-ca and
  // front-proxy-client): aggregated API servers trust X-Remote-User only from it.
  SKIFF_ASSIGN_OR_RETURN(Ca front,
                         ensureCa(f.front_proxy_ca_cert, f.front_proxy_ca_key, "front-proxy-ca"));
  SKIFF_TRY(ensureClient(f, f.front_proxy_client_cert, f.front_proxy_client_key,
                         {"front-proxy-client", {}}, front.cert.get(), front.key.get()));
  SKIFF_TRY(ensureClient(f, f.admin_cert, f.admin_key, {"kubernetes-admin", {"system:masters"}}, ca,
                         ca_key));
  SKIFF_TRY(ensureClient(f, f.kubelet_client_cert, f.kubelet_client_key,
                         {"kube-apiserver-kubelet-client", {"system:masters"}}, ca, ca_key));
  SKIFF_TRY(ensureServiceAccountKey(f));
  // The serving certificate follows this start's names and addresses.
  SKIFF_ASSIGN_OR_RETURN(Key sk, newKey());
  SKIFF_ASSIGN_OR_RETURN(
      Cert sc, issue(sk.get(), {"kube-apiserver", {}}, ca, ca_key, 365L * 24 * 3600, false,
                     "serverAuth", o.dns_sans, o.ip_sans));
  SKIFF_TRY(writePair(f.server_cert, f.server_key, sc.get(), sk.get()));
  return f;
}

namespace {

// Signs `csr_pem` as a client certificate; `node_only` requires CN=system:node:<name>,
// O=system:nodes (the kubelet client signer).
Result<std::string> signClient(const PkiFiles& pki, const std::string& csr_pem,
                               std::int64_t seconds, bool node_only) {
  Bio b(BIO_new_mem_buf(csr_pem.data(), static_cast<int>(csr_pem.size())));
  Req req(PEM_read_bio_X509_REQ(b.get(), nullptr, nullptr, nullptr));
  if (!req) return Error(ErrorCode::Invalid, "PEM block type must be CERTIFICATE REQUEST");
  Key pub(X509_REQ_get_pubkey(req.get()));
  if (!pub || X509_REQ_verify(req.get(), pub.get()) != 1) {
    return Error(ErrorCode::Invalid, "the certificate request signature does not verify");
  }
  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  Subject subj = readCertSubject(name);
  if (node_only && (subj.cn.rfind("system:node:", 0) != 0 || subj.cn.size() <= 12 ||
                    subj.orgs != std::vector<std::string>{"system:nodes"})) {
    return Error(ErrorCode::Invalid, "subject must be CN=system:node:<name>, O=system:nodes");
  }
  if (subj.cn.empty()) return Error(ErrorCode::Invalid, "subject must have a common name (CN)");
  SKIFF_ASSIGN_OR_RETURN(std::string cpem, readFile(pki.ca_cert));
  SKIFF_ASSIGN_OR_RETURN(std::string kpem, readFile(pki.ca_key));
  SKIFF_ASSIGN_OR_RETURN(Cert ca, readCert(cpem));
  SKIFF_ASSIGN_OR_RETURN(Key ca_key, readKey(kpem));
  if (seconds < 600) seconds = 600;
  SKIFF_ASSIGN_OR_RETURN(Cert c, issue(pub.get(), subj, ca.get(), ca_key.get(),
                                       static_cast<long>(seconds), false, "clientAuth", {}, {}));
  return pemOf(c.get());
}

}  // namespace

Result<std::string> signNodeClientCsr(const PkiFiles& pki, const std::string& csr_pem,
                                      std::int64_t seconds) {
  return signClient(pki, csr_pem, seconds, true);
}

Result<std::string> signClientCsr(const PkiFiles& pki, const std::string& csr_pem,
                                  std::int64_t seconds) {
  return signClient(pki, csr_pem, seconds, false);
}

Result<void> writeKubeconfig(const std::string& path, const std::string& server_url,
                             const std::string& ca_pem, const std::string& cert_pem,
                             const std::string& key_pem) {
  std::string y = renderKubeconfig({server_url, ca_pem, cert_pem, key_pem, "", false});
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
  }
  return writeFileAtomic(path, y, 0600);
}

}  // namespace skiff::master
