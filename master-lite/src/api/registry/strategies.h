#pragma once

// The built-in strategies (one file per kind under src/api/registry/) and the table they are
// registered in.

#include <memory>

#include "service_strategy.h"
#include "serviceaccount_admission.h"
#include "skiff/master/api/registry.h"
#include "skiff/master/api/strategy.h"

namespace skiff::master::api {

// What an update may not change in metadata (uid, creationTimestamp, deletion fields,
// generation, name, namespace) taken back from the stored object, and its managedFields when
// the request leaves them out.
void keepSystemMetadata(nlohmann::json& meta, const nlohmann::json& old_meta);
// For a status strategy that keeps one more metadata field as stored (a Deployment's labels, a
// Pod's ownerReferences): metadata.<field> of `next` taken back from `old`, or removed when
// `old` has none.
void keepStoredMetadataField(nlohmann::json& next, const nlohmann::json& old, const char* field);

// `service_accounts` null: no ServiceAccount admission (RegistryOptions).
StrategyPtr newPodStrategy(const DefaultingOptions& defaulting,
                           ServiceAccountLookup service_accounts = nullptr);
// kubernetes.io/service-account-token Secrets get a legacy token signed by `tokens`.
StrategyPtr newSecretStrategy(std::shared_ptr<const serviceaccount::TokenIssuer> tokens,
                              std::string ca_pem, ServiceAccountLookup lookup);
StrategyPtr newNamespaceStrategy();
StrategyPtr newNodeStrategy();
StrategyPtr newDeploymentStrategy();
StrategyPtr newReplicationControllerStrategy();
StrategyPtr newJobStrategy();
StrategyPtr newCertificateSigningRequestStrategy(RegistryOptions::SignCsr sign,
                                                 RegistryOptions::SignCsr sign_client,
                                                 Registry& registry);

// Role, ClusterRole, RoleBinding, ClusterRoleBinding (rbac_strategy.cc) and the access reviews
// that need no authenticator (review_strategy.cc): validation, roleRef immutability,
// escalation prevention, SubjectAccessReview and friends.
void registerRbacStrategies(Registry& registry);

// HorizontalPodAutoscaler and LimitRange (hpa_strategy.cc, issue 22).
void registerPolicyStrategies(StrategyRegistry& table);
// Issue 20's kinds: Ingress, IngressClass, NetworkPolicy, RuntimeClass
// (networking_strategy.cc); webhook configurations and APIService
// (webhook_config_strategy.cc).
StrategyPtr newNetworkingStrategy();
StrategyPtr newWebhookConfigurationStrategy(bool mutating);
StrategyPtr newAPIServiceStrategy();
void registerExtensionStrategies(StrategyRegistry& table);

// Registers every built-in kind's strategy in `table`; `services` is the Service strategy
// (its allocators are also the registry's, for the `kubernetes` Service).
void registerBuiltinStrategies(StrategyRegistry& table, const RegistryOptions& options,
                               std::shared_ptr<ServiceStrategy> services, Registry& registry);

}  // namespace skiff::master::api
