#pragma once

// A fake of the hostinfo seam for tests: uname, affinity and statfs results are plain fields,
// or come from a fixture's fixture.json:
//   {"uname": {"sysname": "Linux", "nodename": "...", "release": "...", "version": "...",
//              "machine": "x86_64"},
//    "affinity": [0, 1],
//    "statfs": {"capacityBytes": N, "freeBytes": N, "availableBytes": N,
//               "inodes": N, "inodesFree": N},
//    "config": {...}}            // node flags, read by nodeConfigFromFixture()

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "skiff/hostinfo/node_resources.h"
#include "skiff/hostinfo/sys/host_sys.h"

namespace skiff::hostinfo::testing {

class FakeHostSys final : public sys::HostSys {
 public:
  sys::Uname uname_result{"Linux", "fake-host", "6.1.0-18-amd64", "#1 SMP", "x86_64"};
  std::vector<int> affinity{0};
  std::optional<sys::FsStats> fs = sys::FsStats{};
  // statfs of these paths fails with ENOENT (a state dir that does not exist yet).
  std::set<std::string> missing_paths;
  // Every path statfs was asked about, in order.
  std::vector<std::string> statfs_calls;

  // Reads <fixture_dir>/fixture.json. Errors name the file.
  static Result<FakeHostSys> fromFixture(const std::string& fixture_dir);

  // sys::HostSys
  Result<sys::Uname> uname() override { return uname_result; }
  Result<std::vector<int>> schedGetAffinity() override { return affinity; }
  Result<sys::FsStats> statfs(const std::string& path) override;
};

// The "config" object of <fixture_dir>/fixture.json as NodeConfig, using the same flag parsers
// as the agent: {"hostnameOverride": "...", "kubeReserved": "cpu=...", "systemReserved": "...",
// "evictionHard": "...", "maxPods": N}. Missing keys keep the defaults.
Result<NodeConfig> nodeConfigFromFixture(const std::string& fixture_dir);

}  // namespace skiff::hostinfo::testing
