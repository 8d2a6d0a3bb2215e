#pragma once

// Small accessors over Kubernetes objects held as JSON (DESIGN.md: JSON at the edges). They never
// throw: a missing or mistyped field reads as empty.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace skiff::master {

using json = nlohmann::json;

namespace meta {

// obj[a][b]... or nullptr json when any step is missing / not an object.
const json& at(const json& obj, std::initializer_list<const char*> path);
std::string str(const json& obj, std::initializer_list<const char*> path);
std::int64_t integer(const json& obj, std::initializer_list<const char*> path,
                     std::int64_t fallback = 0);
bool boolean(const json& obj, std::initializer_list<const char*> path, bool fallback = false);

std::string name(const json& obj);
std::string ns(const json& obj);
std::string uid(const json& obj);
std::string resourceVersion(const json& obj);
std::int64_t generation(const json& obj);
// "ns/name", or "name" for cluster-scoped objects (client-go's MetaNamespaceKeyFunc).
std::string key(const json& obj);
std::string key(const std::string& ns, const std::string& name);
// Splits a key made by key(); ns is "" for cluster-scoped keys.
void splitKey(const std::string& key, std::string* ns, std::string* name);

std::map<std::string, std::string> labels(const json& obj);
std::map<std::string, std::string> annotations(const json& obj);
bool isDeleting(const json& obj);  // metadata.deletionTimestamp set
bool hasFinalizer(const json& obj, const std::string& f);

// The ownerReference with controller=true, pointing into `obj` (no copy: controllers ask this
// of every pod on every sync), or nullptr.
const json* controllerRef(const json& obj);
const json* controllerRef(const json&& obj) = delete;  // would dangle
// An ownerReference (controller, blockOwnerDeletion) pointing at owner of the given kind.
json makeControllerRef(const json& owner, const std::string& api_version, const std::string& kind);

}  // namespace meta
}  // namespace skiff::master
