#pragma once

// Private: the image store implementation, shared by archive import and registry pull, which both
// stage blobs in a temp dir and hand a StagedImage to install().

#include <sys/stat.h>
#include <sys/types.h>

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "skiff/common/unique_fd.h"
#include "skiff/runtime/image_store.h"
#include "skiff/runtime/tar_reader.h"

namespace skiff::runtime {

// Helpers shared by the store's sources (image_store.cc, image_import.cc).
namespace store_detail {
inline constexpr std::uint64_t kMaxJsonBlob = 4u << 20;  // manifests and configs
Result<void> mkdirs(const std::string& path, mode_t mode = 0700);
bool pathExists(const std::string& p);
std::vector<std::string> jsonStrings(const nlohmann::json& j, const char* key);
// nlohmann throws on type mismatches; confine that to this adapter (STYLE.md §4).
template <typename F>
auto jsonTry(std::string_view what, F&& f) -> Result<decltype(f())> {
  try {
    return f();
  } catch (const std::exception& e) {
    return Error(ErrorCode::Invalid, std::string(what) + ": " + e.what());
  }
}
// What the archive or blob at `fd` is compressed with, from its magic bytes.
enum class Compression { None, Gzip, Zstd };
Compression sniffCompression(int fd);
// `in` decompressed as `c` says (Unsupported for zstd when built without libzstd).
Result<std::unique_ptr<ByteReader>> decompressing(std::unique_ptr<ByteReader> in, Compression c);
}  // namespace store_detail

struct Descriptor {
  std::string media_type;
  std::string digest;
  std::uint64_t size = 0;
};

struct StagedImage {
  std::string blob_dir;  // files named <hex> of each blob
  std::string manifest_digest;
  Descriptor config;
  std::vector<Descriptor> layers;
  std::vector<std::string> names;
};

// Parses an OCI/Docker schema2 image manifest.
Result<std::pair<Descriptor, std::vector<Descriptor>>> parseManifest(const std::string& text);
Result<Descriptor> parseDescriptor(const nlohmann::json& j);
// Picks the manifest for os/arch from an OCI index or Docker manifest list.
Result<Descriptor> selectPlatform(const std::string& index_text, const std::string& os,
                                  const std::string& arch);
// amd64, arm64, ... for this machine.
std::string nodeArchitecture();

// Parses a WWW-Authenticate challenge: {"scheme": "Bearer", "realm": ..., "service": ..., ...}.
std::map<std::string, std::string> parseAuthChallenge(const std::string& header);

// Pull implementation (registry_client.cc): stages blobs and returns what to install.
Result<StagedImage> fetchFromRegistry(const ImageRef& ref, const RegistryOptions& opts,
                                      const std::string& stage_dir);

// The store is shared by every process that opens the same root (the agent, `skiff-agent ctr`):
// images.json on disk is the single source of truth. Writers (install, remove, GC) hold an
// exclusive flock(2) on <root>/images.lock while they re-read the index, change blobs, layers and
// the index, and replace images.json atomically (rename), so readers never need the lock: a
// lookup stats images.json and re-reads it only when its inode, size or mtime changed.
class ImageStoreImpl : public ImageStore {
 public:
  explicit ImageStoreImpl(std::string root) : root_(std::move(root)) {}
  Result<void> open();

  // skiff::runtime::ImageStore
  Result<std::vector<Image>> importArchive(const std::string& path,
                                           const std::string& name_override) override;
  Result<Image> pull(const std::string& ref, const RegistryOptions& opts) override;
  Result<Image> get(const std::string& ref_or_id) override;
  Result<std::vector<Image>> list() override;
  Result<bool> remove(const std::string& ref_or_id) override;
  Result<std::vector<std::string>> layerDirs(const Image& image) override;
  void markUsed(const std::string& image_id, int delta) override;
  Result<ImageGcResult> garbageCollect(const ImageGcPolicy& policy, const DiskUsageFn& usage,
                                       std::chrono::system_clock::time_point now) override;
  const std::string& root() const override { return root_; }

 private:
  Result<Image> install(const StagedImage& staged);
  // One attempt; `retry` is set when an image GC in another process removed a blob or layer this
  // install counted on between staging and commit.
  Result<Image> installOnce(const StagedImage& staged, bool& retry);
  Result<Image> commitLocked(const StagedImage& st, const std::vector<std::string>& diff_ids,
                             const ImageConfig& config,
                             const std::vector<std::pair<std::string, std::string>>& new_layers,
                             bool& retry);
  Result<std::string> makeTempDir(const std::string& prefix);
  // Exclusive flock on <root>/images.lock (other processes); callers also hold mu_ (threads).
  Result<UniqueFd> lockIndex();
  // Re-reads images.json when it changed on disk since the last read (or always, with `force`).
  // Caller holds mu_.
  Result<void> refreshLocked(bool force = false);
  Result<void> save();  // images.json; caller holds mu_ and the index lock
  Result<Image> findLocked(const std::string& ref_or_id);
  void removeImageLocked(const std::string& id);
  std::string blobPath(const std::string& digest) const;
  std::string layerPath(const std::string& diff_id) const;

  std::string root_;
  std::mutex mu_;
  std::map<std::string, Image> images_;       // by id: the last read of images.json
  std::map<std::string, int> pins_;           // id -> users (containers of this process)
  std::map<std::string, std::int64_t> used_;  // id -> last use here, merged into every read
  struct Stamp {
    dev_t dev = 0;
    ino_t ino = 0;
    std::int64_t mtime_ns = 0;
    off_t size = -1;
    bool operator==(const Stamp&) const = default;
  };
  static Stamp stampOf(const struct stat& sb);
  Stamp stamp_;  // of the images.json images_ was read from
};

}  // namespace skiff::runtime
