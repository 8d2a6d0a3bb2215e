#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "skiff/common/result.h"
#include "skiff/common/unique_fd.h"

namespace skiff {

// Reads a whole file (up to `max_bytes`, default 16 MiB, so a runaway /proc or /sys file cannot
// exhaust memory). Errors name the path: "read '/proc/meminfo': No such file or directory".
Result<std::string> readFile(const std::string& path, std::size_t max_bytes = 16u << 20);

// Writes `data` to `path` atomically: a temporary file in the same directory, fsync, rename.
// A reader sees the old content or the new, never a torn file.
Result<void> writeFileAtomic(const std::string& path, std::string_view data, unsigned mode = 0644);

// The same without the fsync, for state that does not outlive a reboot or is rebuilt from the
// API (container and sandbox records, a pod's /etc/hosts, IPAM hints): readers still never see
// a torn file, and a pod start does not wait for the disk (the kubelet writes these with plain
// os.WriteFile). Concurrent writers of one path each replace it whole; the last one wins.
Result<void> writeFileReplace(const std::string& path, std::string_view data, unsigned mode = 0600);

// Writes all of `data` to `fd`, retrying short writes and EINTR. `what` names the file in the
// error ("write '<what>': No space left on device").
Result<void> writeAll(int fd, std::string_view data, const std::string& what);

// pipe2(O_CLOEXEC) into two owned ends; `what` starts the error ("pipe: Too many open files").
Result<void> makePipe(UniqueFd& read_end, UniqueFd& write_end, const std::string& what = "pipe");

// Joins a root prefix and an absolute path: joinRoot("/fixtures/deb12", "/proc/cpuinfo").
std::string joinRoot(std::string_view root, std::string_view abs_path);

}  // namespace skiff
