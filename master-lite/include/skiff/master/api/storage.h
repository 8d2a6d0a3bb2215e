#pragma once
// Validation and table rows of the storage kinds (PersistentVolume, PersistentVolumeClaim,
// StorageClass and the other storage.k8s.io/v1 kinds), with upstream's field paths and
// messages (pkg/apis/core/validation ValidatePersistentVolume{,Claim}{,Update},
// pkg/apis/storage/validation) and kubectl's columns (pkg/printers/internalversion).
#include <optional>

#include <nlohmann/json.hpp>

#include "skiff/master/api/object_util.h"
#include "skiff/master/api/strategy.h"
#include "skiff/master/api/validation.h"

namespace skiff::master::api {

class Registry;

FieldErrors validatePersistentVolume(const nlohmann::json& pv, const nlohmann::json* old);
FieldErrors validatePersistentVolumeClaim(const nlohmann::json& pvc, const nlohmann::json* old);
FieldErrors validateStorageClass(const nlohmann::json& sc, const nlohmann::json* old);

// Column definitions / the row cells of a storage kind; nullopt for other kinds.
std::optional<nlohmann::json> storageTableColumns(const std::string& kind);
std::optional<nlohmann::json> storageTableRow(const std::string& kind, const nlohmann::json& obj,
                                              Clock::time_point now);

// Registers the storage kinds' strategies (storage_strategy.cc).
void registerStorageStrategies(StrategyRegistry& table, Registry& registry);

// The built-in default StorageClass `local-path` (provisioner skiff.io/local-path,
// WaitForFirstConsumer, Delete), created at every master start when absent, as k3s re-applies
// its local-storage manifest on start: edits are kept, a deleted class comes back on restart.
Result<void> ensureLocalPathStorageClass(Registry& registry);

}  // namespace skiff::master::api
