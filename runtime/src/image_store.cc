#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <random>
#include <set>

#include "digest.h"
#include "image_store_impl.h"
#include "skiff/common/file.h"
#include "skiff/common/scope_exit.h"
#include "skiff/common/unique_fd.h"
#include "skiff/runtime/layer_unpack.h"
#include "skiff/runtime/tar_reader.h"

namespace skiff::runtime {

namespace {

using json = nlohmann::json;
using namespace store_detail;

std::int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

json imageToJson(const Image& im) {
  return json{{"id", im.id},
              {"names", im.names},
              {"manifestDigest", im.manifest_digest},
              {"diffIDs", im.diff_ids},
              {"size", im.size},
              {"lastUsed", im.last_used_ns},
              {"created", im.created_at_ns},
              {"config",
               {{"Entrypoint", im.config.entrypoint},
                {"Cmd", im.config.cmd},
                {"Env", im.config.env},
                {"WorkingDir", im.config.working_dir},
                {"User", im.config.user},
                {"os", im.config.os},
                {"architecture", im.config.architecture}}}};
}

Image imageFromJson(const json& j) {
  Image im;
  im.id = j.at("id").get<std::string>();
  im.names = jsonStrings(j, "names");
  im.manifest_digest = j.value("manifestDigest", "");
  im.diff_ids = jsonStrings(j, "diffIDs");
  im.size = j.value("size", std::uint64_t{0});
  im.last_used_ns = j.value("lastUsed", std::int64_t{0});
  im.created_at_ns = j.value("created", std::int64_t{0});
  const auto& c = j.at("config");
  im.config.entrypoint = jsonStrings(c, "Entrypoint");
  im.config.cmd = jsonStrings(c, "Cmd");
  im.config.env = jsonStrings(c, "Env");
  im.config.working_dir = c.value("WorkingDir", "");
  im.config.user = c.value("User", "");
  im.config.os = c.value("os", "linux");
  im.config.architecture = c.value("architecture", "");
  return im;
}

Result<std::pair<ImageConfig, std::vector<std::string>>> parseImageConfig(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Error(ErrorCode::Invalid, "parse image config: not a JSON object");
  return jsonTry("parse image config", [&] {
    ImageConfig c;
    c.os = j.value("os", "linux");
    c.architecture = j.value("architecture", "");
    if (j.contains("config") && j["config"].is_object()) {
      const auto& cc = j["config"];
      c.entrypoint = jsonStrings(cc, "Entrypoint");
      c.cmd = jsonStrings(cc, "Cmd");
      c.env = jsonStrings(cc, "Env");
      c.working_dir = cc.value("WorkingDir", "");
      c.user = cc.value("User", "");
    }
    std::vector<std::string> diff_ids = jsonStrings(j.at("rootfs"), "diff_ids");
    return std::make_pair(c, diff_ids);
  });
}

// Staging dirs are named <prefix>-<pid>-XXXXXX: another process (the agent, `ctr`) may be
// importing into the same store, so only the debris of dead processes is removed at open.
void removeDeadStaging(const std::string& tmp) {
  DIR* d = ::opendir(tmp.c_str());
  if (d == nullptr) return;
  std::vector<std::string> dead;
  while (const dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == "..") continue;
    auto a = n.find('-'), b = n.rfind('-');
    long pid = a != std::string::npos && b > a ? std::strtol(n.c_str() + a + 1, nullptr, 10) : 0;
    if (pid <= 0 || (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH))
      dead.push_back(tmp + "/" + n);
  }
  ::closedir(d);
  for (const auto& p : dead) (void)removeTree(p);
}

}  // namespace

Result<void> ImageStoreImpl::open() {
  SKIFF_TRY(mkdirs(root_ + "/blobs/sha256"));
  SKIFF_TRY(mkdirs(root_ + "/layers/sha256"));
  SKIFF_TRY(mkdirs(root_ + "/tmp"));
  // Debris of an interrupted import or pull: never half-installed, just staging.
  removeDeadStaging(root_ + "/tmp");
  std::lock_guard lk(mu_);
  return refreshLocked(true);
}

