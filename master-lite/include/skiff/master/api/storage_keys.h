#pragma once

// Where objects live in the store: kube-apiserver's etcd key layout, so that a skiff etcd reads
// like a Kubernetes one (`etcdctl get --prefix /registry/configmaps/default/`):
//   <root>/<resource>/<namespace>/<name>   built-in kinds (root = --etcd-prefix, "/registry")
//   <root>/<resource>/<name>               cluster-scoped built-in kinds
//   <root>/<group>/<resource>/...          custom resources, CRDs and APIServices
// with upstream's historical names: services -> services/specs, endpoints ->
// services/endpoints, nodes -> minions, ingresses -> ingress. extensions/* is stored with
// apps. events.k8s.io Events keep their own prefix (events.k8s.io/events): skiff stores the
// two Event schemas separately where kube-apiserver converts one into the other.
//
// Older skiff versions stored every kind under <root>/<group or "core">/<resource>/;
// migrateLegacyStorageKeys() moves such keys once, values intact.

#include <string>

#include "skiff/common/result.h"
#include "skiff/master/api/resources.h"
#include "skiff/master/store/store.h"

namespace skiff::master::api {

inline constexpr const char* kDefaultStoragePrefix = "/registry";

// "configmaps", "services/specs", "apiextensions.k8s.io/customresourcedefinitions", ...
std::string storageResourcePath(const ResourceInfo& r);
// The group r's objects are stored as: "apps" for extensions, core ("") for events.k8s.io
// (kube-apiserver keeps both Event APIs in /registry/events), else r's own.
std::string storageGroup(const ResourceInfo& r);
// "<root>/<path>/" or, for a namespaced kind with `ns` given, "<root>/<path>/<ns>/".
std::string storagePrefix(const std::string& root, const ResourceInfo& r, const std::string& ns);

// Rewrites every key of the old layout under `root` to the new one (create the new key with the
// same value, then delete the old). Idempotent and safe to interrupt: a key already moved is
// only deleted from its old place. Returns how many keys moved.
Result<int> migrateLegacyStorageKeys(store::Store& store, const std::string& root);

}  // namespace skiff::master::api
