#pragma once

// Private: the image store implementation, shared by archive import and registry pull, which both
// stage blobs in a temp dir and hand a StagedImage to install().

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "skiff/runtime/image_store.h"

namespace skiff::runtime {

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
  Result<std::string> makeTempDir(const std::string& prefix);
  Result<void> save();  // images.json; caller holds mu_
  Result<Image> findLocked(const std::string& ref_or_id);
  void removeImageLocked(const std::string& id);
  std::string blobPath(const std::string& digest) const;
  std::string layerPath(const std::string& diff_id) const;

  std::string root_;
  std::mutex mu_;
  std::map<std::string, Image> images_;  // by id
  std::map<std::string, int> pins_;      // id -> users
};

}  // namespace skiff::runtime
