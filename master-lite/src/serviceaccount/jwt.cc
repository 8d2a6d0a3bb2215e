// RS256 JSON Web Tokens with OpenSSL 3 (EVP_DigestSign/EVP_DigestVerify, PKCS #1 v1.5 padding),
// as go-jose signs kube-apiserver's ServiceAccount tokens.
#include "skiff/master/serviceaccount/jwt.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "skiff/common/base64.h"
#include "skiff/common/openssl_ptr.h"

namespace skiff::master::serviceaccount {
namespace {

using json = nlohmann::json;

EVP_PKEY* pkey(const std::shared_ptr<void>& k) { return static_cast<EVP_PKEY*>(k.get()); }

std::shared_ptr<void> own(EVP_PKEY* k) {
  return std::shared_ptr<void>(k, [](void* p) { EVP_PKEY_free(static_cast<EVP_PKEY*>(p)); });
}

using Bio = openssl::BioPtr;
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

std::string publicDer(EVP_PKEY* k) {
  unsigned char* der = nullptr;
  int n = i2d_PUBKEY(k, &der);
  if (n <= 0) return {};
  std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(n));
  OPENSSL_free(der);
  return out;
}

std::string keyIdOf(EVP_PKEY* k) {
  std::string der = publicDer(k);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(der.data(), der.size(), md, &n, EVP_sha256(), nullptr);
  return base64UrlEncode(std::string_view(reinterpret_cast<char*>(md), n));
}

std::string bnParam(EVP_PKEY* k, const char* name) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(k, name, &bn) != 1 || !bn) return {};
  std::string out(static_cast<std::size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  BN_free(bn);
  return out;
}

Error unauthorized(const std::string& why) {
  return Error(ErrorCode::Unauthorized, "invalid bearer token: " + why);
}

// Frees a key that is not RSA.
Result<void> requireRsa(EVP_PKEY* k, const char* what) {
  if (!k) return Error(ErrorCode::Invalid, std::string("parse ") + what + ": not a PEM key");
  if (EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA) {
    EVP_PKEY_free(k);
    return Error(ErrorCode::Invalid, std::string("parse ") + what + ": not an RSA key");
  }
  return ok();
}

}  // namespace

RsaKey RsaKey::adopt(void* evp_pkey, bool has_private) {
  auto* k = static_cast<EVP_PKEY*>(evp_pkey);
  RsaKey out;
  out.key_ = own(k);
  out.has_private_ = has_private;
  out.kid_ = keyIdOf(k);
  return out;
}

Result<RsaKey> RsaKey::generate() {
  EVP_PKEY* k = EVP_RSA_gen(2048);
  if (!k) return Error(ErrorCode::Internal, "generate RSA key: openssl failure");
  return adopt(k, true);
}

Result<RsaKey> RsaKey::fromPrivatePem(std::string_view pem) {
  Bio b(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  EVP_PKEY* k = PEM_read_bio_PrivateKey(b.get(), nullptr, nullptr, nullptr);
  SKIFF_TRY(requireRsa(k, "private key"));
  return adopt(k, true);
}

Result<RsaKey> RsaKey::fromPublicPem(std::string_view pem) {
  Bio b(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  EVP_PKEY* k = PEM_read_bio_PUBKEY(b.get(), nullptr, nullptr, nullptr);
  SKIFF_TRY(requireRsa(k, "public key"));
  return adopt(k, false);
}

std::string RsaKey::privatePem() const {
  if (!has_private_) return {};
  Bio b(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(b.get(), pkey(key_), nullptr, nullptr, 0, nullptr, nullptr);
  return openssl::memBioString(b.get());
}

std::string RsaKey::publicPem() const {
  Bio b(BIO_new(BIO_s_mem()));
  PEM_write_bio_PUBKEY(b.get(), pkey(key_));
  return openssl::memBioString(b.get());
}

json RsaKey::jwk() const {
  return {{"use", "sig"},
          {"kty", "RSA"},
          {"kid", kid_},
          {"alg", "RS256"},
          {"n", base64UrlEncode(bnParam(pkey(key_), OSSL_PKEY_PARAM_RSA_N))},
          {"e", base64UrlEncode(bnParam(pkey(key_), OSSL_PKEY_PARAM_RSA_E))}};
}

Result<std::string> RsaKey::sign(const json& claims) const {
  if (!has_private_) return Error(ErrorCode::Invalid, "sign token: no private key");
  json header = {{"alg", "RS256"}, {"kid", kid_}};
  std::string input = base64UrlEncode(header.dump()) + "." + base64UrlEncode(claims.dump());
  MdCtx ctx(EVP_MD_CTX_new());
  std::size_t len = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, pkey(key_)) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                     input.size()) != 1) {
    return Error(ErrorCode::Internal, "sign token: openssl failure");
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
    return Error(ErrorCode::Internal, "sign token: openssl failure");
  }
  sig.resize(len);
  return input + "." + base64UrlEncode(sig);
}

Result<json> RsaKey::verify(std::string_view token) const {
  auto d1 = token.find('.');
  auto d2 = d1 == std::string_view::npos ? d1 : token.find('.', d1 + 1);
  if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos)
    return unauthorized("not a compact JWS");
  auto header_text = base64UrlDecode(token.substr(0, d1));
  auto payload_text = base64UrlDecode(token.substr(d1 + 1, d2 - d1 - 1));
  auto sig = base64UrlDecode(token.substr(d2 + 1));
  if (!header_text || !payload_text || !sig) return unauthorized("bad base64url");
  json header = json::parse(*header_text, nullptr, false);
  if (!header.is_object()) return unauthorized("header is not a JSON object");
  // Only RS256: "none", HS256 with the public key as secret and friends are refused here.
  if (!header["alg"].is_string() || header["alg"] != "RS256")
    return unauthorized("unsupported signing algorithm");
  if (header.contains("crit")) return unauthorized("unsupported critical header");
  std::string_view input = token.substr(0, d2);
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, pkey(key_)) != 1 ||
      EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig->data()), sig->size(),
                       reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
    return unauthorized("signature does not verify");
  }
  json claims = json::parse(*payload_text, nullptr, false);
  if (!claims.is_object()) return unauthorized("claims are not a JSON object");
  return claims;
}

}  // namespace skiff::master::serviceaccount
