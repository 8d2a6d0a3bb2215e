#pragma once

// Auto-approval of node client certificates, as kubeadm's csrapprover does for
// system:bootstrappers (and renewals by nodes): a CertificateSigningRequest for
// kubernetes.io/kube-apiserver-client-kubelet from a bootstrapper, a node or an admin is
// approved and signed on create.

#include <functional>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "skiff/master/api/registry.h"

namespace skiff::master::api {

// The O= values of a PEM certificate request's subject (empty when it does not parse).
std::set<std::string> csrOrganizations(const std::string& csr_pem);
// The CN of a PEM certificate request's subject ("" when it does not parse).
std::string csrCommonName(const std::string& csr_pem);

// The csrapproving controller's SubjectAccessReview: may the requester create
// certificatesigningrequests/<subresource> ("nodeclient", "selfnodeclient")?
using CsrPermission = std::function<bool(const std::string& subresource)>;

// Whether a CSR for `signer` with request `csr_pem` from user `username` is approved on create,
// as upstream's sarapprove does: a kubelet client certificate (CN=system:node:<name>,
// O=system:nodes) for the node itself needs `create` on certificatesigningrequests/
// selfnodeclient, any other one on certificatesigningrequests/nodeclient (the
// system:certificates.k8s.io:certificatesigningrequests:* roles, bound to system:nodes and
// system:bootstrappers by the bootstrap policy).
bool autoApproves(const std::string& signer, const std::string& csr_pem,
                  const std::string& username, const CsrPermission& may);

// Signs spec.request with `sign` and records the Approved condition and status.certificate in
// `csr`. Invalid (spec.request) when the request cannot be signed.
Result<void> approveAndSign(const ResourceInfo& r, nlohmann::json& csr,
                            const RegistryOptions::SignCsr& sign);

}  // namespace skiff::master::api
