#pragma once

// kubeadm's CA pin: "sha256:" + hex(sha256(DER SubjectPublicKeyInfo of the first certificate in
// a PEM bundle)). The master prints it in join commands (`token create`), the agent checks the
// CA it discovers against it (--ca-cert-hash).

#include <string>
#include <string_view>

#include "skiff/common/result.h"

namespace skiff {

Result<std::string> caCertHash(std::string_view ca_pem);

}  // namespace skiff
