#pragma once

// Starting programs from a daemon with many threads and a sizeable heap (the agent).
//
// posix_spawn, never fork(): glibc makes the child with clone(CLONE_VM | CLONE_VFORK), so the
// parent's page tables are not copied and its threads take no copy-on-write faults afterwards.
// A fork of the agent paid both on every exec probe and every exec session. Nothing runs in
// the child between clone and exec except the file actions below, so there is no question of
// what is safe to call there.
//
// The child starts with an empty signal mask and every signal at its default disposition (a
// daemon that ignores SIGPIPE must not pass that on), in the calling thread's namespaces.

#include <sys/types.h>

#include <string>
#include <vector>

#include "skiff/common/result.h"

namespace skiff {

struct SpawnOptions {
  int stdin_fd = -1;                              // becomes fd 0; -1: /dev/null
  int stdout_fd = -1;                             // becomes fd 1; -1: /dev/null
  int stderr_fd = -1;                             // becomes fd 2; -1: /dev/null
  std::vector<int> extra_fds{};                   // become fds 3, 4, ... in order
  bool search_path = false;                       // argv[0] without a '/' is looked up in PATH
  bool new_session = false;                       // setsid() in the child
  const std::vector<std::string>* env = nullptr;  // "K=V" entries; nullptr: this process's
};

// Starts `argv` and returns its pid, which the caller reaps (waitForExit). A program that
// cannot be executed is an error carrying the exec's errno (see isExecFailure).
Result<pid_t> spawnProcess(const std::vector<std::string>& argv, const SpawnOptions& opts = {});

// Waits for `pid`, retrying on EINTR: its exit code, or 128 + the signal that ended it.
int waitForExit(pid_t pid);

// True when a spawnProcess error means the program itself could not be executed (missing, not
// executable, bad format): what a shell reports as exit code 127 or 126.
bool isExecFailure(const Error& e);

}  // namespace skiff
