// The resources of established CustomResourceDefinitions, served next to the built-in table
// (resources.cc). Entries are shared_ptrs that are never freed while the process runs: a request
// that resolved its route just before the CRD went away still holds a valid ResourceInfo.
#include "custom_resource_table.h"

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <shared_mutex>

namespace skiff::master::api {
namespace {

using Entry = std::shared_ptr<const ResourceInfo>;

struct Table {
  std::shared_mutex mu;
  std::map<std::string, std::vector<Entry>> by_crd;  // CRD name -> its served versions
  std::vector<Entry> retired;                        // keeps handed-out pointers valid
};

Table& table() {
  static Table t;
  return t;
}

bool builtin(const ResourceInfo& r) {
  for (const auto& b : allResources()) {
    if (b.group == r.group && b.version == r.version && b.resource == r.resource) return true;
  }
  return false;
}

struct VersionKey {
  bool kube = false;
  int major = 0;
  int stage = 0;  // 2 GA, 1 beta, 0 alpha
  int minor = 0;
};

VersionKey parseVersion(const std::string& v) {
  static const std::regex re("^v([1-9][0-9]*)(?:(alpha|beta)([1-9][0-9]*))?$");
  std::smatch m;
  VersionKey k;
  if (!std::regex_match(v, m, re)) return k;
  k.kube = true;
  k.major = std::stoi(m[1].str());
  k.stage = !m[2].matched ? 2 : (m[2].str() == "beta" ? 1 : 0);
  k.minor = m[3].matched ? std::stoi(m[3].str()) : 0;
  return k;
}

}  // namespace

int compareKubeVersions(const std::string& a, const std::string& b) {
  VersionKey x = parseVersion(a), y = parseVersion(b);
  if (x.kube != y.kube) return x.kube ? -1 : 1;
  if (!x.kube) return a.compare(b);
  if (x.stage != y.stage) return x.stage > y.stage ? -1 : 1;
  if (x.major != y.major) return x.major > y.major ? -1 : 1;
  if (x.minor != y.minor) return x.minor > y.minor ? -1 : 1;
  return 0;
}

void setCustomResources(const std::string& crd_name, std::vector<ResourceInfo> resources) {
  std::vector<Entry> entries;
  for (auto& r : resources) {
    if (!builtin(r)) entries.push_back(std::make_shared<const ResourceInfo>(std::move(r)));
  }
  Table& t = table();
  std::unique_lock lock(t.mu);
  auto& slot = t.by_crd[crd_name];
  t.retired.insert(t.retired.end(), slot.begin(), slot.end());
  slot = std::move(entries);
}

void removeCustomResources(const std::string& crd_name) {
  Table& t = table();
  std::unique_lock lock(t.mu);
  auto it = t.by_crd.find(crd_name);
  if (it == t.by_crd.end()) return;
  t.retired.insert(t.retired.end(), it->second.begin(), it->second.end());
  t.by_crd.erase(it);
}

std::vector<const ResourceInfo*> servedResources() {
  std::vector<const ResourceInfo*> out;
  for (const auto& r : allResources()) out.push_back(&r);
  Table& t = table();
  std::shared_lock lock(t.mu);
  for (const auto& [name, entries] : t.by_crd) {
    for (const auto& e : entries) out.push_back(e.get());
  }
  return out;
}

std::vector<GroupInfo> servedGroups() {
  std::vector<GroupInfo> out = allGroups();
  std::map<std::string, std::vector<std::string>> custom;
  {
    Table& t = table();
    std::shared_lock lock(t.mu);
    for (const auto& [name, entries] : t.by_crd) {
      for (const auto& e : entries) {
        auto& vs = custom[e->group];
        if (std::find(vs.begin(), vs.end(), e->version) == vs.end()) vs.push_back(e->version);
      }
    }
  }
  for (auto& [group, versions] : custom) {
    auto it =
        std::find_if(out.begin(), out.end(), [&](const GroupInfo& g) { return g.name == group; });
    if (it != out.end()) {
      for (const auto& v : versions) {
        if (std::find(it->versions.begin(), it->versions.end(), v) == it->versions.end())
          it->versions.push_back(v);
      }
      continue;
    }
    std::sort(versions.begin(), versions.end(), [](const std::string& a, const std::string& b) {
      return compareKubeVersions(a, b) < 0;
    });
    out.push_back({group, versions});
  }
  return out;
}

namespace {

template <typename Match>
const ResourceInfo* findCustom(Match match) {
  Table& t = table();
  std::shared_lock lock(t.mu);
  for (const auto& [name, entries] : t.by_crd) {
    for (const auto& e : entries) {
      if (match(*e)) return e.get();
    }
  }
  return nullptr;
}

}  // namespace

const ResourceInfo* findCustomResource(const std::string& group, const std::string& version,
                                       const std::string& resource) {
  return findCustom([&](const ResourceInfo& e) {
    return e.group == group && e.version == version && e.resource == resource;
  });
}

const ResourceInfo* findCustomResourceByKind(const std::string& group, const std::string& version,
                                             const std::string& kind) {
  return findCustom([&](const ResourceInfo& e) {
    return e.group == group && e.version == version && e.kind == kind;
  });
}

}  // namespace skiff::master::api
