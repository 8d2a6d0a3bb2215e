#pragma once

// Private: what the runtime records of its sandboxes and containers on disk, so that a new
// Runtime on the same state dir re-adopts them (runtime.h: containers outlive the runtime).
//
//   sandboxes/<id>/sandbox.json   rewritten (rename) when the sandbox is stopped
//   containers/<id>/state.json    written once, when the create completed; until it exists the
//                                 directory is debris of a create that died
//   containers/<id>/started       written once by startContainer (never a window without state)
//   containers/<id>/exit          written once by the shim when the init exits:
//                                 "<code> <finished ns> <oom kills> <signal> [start error]\n"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "skiff/common/result.h"
#include "skiff/runtime/runtime.h"

namespace skiff::runtime {

struct SandboxRecord {
  std::string id;
  PodSandboxConfig config;
  std::int64_t created_at_ns = 0;
  bool ready = true;
  std::string dir;
  std::string netns, ipcns, utsns;  // held ns files
};

// What the runtime keeps of a container's config once it is created: what its status reports
// and state.json restores after a restart. The rest (env, mounts, resources...) went into the
// container's spec and is not needed again; keeping it cost about 4 KB per container.
struct ContainerMeta {
  std::string name;
  std::uint32_t attempt = 0;
  std::string image;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
};

struct ContainerRecord {
  std::string id;
  std::string sandbox_id;
  ContainerMeta config;
  std::string image_id;
  std::string dir;
  std::string log_path;
  std::string cgroup;  // relative cgroup path
  int init_pid = 0;
  std::uint64_t init_start = 0;
  int shim_pid = 0;
  std::int64_t created_at_ns = 0;
  std::int64_t started_at_ns = 0;
  Backend backend = Backend::Native;
};

struct ExitRecord {
  int exit_code = 0;
  std::int64_t finished_ns = 0;
  long oom_kills = 0;
  int signal = 0;
  std::string start_error;
};

// The container's exit record; nullopt while absent or still being written.
std::optional<ExitRecord> readExitRecord(const std::string& container_dir);

Result<void> writeSandboxRecord(const SandboxRecord& s);
// state.json, created once (O_EXCL).
Result<void> writeContainerRecord(const ContainerRecord& r);
// The `started` record.
Result<void> writeStartedRecord(const ContainerRecord& r);

struct RecoveredState {
  std::vector<SandboxRecord> sandboxes;
  std::vector<ContainerRecord> containers;
  // Directories without a record (a create or run that died before recording it): nothing
  // runs there, the caller unmounts and deletes them.
  std::vector<std::string> debris;
  // Records that could not be parsed, with the reason; left in place.
  std::vector<std::pair<std::string, std::string>> unreadable;
};

// Reads every record under <state_dir>/{sandboxes,containers}.
Result<RecoveredState> loadState(const std::string& state_dir);

}  // namespace skiff::runtime