Result<UniqueFd> ImageStoreImpl::lockIndex() {
  std::string p = root_ + "/images.lock";
  UniqueFd fd(::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) return Error::fromErrno(errno, "open '" + p + "'");
  while (::flock(fd.get(), LOCK_EX) != 0) {
    if (errno != EINTR) return Error::fromErrno(errno, "lock '" + p + "'");
  }
  return fd;  // closing it releases the lock
}

ImageStoreImpl::Stamp ImageStoreImpl::stampOf(const struct stat& sb) {
  return Stamp{sb.st_dev, sb.st_ino,
               static_cast<std::int64_t>(sb.st_mtim.tv_sec) * 1000000000 + sb.st_mtim.tv_nsec,
               sb.st_size};
}

Result<void> ImageStoreImpl::refreshLocked(bool force) {
  std::string db = root_ + "/images.json";
  struct stat sb {};
  if (::stat(db.c_str(), &sb) != 0) {
    if (errno != ENOENT) return Error::fromErrno(errno, "stat '" + db + "'");
    images_.clear();
    stamp_ = Stamp{};
    return ok();
  }
  Stamp now = stampOf(sb);
  if (!force && now == stamp_) return ok();
  // The file may be replaced between the stat and the read: then the next lookup sees a new
  // stamp and reads again, so a stale view never outlives one call.
  SKIFF_ASSIGN_OR_RETURN(std::string text, readFile(db, 256u << 20));
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_array())
    return Error(ErrorCode::Invalid, "parse '" + db + "': not a JSON array");
  std::map<std::string, Image> fresh;
  for (const auto& e : j) {
    auto im = jsonTry("parse '" + db + "'", [&] { return imageFromJson(e); });
    if (!im) return std::move(im).error();
    if (auto u = used_.find(im->id); u != used_.end())
      im->last_used_ns = std::max(im->last_used_ns, u->second);
    fresh[im->id] = std::move(*im);
  }
  images_ = std::move(fresh);
  stamp_ = now;
  return ok();
}

std::string ImageStoreImpl::blobPath(const std::string& d) const {
  return root_ + "/blobs/sha256/" + digestHex(d);
}
std::string ImageStoreImpl::layerPath(const std::string& d) const {
  return root_ + "/layers/sha256/" + digestHex(d);
}

Result<std::string> ImageStoreImpl::makeTempDir(const std::string& prefix) {
  std::string tmpl = root_ + "/tmp/" + prefix + "-" + std::to_string(::getpid()) + "-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr)
    return Error::fromErrno(errno, "create temp dir under '" + root_ + "/tmp'");
  return tmpl;
}

Result<void> ImageStoreImpl::save() {
  json arr = json::array();
  for (const auto& [id, im] : images_) arr.push_back(imageToJson(im));
  std::string db = root_ + "/images.json";
  if (auto w = writeFileAtomic(db, arr.dump(1), 0600); !w) {
    stamp_ = Stamp{};  // images_ is ahead of the disk now: the next lookup re-reads it
    return w;
  }
  // Our own write is what images_ holds: take its stamp so the next lookup does not re-read it
  // (we hold the index lock, so nobody replaced it since).
  struct stat sb {};
  if (::stat(db.c_str(), &sb) != 0) return Error::fromErrno(errno, "stat '" + db + "'");
  stamp_ = stampOf(sb);
  return ok();
}

