#pragma once

// Images: a content store of sha256-verified blobs, image records naming manifests, and one
// unpacked directory per layer (by diff id) shared by every container of every image that uses
// it, stacked as overlayfs lowerdirs.
//
// On-disk layout under `root` (default /var/lib/skiff/runtime/images):
//   blobs/sha256/<hex>          content-addressed blobs (manifests, configs, layer archives)
//   layers/sha256/<diffid-hex>/ the unpacked layer (overlay whiteouts: 0/0 char devices and
//                               trusted.overlay.opaque=y)
//   images.json                 {name -> manifest digest, config digest, diff ids, size}
//   images.lock                 flock(2) held by whoever changes the store
//   tmp/                        staging, <what>-<pid>-XXXXXX; a dead pid's is debris of a crash
//
// Every write is staged in tmp/ and renamed into place, so a failed import or pull (digest
// mismatch, corrupt archive, unsafe path) leaves nothing behind. Thread-safe, and shared by
// every process that opens the same root (the agent and `skiff-agent ctr`): images.json is the
// one source of truth, re-read by a lookup when it changed on disk (a stat otherwise), and
// changed only under images.lock, so an image one process imports, pulls or removes is what the
// others see at their next lookup.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "skiff/common/result.h"
#include "skiff/runtime/image_ref.h"

namespace skiff::runtime {

// The parts of an image config the runtime uses (OCI image-spec config.config).
struct ImageConfig {
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::vector<std::string> env;
  std::string working_dir;
  std::string user;
  std::string os = "linux";
  std::string architecture;
};

struct Image {
  std::string id;                  // config digest, sha256:...
  std::vector<std::string> names;  // normalised references (docker.io/library/busybox:latest)
  std::string manifest_digest;
  std::vector<std::string> diff_ids;  // bottom layer first
  std::uint64_t size = 0;             // sum of the layer blobs
  std::int64_t last_used_ns = 0;      // for GC ordering
  std::int64_t created_at_ns = 0;     // when it was stored here
  ImageConfig config;
};

struct RegistryOptions {
  bool insecure_http = false;  // plain HTTP (registry on loopback in tests)
  bool skip_tls_verify = false;
  std::string ca_file;  // extra CA for HTTPS
  std::string platform_os = "linux";
  std::string platform_arch;  // empty: this node's (amd64, arm64...)
  std::chrono::seconds timeout{120};
};

// Reports the filesystem usage of the image store (statvfs in production, a fake in tests).
struct DiskUsage {
  std::uint64_t capacity_bytes = 0;
  std::uint64_t available_bytes = 0;
};
using DiskUsageFn = std::function<Result<DiskUsage>()>;
// The real seam: statvfs(2) of the filesystem holding `path` (blocks available to unprivileged
// users count as available, as kubelet's cadvisor-based imagefs stats do).
DiskUsageFn statvfsDiskUsage(std::string path);

struct ImageGcPolicy {
  int high_threshold_percent = 85;    // imageGCHighThresholdPercent
  int low_threshold_percent = 80;     // imageGCLowThresholdPercent
  std::chrono::seconds min_age{120};  // imageMinimumGCAge
};

struct ImageGcResult {
  std::vector<std::string> removed;  // image ids
  std::uint64_t freed_bytes = 0;
  std::uint64_t wanted_bytes = 0;  // what reaching the low threshold needed (0: under high)
};

class ImageStore {
 public:
  virtual ~ImageStore() = default;

  // Imports a `docker save` archive or an OCI image-layout archive (tar, optionally gzip).
  // Names come from RepoTags / io.containerd.image.name / org.opencontainers.image.ref.name;
  // `name_override` (if set) names an archive with a single image. Returns the imported images,
  // each with the names this archive gave it (get() shows all of an image's names).
  virtual Result<std::vector<Image>> importArchive(const std::string& path,
                                                   const std::string& name_override = "") = 0;
  // Pulls from a registry v2 (anonymous bearer token flow; manifest lists / OCI indexes resolved
  // to the platform; Docker schema2 and OCI manifests; gzip or plain layers).
  virtual Result<Image> pull(const std::string& ref, const RegistryOptions& opts = {}) = 0;
  // By reference (normalised), image id, or unique id prefix. NotFound otherwise.
  virtual Result<Image> get(const std::string& ref_or_id) = 0;
  virtual Result<std::vector<Image>> list() = 0;
  // Removes a name; the image (and its unreferenced blobs/layers) goes with its last name. With
  // an id, removes all names. `in_use` images (by running containers) are refused (Conflict).
  virtual Result<bool> remove(const std::string& ref_or_id) = 0;
  // Absolute paths of the image's unpacked layers, top layer first (overlay lowerdir order).
  virtual Result<std::vector<std::string>> layerDirs(const Image& image) = 0;
  // Marks image use (GC ordering) and pins/unpins it against removal by containers.
  virtual void markUsed(const std::string& image_id, int delta) = 0;
  // kubelet image GC: when usage >= high threshold, remove unused images (least recently used
  // first, older than min_age) until usage <= low threshold. Finding too little to remove is not
  // an error: freed_bytes < wanted_bytes tells the caller (the kubelet reports it as an event).
  virtual Result<ImageGcResult> garbageCollect(const ImageGcPolicy& policy,
                                               const DiskUsageFn& usage,
                                               std::chrono::system_clock::time_point now) = 0;
  virtual const std::string& root() const = 0;
};

using ImageStorePtr = std::unique_ptr<ImageStore>;

Result<ImageStorePtr> openImageStore(const std::string& root);

// The agent's first-start import (so `image: busybox` works offline): imports `archive` unless
// `ref` already resolves. Returns true if it imported.
Result<bool> importIfMissing(ImageStore& store, const std::string& archive, const std::string& ref);

// Where the bundled busybox archive is: $SKIFF_BUSYBOX_IMAGE if set, else the installed
// <prefix>/share/skiff/images/busybox-oci.tar, else the build tree's; empty if none exists.
std::string bundledBusyboxArchive();
inline constexpr const char* kBundledBusyboxRef = "docker.io/library/busybox:latest";

}  // namespace skiff::runtime
