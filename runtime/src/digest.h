#pragma once

// sha256 content digests ("sha256:<hex>") with OpenSSL's EVP API.

#include <openssl/evp.h>

#include <memory>
#include <string>
#include <string_view>

#include "skiff/common/result.h"

namespace skiff::runtime {

class Sha256 {
 public:
  Sha256();
  void update(const char* data, std::size_t n);
  // "sha256:<64 hex>"; the hasher is finished afterwards.
  std::string digest();

 private:
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx_;
};

std::string sha256Digest(std::string_view data);
// Hashes a file (streamed).
Result<std::string> sha256File(const std::string& path);
// The hex part of "sha256:<hex>".
inline std::string digestHex(const std::string& d) { return d.size() > 7 ? d.substr(7) : d; }

}  // namespace skiff::runtime
