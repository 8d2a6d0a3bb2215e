#pragma once

// JSON Web Tokens signed with RS256 (RFC 7515 compact serialisation, RFC 7518 §3.3), the only
// algorithm kube-apiserver's ServiceAccount tokens use. The signing key is the PKI's sa.key
// (kubeadm's name); its public half is published as a JWK at /openid/v1/jwks.

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "skiff/common/result.h"

namespace skiff::master::serviceaccount {

// An RSA key pair (or only its public half, for verification). Cheap to copy; thread-safe.
class RsaKey {
 public:
  // A new 2048-bit key pair (kubeadm's size for sa.key).
  static Result<RsaKey> generate();
  // A PEM private key ("PRIVATE KEY" or "RSA PRIVATE KEY"). Invalid when it is not RSA.
  static Result<RsaKey> fromPrivatePem(std::string_view pem);
  // A PEM public key ("PUBLIC KEY"); such a key verifies but cannot sign.
  static Result<RsaKey> fromPublicPem(std::string_view pem);

  bool hasPrivate() const { return has_private_; }
  std::string privatePem() const;  // "" for a public-only key
  std::string publicPem() const;
  // Upstream's key id: base64url(SHA-256(DER of the PKIX public key)).
  const std::string& keyId() const { return kid_; }
  // {"use":"sig","kty":"RSA","kid":...,"alg":"RS256","n":...,"e":...}
  nlohmann::json jwk() const;

  // header.payload.signature with header {"alg":"RS256","kid":<keyId>}. Invalid without a
  // private key.
  Result<std::string> sign(const nlohmann::json& claims) const;
  // The claims of `token` when it is a well-formed compact JWS whose header says alg RS256
  // (anything else, "none" included, is refused) and whose signature this key verifies. Errors
  // are Unauthorized, and say why only in their message (callers must not send it to clients).
  Result<nlohmann::json> verify(std::string_view token) const;

 private:
  // The key owning `evp_pkey` (an EVP_PKEY, RSA), with its key ID.
  static RsaKey adopt(void* evp_pkey, bool has_private);

  std::shared_ptr<void> key_;  // EVP_PKEY, freed with EVP_PKEY_free
  bool has_private_ = false;
  std::string kid_;
};

}  // namespace skiff::master::serviceaccount
