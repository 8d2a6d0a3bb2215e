#include "skiff/master/informer/meta.h"

#include "skiff/master/json_at.h"

namespace skiff::master::meta {

const json& at(const json& obj, std::initializer_list<const char*> path) {
  return jsonAt(obj, path);
}

std::string str(const json& obj, std::initializer_list<const char*> path) {
  const json& v = at(obj, path);
  return v.is_string() ? v.get<std::string>() : std::string();
}

std::int64_t integer(const json& obj, std::initializer_list<const char*> path,
                     std::int64_t fallback) {
  const json& v = at(obj, path);
  if (v.is_number_integer()) return v.get<std::int64_t>();
  if (v.is_number()) return static_cast<std::int64_t>(v.get<double>());
  return fallback;
}

bool boolean(const json& obj, std::initializer_list<const char*> path, bool fallback) {
  const json& v = at(obj, path);
  return v.is_boolean() ? v.get<bool>() : fallback;
}

std::string name(const json& obj) { return str(obj, {"metadata", "name"}); }
std::string ns(const json& obj) { return str(obj, {"metadata", "namespace"}); }
std::string uid(const json& obj) { return str(obj, {"metadata", "uid"}); }
std::string resourceVersion(const json& obj) { return str(obj, {"metadata", "resourceVersion"}); }
std::int64_t generation(const json& obj) { return integer(obj, {"metadata", "generation"}); }

std::string key(const std::string& n, const std::string& nm) {
  return n.empty() ? nm : n + "/" + nm;
}
std::string key(const json& obj) { return key(ns(obj), name(obj)); }

void splitKey(const std::string& k, std::string* n, std::string* nm) {
  auto slash = k.find('/');
  if (slash == std::string::npos) {
    n->clear();
    *nm = k;
  } else {
    *n = k.substr(0, slash);
    *nm = k.substr(slash + 1);
  }
}

namespace {
std::map<std::string, std::string> stringMap(const json& v) {
  std::map<std::string, std::string> out;
  if (!v.is_object()) return out;
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (it.value().is_string()) out[it.key()] = it.value().get<std::string>();
  }
  return out;
}
}  // namespace

std::map<std::string, std::string> labels(const json& obj) {
  return stringMap(at(obj, {"metadata", "labels"}));
}
std::map<std::string, std::string> annotations(const json& obj) {
  return stringMap(at(obj, {"metadata", "annotations"}));
}

bool isDeleting(const json& obj) {
  const json& v = at(obj, {"metadata", "deletionTimestamp"});
  return v.is_string() && !v.get<std::string>().empty();
}

bool hasFinalizer(const json& obj, const std::string& f) {
  const json& v = at(obj, {"metadata", "finalizers"});
  if (!v.is_array()) return false;
  for (const auto& e : v) {
    if (e.is_string() && e.get<std::string>() == f) return true;
  }
  return false;
}

const json* controllerRef(const json& obj) {
  const json& refs = at(obj, {"metadata", "ownerReferences"});
  if (!refs.is_array()) return nullptr;
  for (const auto& r : refs) {
    if (r.is_object() && r.value("controller", false)) return &r;
  }
  return nullptr;
}

json makeControllerRef(const json& owner, const std::string& api_version, const std::string& kind) {
  return json{{"apiVersion", api_version}, {"kind", kind},       {"name", name(owner)},
              {"uid", uid(owner)},         {"controller", true}, {"blockOwnerDeletion", true}};
}

}  // namespace skiff::master::meta
