#pragma once

// Every stored object of one kind in memory, decoded once and kept current by a store watch
// whose handler runs inside each committed write (store.h), so a lookup sees every change that
// finished before it. For the admission plugins that read a whole kind on every request
// (webhook configurations, PriorityClasses, LimitRanges), which listed it from the store each
// time: a list of a kind that rarely changes, on the hot path of every pod create.
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "skiff/common/result.h"
#include "skiff/master/api/resources.h"
#include "skiff/master/store/store.h"

namespace skiff::master::api {

class Registry;

class ObjectCache {
 public:
  using ObjectPtr = std::shared_ptr<const nlohmann::json>;

  // `r`: the kind and the version its objects are presented at. Nothing is read until the
  // first list().
  ObjectCache(Registry& registry, const ResourceInfo& r);
  ~ObjectCache();

  // The objects of namespace `ns`, or of every namespace when `ns` is empty (always, for a
  // cluster-scoped kind), in key order (namespace, then name), as the registry would list
  // them (resourceVersion set, at r's version).
  Result<std::vector<ObjectPtr>> list(const std::string& ns = "");

 private:
  struct Entry {
    std::string value;
    std::int64_t mod_revision = 0;
    ObjectPtr decoded;  // null until a lookup needs it
  };

  Result<void> start();

  Registry& registry_;
  const ResourceInfo& r_;
  const std::string prefix_;
  std::mutex start_mu_;
  std::mutex mu_;
  std::map<std::string, Entry> by_key_;
  store::WatchPtr watch_;  // last member: stopped before the map goes
};

}  // namespace skiff::master::api