namespace {

// Unpacks one layer blob (plain, gzip or zstd tar) into `dir`, checking its diff id on the
// decompressed stream.
Result<void> unpackLayerBlob(const std::string& blob, const std::string& dir,
                             const std::string& diff_id, const std::string& what) {
  UniqueFd fd(::open(blob.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Error::fromErrno(errno, "open layer blob '" + blob + "'");
  auto in = decompressing(fdReader(fd.get()), sniffCompression(fd.get()));
  if (!in) return std::move(in).error().wrap("layer " + what);
  Sha256 h;
  auto hashed =
      observingReader(std::move(*in), [&h](const char* p, std::size_t n) { h.update(p, n); });
  TarReader tar(*hashed);
  auto r = unpackLayer(tar, dir);
  if (!r) return std::move(r).error().wrap("unpack layer " + what);
  // Drain the trailing blocks so the digest covers the whole stream.
  char buf[4096];
  while (true) {
    SKIFF_ASSIGN_OR_RETURN(std::size_t n, hashed->read(buf, sizeof buf));
    if (n == 0) break;
  }
  std::string got = h.digest();
  if (got != diff_id)
    return Error(ErrorCode::Invalid,
                 "layer " + what + ": diff id mismatch: expected " + diff_id + ", got " + got);
  return ok();
}

}  // namespace

Result<Image> ImageStoreImpl::install(const StagedImage& st) {
  for (int attempt = 0;; ++attempt) {
    bool retry = false;
    auto r = installOnce(st, retry);
    if (!retry || attempt == 4) return r;
  }
}

Result<Image> ImageStoreImpl::installOnce(const StagedImage& st, bool& retry) {
  auto staged = [&](const std::string& d) { return st.blob_dir + "/" + digestHex(d); };
  // 1. Verify every blob we are about to keep.
  auto verify = [&](const std::string& d) -> Result<void> {
    if (!isValidDigest(d)) return Error(ErrorCode::Invalid, "bad digest '" + d + "'");
    if (!pathExists(staged(d))) {
      if (pathExists(blobPath(d))) return ok();
      return Error(ErrorCode::NotFound, "blob " + d + " missing from the image");
    }
    SKIFF_ASSIGN_OR_RETURN(std::string got, sha256File(staged(d)));
    if (got != d)
      return Error(ErrorCode::Invalid, "blob digest mismatch: expected " + d + ", got " + got);
    return ok();
  };
  SKIFF_TRY(verify(st.manifest_digest));
  SKIFF_TRY(verify(st.config.digest));
  for (const auto& l : st.layers) SKIFF_TRY(verify(l.digest));

  std::string config_path =
      pathExists(staged(st.config.digest)) ? staged(st.config.digest) : blobPath(st.config.digest);
  SKIFF_ASSIGN_OR_RETURN(std::string config_text, readFile(config_path, kMaxJsonBlob));
  SKIFF_ASSIGN_OR_RETURN(auto parsed, parseImageConfig(config_text));
  auto& [config, diff_ids] = parsed;
  if (diff_ids.size() != st.layers.size())
    return Error(ErrorCode::Invalid, "image config lists " + std::to_string(diff_ids.size()) +
                                         " diff ids for " + std::to_string(st.layers.size()) +
                                         " layers");

  // 2. Unpack missing layers into staging (outside the lock: this is the slow part).
  std::vector<std::pair<std::string, std::string>> new_layers;  // staged dir -> final dir
  ScopeExit drop_layers([&] {
    for (auto& [tmp, fin] : new_layers) (void)removeTree(tmp);
  });
  std::set<std::string> seen;
  for (std::size_t i = 0; i < st.layers.size(); ++i) {
    const std::string& diff_id = diff_ids[i];
    if (!isValidDigest(diff_id)) return Error(ErrorCode::Invalid, "bad diff id '" + diff_id + "'");
    if (pathExists(layerPath(diff_id)) || seen.count(diff_id)) continue;
    seen.insert(diff_id);
    SKIFF_ASSIGN_OR_RETURN(std::string dir, makeTempDir("layer"));
    new_layers.emplace_back(dir, layerPath(diff_id));
    const std::string& dg = st.layers[i].digest;
    std::string blob = pathExists(staged(dg)) ? staged(dg) : blobPath(dg);
    SKIFF_TRY(unpackLayerBlob(blob, dir, diff_id, dg));
  }

  // 3. Commit under the index lock, against the index as it is now.
  std::lock_guard lk(mu_);
  SKIFF_ASSIGN_OR_RETURN(UniqueFd lock, lockIndex());
  SKIFF_TRY(refreshLocked(/*force=*/true));  // writers never trust the stamp
  return commitLocked(st, diff_ids, config, new_layers, retry);
}

Result<Image> ImageStoreImpl::commitLocked(
    const StagedImage& st, const std::vector<std::string>& diff_ids, const ImageConfig& config,
    const std::vector<std::pair<std::string, std::string>>& new_layers, bool& retry) {
  auto staged = [&](const std::string& d) { return st.blob_dir + "/" + digestHex(d); };
  // What we found in the store while staging may have been removed since (image GC or `ctr rmi`
  // in another process): then stage again.
  std::vector<std::string> blobs{st.manifest_digest, st.config.digest};
  for (const auto& l : st.layers) blobs.push_back(l.digest);
  std::set<std::string> fresh_layers;
  for (const auto& nl : new_layers) fresh_layers.insert(nl.second);
  bool gone = false;
  for (const auto& d : blobs) gone = gone || (!pathExists(staged(d)) && !pathExists(blobPath(d)));
  for (const auto& d : diff_ids)
    gone = gone || (!fresh_layers.count(layerPath(d)) && !pathExists(layerPath(d)));
  if (gone) {
    retry = true;
    return Error(ErrorCode::Conflict, "install image " + st.config.digest +
                                          ": a blob or layer was removed while it was staged");
  }
  for (const auto& d : blobs) {
    if (pathExists(blobPath(d)) || !pathExists(staged(d))) continue;
    if (::rename(staged(d).c_str(), blobPath(d).c_str()) != 0)
      return Error::fromErrno(errno, "store blob " + d);
  }
  for (const auto& [tmp, fin] : new_layers) {
    if (pathExists(fin)) continue;  // a concurrent import won
    if (::rename(tmp.c_str(), fin.c_str()) != 0)
      return Error::fromErrno(errno, "store layer '" + fin + "'");
  }
  Image im;
  im.id = st.config.digest;
  if (auto it = images_.find(im.id); it != images_.end()) im = it->second;
  im.manifest_digest = st.manifest_digest;
  im.diff_ids = diff_ids;
  im.config = config;
  im.size = 0;
  for (const auto& l : st.layers) {
    struct stat sb {};
    if (::stat(blobPath(l.digest).c_str(), &sb) == 0)
      im.size += static_cast<std::uint64_t>(sb.st_size);
  }
  if (im.created_at_ns == 0) im.created_at_ns = nowNs();
  im.last_used_ns = nowNs();
  used_[im.id] = im.last_used_ns;
  for (const auto& n : st.names) {
    // A name moves to the new image (docker tag semantics).
    for (auto& [id, other] : images_) {
      if (id == im.id) continue;
      other.names.erase(std::remove(other.names.begin(), other.names.end(), n), other.names.end());
    }
    if (std::find(im.names.begin(), im.names.end(), n) == im.names.end()) im.names.push_back(n);
  }
  images_[im.id] = im;
  SKIFF_TRY(save());
  return im;
}

Result<Image> ImageStoreImpl::pull(const std::string& ref_text, const RegistryOptions& opts) {
  SKIFF_ASSIGN_OR_RETURN(ImageRef ref, parseImageRef(ref_text));
  SKIFF_ASSIGN_OR_RETURN(std::string stage, makeTempDir("pull"));
  ScopeExit cleanup([&] { (void)removeTree(stage); });
  auto staged = fetchFromRegistry(ref, opts, stage);
  if (!staged) return std::move(staged).error().wrap("pull '" + ref.str() + "'");
  if (ref.tag.empty())
    staged->names = {ref.str()};
  else
    staged->names = {ref.name() + ":" + ref.tag};
  auto r = install(*staged);
  if (!r) return std::move(r).error().wrap("pull '" + ref.str() + "'");
  return r;
}

Result<Image> ImageStoreImpl::findLocked(const std::string& q) {
  if (q.empty()) return Error(ErrorCode::Invalid, "empty image reference");
  std::string norm;
  if (auto r = parseImageRef(q)) norm = r->str();
  std::string as_id = q.rfind("sha256:", 0) == 0 ? q : "sha256:" + q;
  const Image* prefix_hit = nullptr;
  int prefix_hits = 0;
  for (const auto& [id, im] : images_) {
    if (id == q || id == as_id) return im;
    for (const auto& n : im.names) {
      if (n == norm || n == q) return im;
    }
    // name@sha256:... matches by manifest digest.
    if (auto r = parseImageRef(q); r && !r->digest.empty() && r->digest == im.manifest_digest) {
      for (const auto& n : im.names)
        if (n.rfind(r->name(), 0) == 0) return im;
    }
    if (q.size() >= 4 && as_id.size() >= 11 && id.rfind(as_id, 0) == 0) {
      prefix_hit = &im;
      ++prefix_hits;
    }
  }
  if (prefix_hits == 1) return *prefix_hit;
  return Error(ErrorCode::NotFound, "image '" + q + "' not found");
}

Result<Image> ImageStoreImpl::get(const std::string& q) {
  std::lock_guard lk(mu_);
  SKIFF_TRY(refreshLocked());
  return findLocked(q);
}

Result<std::vector<Image>> ImageStoreImpl::list() {
  std::lock_guard lk(mu_);
  SKIFF_TRY(refreshLocked());
  std::vector<Image> out;
  out.reserve(images_.size());
  for (const auto& [id, im] : images_) out.push_back(im);
  return out;
}

void ImageStoreImpl::removeImageLocked(const std::string& id) {
  auto it = images_.find(id);
  if (it == images_.end()) return;
  Image gone = it->second;
  images_.erase(it);
  std::set<std::string> blobs_used, layers_used;
  for (const auto& [oid, im] : images_) {
    blobs_used.insert(im.id);
    blobs_used.insert(im.manifest_digest);
    for (const auto& d : im.diff_ids) layers_used.insert(d);
    if (auto t = readFile(blobPath(im.manifest_digest), kMaxJsonBlob)) {
      if (auto m = parseManifest(*t))
        for (const auto& l : m->second) blobs_used.insert(l.digest);
    }
  }
  std::vector<std::string> blobs{gone.id, gone.manifest_digest};
  if (auto t = readFile(blobPath(gone.manifest_digest), kMaxJsonBlob)) {
    if (auto m = parseManifest(*t))
      for (const auto& l : m->second) blobs.push_back(l.digest);
  }
  for (const auto& b : blobs)
    if (!blobs_used.count(b)) ::unlink(blobPath(b).c_str());
  for (const auto& d : gone.diff_ids) {
    if (layers_used.count(d)) continue;
    // Out of layers/ in one rename, so a crash mid-removal never leaves a half layer that a
    // later import would take for the whole one.
    auto trash = makeTempDir("removing");
    if (trash && ::rename(layerPath(d).c_str(), (*trash + "/layer").c_str()) == 0)
      (void)removeTree(*trash);
    else if (trash)
      (void)removeTree(*trash);
  }
}

Result<bool> ImageStoreImpl::remove(const std::string& q) {
  std::lock_guard lk(mu_);
  SKIFF_ASSIGN_OR_RETURN(UniqueFd lock, lockIndex());
  SKIFF_TRY(refreshLocked(/*force=*/true));  // writers never trust the stamp
  auto found = findLocked(q);
  if (!found) {
    if (found.error().is(ErrorCode::NotFound)) return false;
    return std::move(found).error();
  }
  Image& im = images_[found->id];
  std::string norm;
  if (auto r = parseImageRef(q)) norm = r->str();
  auto name_it = std::find(im.names.begin(), im.names.end(), norm);
  bool by_name = name_it != im.names.end();
  if (by_name && im.names.size() > 1) {
    im.names.erase(name_it);
    SKIFF_TRY(save());
    return true;
  }
  if (pins_[im.id] > 0)
    return Error(ErrorCode::Conflict, "remove image '" + q + "': in use by " +
                                          std::to_string(pins_[im.id]) + " container(s)");
  removeImageLocked(im.id);
  SKIFF_TRY(save());
  return true;
}

Result<std::vector<std::string>> ImageStoreImpl::layerDirs(const Image& image) {
  std::vector<std::string> out;
  for (auto it = image.diff_ids.rbegin(); it != image.diff_ids.rend(); ++it) {
    std::string p = layerPath(*it);
    if (!pathExists(p))
      return Error(ErrorCode::NotFound, "layer " + *it + " of image " + image.id + " is missing");
    out.push_back(p);
  }
  return out;
}

void ImageStoreImpl::markUsed(const std::string& id, int delta) {
  std::lock_guard lk(mu_);
  pins_[id] += delta;
  if (pins_[id] <= 0) pins_.erase(id);
  // Last-used only orders GC; it is persisted with the next save, not on every container start
  // (used_ carries it across re-reads of the index until then).
  if (delta > 0) {
    used_[id] = nowNs();
    if (auto it = images_.find(id); it != images_.end()) it->second.last_used_ns = used_[id];
  }
}

Result<ImageGcResult> ImageStoreImpl::garbageCollect(const ImageGcPolicy& policy,
                                                     const DiskUsageFn& usage_fn,
                                                     std::chrono::system_clock::time_point now) {
  if (policy.low_threshold_percent > policy.high_threshold_percent ||
      policy.high_threshold_percent > 100 || policy.low_threshold_percent < 0)
    return Error(ErrorCode::Invalid, "image GC: thresholds must satisfy 0 <= low <= high <= 100");
  SKIFF_ASSIGN_OR_RETURN(DiskUsage du, usage_fn());
  ImageGcResult res;
  if (du.capacity_bytes == 0) return res;
  std::uint64_t used = du.capacity_bytes - std::min(du.available_bytes, du.capacity_bytes);
  // kubelet: usagePercent = 100 - available*100/capacity; act when >= high.
  int usage_percent = static_cast<int>(100 - du.available_bytes * 100 / du.capacity_bytes);
  if (usage_percent < policy.high_threshold_percent) return res;
  std::uint64_t target =
      du.capacity_bytes * static_cast<std::uint64_t>(policy.low_threshold_percent) / 100;
  std::uint64_t to_free = used > target ? used - target : 0;
  res.wanted_bytes = to_free;

  std::lock_guard lk(mu_);
  SKIFF_ASSIGN_OR_RETURN(UniqueFd lock, lockIndex());
  SKIFF_TRY(refreshLocked(/*force=*/true));  // writers never trust the stamp
  std::vector<Image> candidates;
  std::int64_t now_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  for (const auto& [id, im] : images_) {
    if (pins_.count(id)) continue;
    if (now_ns - im.created_at_ns <
        std::chrono::duration_cast<std::chrono::nanoseconds>(policy.min_age).count())
      continue;
    candidates.push_back(im);
  }
  std::sort(candidates.begin(), candidates.end(),
            [](const Image& a, const Image& b) { return a.last_used_ns < b.last_used_ns; });
  for (const auto& im : candidates) {
    if (res.freed_bytes >= to_free) break;
    removeImageLocked(im.id);
    res.removed.push_back(im.id);
    res.freed_bytes += im.size;
  }
  if (!res.removed.empty()) SKIFF_TRY(save());
  return res;
}

DiskUsageFn statvfsDiskUsage(std::string path) {
  return [path = std::move(path)]() -> Result<DiskUsage> {
    struct statvfs st {};
    if (::statvfs(path.c_str(), &st) != 0) return Error::fromErrno(errno, "statvfs '" + path + "'");
    return DiskUsage{static_cast<std::uint64_t>(st.f_blocks) * st.f_frsize,
                     static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize};
  };
}

Result<bool> importIfMissing(ImageStore& store, const std::string& archive,
                             const std::string& ref) {
  if (store.get(ref)) return false;
  SKIFF_ASSIGN_OR_RETURN(auto imported, store.importArchive(archive));
  (void)imported;
  if (!store.get(ref))
    return Error(ErrorCode::NotFound, "archive '" + archive + "' does not contain '" + ref + "'");
  return true;
}

std::string bundledBusyboxArchive() {
  if (const char* env = std::getenv("SKIFF_BUSYBOX_IMAGE"); env && *env) return env;
  for (const char* p :
       {SKIFF_INSTALL_PREFIX "/share/skiff/images/busybox-oci.tar", SKIFF_BUILD_BUSYBOX_IMAGE})
    if (pathExists(p)) return p;
  return "";
}

Result<ImageStorePtr> openImageStore(const std::string& root) {
  auto s = std::make_unique<ImageStoreImpl>(root);
  SKIFF_TRY(s->open());
  return ImageStorePtr(std::move(s));
}

}  // namespace skiff::runtime
