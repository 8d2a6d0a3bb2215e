#include "skiff/hostinfo/testing/fake_host_sys.h"

#include <cerrno>

#include <nlohmann/json.hpp>

#include "skiff/common/file.h"

namespace skiff::hostinfo::testing {
namespace {

Result<nlohmann::json> readFixtureJson(const std::string& fixture_dir) {
  const std::string path = fixture_dir + "/fixture.json";
  SKIFF_ASSIGN_OR_RETURN(std::string text, readFile(path));
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Error(ErrorCode::Invalid, "parse '" + path + "': not a JSON object");
  }
  return j;
}

template <typename T>
Result<T> field(const nlohmann::json& obj, const char* key, const std::string& where) {
  if (!obj.contains(key)) return Error(ErrorCode::Invalid, where + ": missing '" + key + "'");
  const auto& v = obj.at(key);
  if constexpr (std::is_same_v<T, std::string>) {
    if (!v.is_string()) return Error(ErrorCode::Invalid, where + ": '" + key + "' not a string");
  } else {
    if (!v.is_number_unsigned()) {
      return Error(ErrorCode::Invalid, where + ": '" + key + "' not an unsigned number");
    }
  }
  return v.get<T>();
}

}  // namespace

Result<FakeHostSys> FakeHostSys::fromFixture(const std::string& fixture_dir) {
  SKIFF_ASSIGN_OR_RETURN(nlohmann::json j, readFixtureJson(fixture_dir));
  const std::string where = "fixture '" + fixture_dir + "/fixture.json'";
  FakeHostSys fake;
  if (!j.contains("uname") || !j["uname"].is_object()) {
    return Error(ErrorCode::Invalid, where + ": missing 'uname' object");
  }
  const auto& u = j["uname"];
  SKIFF_ASSIGN_OR_RETURN(fake.uname_result.sysname, field<std::string>(u, "sysname", where));
  SKIFF_ASSIGN_OR_RETURN(fake.uname_result.nodename, field<std::string>(u, "nodename", where));
  SKIFF_ASSIGN_OR_RETURN(fake.uname_result.release, field<std::string>(u, "release", where));
  SKIFF_ASSIGN_OR_RETURN(fake.uname_result.version, field<std::string>(u, "version", where));
  SKIFF_ASSIGN_OR_RETURN(fake.uname_result.machine, field<std::string>(u, "machine", where));
  if (!j.contains("affinity") || !j["affinity"].is_array()) {
    return Error(ErrorCode::Invalid, where + ": missing 'affinity' array");
  }
  fake.affinity.clear();
  for (const auto& c : j["affinity"]) {
    if (!c.is_number_unsigned()) return Error(ErrorCode::Invalid, where + ": bad affinity cpu");
    fake.affinity.push_back(c.get<int>());
  }
  if (!j.contains("statfs") || !j["statfs"].is_object()) {
    return Error(ErrorCode::Invalid, where + ": missing 'statfs' object");
  }
  const auto& s = j["statfs"];
  sys::FsStats fs;
  SKIFF_ASSIGN_OR_RETURN(fs.capacity_bytes, field<std::uint64_t>(s, "capacityBytes", where));
  SKIFF_ASSIGN_OR_RETURN(fs.free_bytes, field<std::uint64_t>(s, "freeBytes", where));
  SKIFF_ASSIGN_OR_RETURN(fs.available_bytes, field<std::uint64_t>(s, "availableBytes", where));
  SKIFF_ASSIGN_OR_RETURN(fs.inodes, field<std::uint64_t>(s, "inodes", where));
  SKIFF_ASSIGN_OR_RETURN(fs.inodes_free, field<std::uint64_t>(s, "inodesFree", where));
  fake.fs = fs;
  return fake;
}

Result<sys::FsStats> FakeHostSys::statfs(const std::string& path) {
  statfs_calls.push_back(path);
  if (!fs || missing_paths.count(path) != 0) {
    return Error::fromErrno(ENOENT, "statfs '" + path + "'");
  }
  return *fs;
}

Result<NodeConfig> nodeConfigFromFixture(const std::string& fixture_dir) {
  SKIFF_ASSIGN_OR_RETURN(nlohmann::json j, readFixtureJson(fixture_dir));
  const std::string where = "fixture '" + fixture_dir + "/fixture.json'";
  NodeConfig config;
  if (!j.contains("config")) return config;
  const auto& c = j["config"];
  if (!c.is_object()) return Error(ErrorCode::Invalid, where + ": 'config' not an object");
  if (c.contains("hostnameOverride")) {
    SKIFF_ASSIGN_OR_RETURN(std::string h, field<std::string>(c, "hostnameOverride", where));
    config.hostname_override = h;
  }
  if (c.contains("kubeReserved")) {
    SKIFF_ASSIGN_OR_RETURN(std::string v, field<std::string>(c, "kubeReserved", where));
    SKIFF_ASSIGN_OR_RETURN(config.kube_reserved, parseReservedFlag(v, "--kube-reserved"));
  }
  if (c.contains("systemReserved")) {
    SKIFF_ASSIGN_OR_RETURN(std::string v, field<std::string>(c, "systemReserved", where));
    SKIFF_ASSIGN_OR_RETURN(config.system_reserved, parseReservedFlag(v, "--system-reserved"));
  }
  if (c.contains("evictionHard")) {
    SKIFF_ASSIGN_OR_RETURN(std::string v, field<std::string>(c, "evictionHard", where));
    SKIFF_ASSIGN_OR_RETURN(config.eviction_hard, parseEvictionThresholds(v));
  }
  if (c.contains("maxPods")) {
    SKIFF_ASSIGN_OR_RETURN(std::uint64_t n, field<std::uint64_t>(c, "maxPods", where));
    config.max_pods = static_cast<int>(n);
  }
  return config;
}

}  // namespace skiff::hostinfo::testing
