#pragma once

// The air-gap image directory, as k3s has it (agent/images): every `*.tar`, `*.tar.gz`, `*.tgz`
// and `*.tar.zst` archive (OCI image layout or `docker save`) placed there is imported into the
// node's image store at start and again whenever it appears or changes while the agent runs
// (inotify IN_CLOSE_WRITE / IN_MOVED_TO, on a small thread of its own). Each archive is imported
// once per version (inode, size, mtime): a broken one is logged once and retried only when it
// changes; the store itself rejects it whole, so it never changes what is there.

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "skiff/common/result.h"

namespace skiff::agent {

class ImageImportDir {
 public:
  // Imports one archive; returns the names (or ids) of the images it held.
  using ImportFn = std::function<Result<std::vector<std::string>>(const std::string& path)>;
  // Called after each import attempt (tests; the agent nudges its node status).
  using ResultFn = std::function<void(const std::string& path, const Result<void>& outcome)>;

  ImageImportDir(std::string dir, ImportFn import, ResultFn on_result = nullptr);
  ~ImageImportDir();
  ImageImportDir(const ImageImportDir&) = delete;
  ImageImportDir& operator=(const ImageImportDir&) = delete;

  // Creates the directory if needed, imports what is there, then watches it.
  Result<void> start();
  void stop();

  // One pass over the directory: imports every archive not yet seen in its current version.
  // Returns how many archives were attempted.
  int scan();

  // `name` looks like an image archive: *.tar, *.tar.gz, *.tgz, *.tar.zst.
  static bool isArchiveName(const std::string& name);
  const std::string& dir() const { return dir_; }

 private:
  struct Version {
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = -1;
    std::int64_t mtime_ns = 0;
    bool operator==(const Version&) const = default;
  };
  // Imports `name` if its version differs from the last attempt; true if it attempted.
  bool importIfChanged(const std::string& name);
  void watchLoop();

  std::string dir_;
  ImportFn import_;
  ResultFn on_result_;
  std::mutex mu_;  // seen_, and one import at a time
  std::map<std::string, Version> seen_;
  int inotify_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: stop()
  std::thread thread_;
};

}  // namespace skiff::agent
