#pragma once

// Private: process helpers for the runtime (spawning detached shims, running runc, waiting on
// pipes with deadlines, /proc checks).

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "skiff/common/result.h"
#include "skiff/common/unique_fd.h"

namespace skiff::runtime {

// Starts `argv` (a program that daemonizes itself: forks and lets its first process exit, as
// skiff-shim does) with spawnProcess in a new session and `pass_fd` as fd 3. Returns once that
// first process is reaped.
Result<void> spawnDetached(const std::vector<std::string>& argv, int pass_fd);

// Runs `fn` in a child process that shares this process's memory, waits for it and returns its
// exit status (fn's return value, 128+signal if it was killed). The child is made the way
// posix_spawn makes one, clone(CLONE_VM | CLONE_VFORK) on a stack of its own, because fork()
// of the agent copies its page tables and then turns every page any of its threads writes into
// a copy-on-write fault with TLB shootdowns, all for a child that makes a handful of syscalls.
// So `fn` may only make syscalls: no allocation, no locks, no stdio. It runs on the calling
// thread's TLS (errno included) while that thread is suspended, with all signals blocked.
Result<int> runInVforkChild(const std::function<int()>& fn);

// Reads `fd` until EOF or the deadline.
Result<std::string> readUntilEof(int fd, std::chrono::milliseconds timeout);

// Process start time (clock ticks since boot, /proc/<pid>/stat field 22); 0 if gone.
std::uint64_t processStartTime(int pid);
// True if `pid` is alive and still the process that had `start_time` (pid reuse guard).
bool processAlive(int pid, std::uint64_t start_time);

// Creates a new file (O_EXCL) with `data`: one inode, no temp file. For records written once.
Result<void> writeFileNew(const std::string& path, std::string_view data, unsigned mode = 0600);

// mkdir -p: creates the missing directories of `path` with `mode`.
Result<void> mkdirs(const std::string& path, unsigned mode = 0700);

std::string randomId();  // 64 hex characters
std::int64_t nowNs();

}  // namespace skiff::runtime
