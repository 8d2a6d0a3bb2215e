#pragma once

// Auto-approval of node client certificates, as kubeadm's csrapprover does for
// system:bootstrappers (and renewals by nodes): a CertificateSigningRequest for
// kubernetes.io/kube-apiserver-client-kubelet from a bootstrapper, a node or an admin is
// approved and signed on create.

#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "skiff/master/api/registry.h"

namespace skiff::master::api {

// The O= values of a PEM certificate request's subject (empty when it does not parse).
std::set<std::string> csrOrganizations(const std::string& csr_pem);

// Whether `user` may have a `signer` CSR approved on create.
bool autoApproves(const std::string& signer, const UserInfo& user);

// Signs spec.request with `sign` and records the Approved condition and status.certificate in
// `csr`. Invalid (spec.request) when the request cannot be signed.
Result<void> approveAndSign(const ResourceInfo& r, nlohmann::json& csr,
                            const RegistryOptions::SignCsr& sign);

}  // namespace skiff::master::api
