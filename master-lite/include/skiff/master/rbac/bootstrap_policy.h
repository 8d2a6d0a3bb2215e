#pragma once

// The default roles and bindings kube-apiserver creates and reconciles at every start
// (plugin/pkg/auth/authorizer/rbac/bootstrappolicy, v1.32), plus the kubeadm-style bindings a
// skiff cluster needs for joining nodes, and their reconciliation
// (pkg/registry/rbac/reconciliation): a missing object is created; an existing one carrying
// rbac.authorization.kubernetes.io/autoupdate=true gets back missing rules, aggregation
// selectors, subjects, labels and annotations (extra permissions a user added stay); a binding
// whose roleRef differs is recreated.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "skiff/common/result.h"

namespace skiff::master::api {
class Registry;
}

namespace skiff::master::rbac {

struct BootstrapPolicy {
  std::vector<nlohmann::json> cluster_roles;
  std::vector<nlohmann::json> cluster_role_bindings;
  std::vector<nlohmann::json> roles;  // metadata.namespace set
  std::vector<nlohmann::json> role_bindings;
};

// The policy objects (full JSON objects, apiVersion and kind set). The skiff-specific
// bindings (system:bootstrappers may create CSRs, nodes' CSRs are auto-approved) carry no
// bootstrapping label: they are created when missing and then left to the admin.
const BootstrapPolicy& bootstrapPolicy();

// The controllers' roles (controller_policy.go): ClusterRole system:controller:<name> and a
// ClusterRoleBinding of that name to ServiceAccount kube-system/<name>, appended to `p`.
void appendControllerPolicy(BootstrapPolicy& p);
// The kube-system ServiceAccounts those bindings name (the controllers' identities); the
// bootstrap creates them, as kube-controller-manager's --use-service-account-credentials does.
const std::vector<std::string>& controllerServiceAccounts();

struct ReconcileReport {
  int created = 0;
  int updated = 0;
  int unchanged = 0;
};

// Creates or reconciles every object of bootstrapPolicy() through the registry as
// system:apiserver (system:masters), and creates the controllers' ServiceAccounts in
// kube-system when missing. Idempotent.
Result<ReconcileReport> reconcileBootstrapPolicy(api::Registry& registry);

}  // namespace skiff::master::rbac
