#include "skiff/agent/volumes.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>

#include "skiff/agent/local_storage.h"
#include "skiff/agent/resources.h"
#include "skiff/agent/tls_util.h"
#include "skiff/common/file.h"

namespace skiff::agent {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

class RealMounter final : public Mounter {
 public:
  Result<void> mountTmpfs(const std::string& target, int64_t size_bytes) override {
    std::string opts = "mode=0755";
    if (size_bytes > 0) opts += ",size=" + std::to_string(size_bytes);
    if (::mount("tmpfs", target.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, opts.c_str()) != 0) {
      return Error::fromErrno(errno, "mount tmpfs on '" + target + "'");
    }
    return ok();
  }
  Result<void> unmount(const std::string& target) override {
    if (::umount2(target.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
      return Error::fromErrno(errno, "unmount '" + target + "'");
    }
    return ok();
  }
  bool isMountPoint(const std::string& path) override {
    struct stat a {
    }, b{};
    if (::stat(path.c_str(), &a) != 0) return false;
    if (::stat((path + "/..").c_str(), &b) != 0) return false;
    return a.st_dev != b.st_dev;
  }
};

bool safeRelative(const std::string& p) {
  if (p.empty() || p.front() == '/') return false;
  for (const auto& part : fs::path(p)) {
    if (part == "..") return false;
  }
  return p.rfind("..", 0) != 0;
}

Result<void> writeFile(const std::string& path, const std::string& data, unsigned mode) {
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  if (ec) return Error(ErrorCode::Internal, "create dir for '" + path + "': " + ec.message());
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return Error::fromErrno(errno, "write '" + path + "'");
  f << data;
  f.close();
  if (::chmod(path.c_str(), mode) != 0) return Error::fromErrno(errno, "chmod '" + path + "'");
  return ok();
}

// hostPath volumes: the type checks (and the *OrCreate creations) of the kubelet's plugin.
Result<std::string> setupHostPath(const json& hp) {
  std::error_code ec;
  std::string path = hp.value("path", "");
  std::string type = hp.value("type", "");
  fs::file_status st = fs::status(path, ec);
  auto fail = [&](const std::string& what) {
    return Error(ErrorCode::Invalid, "hostPath type check failed: " + path + " is not a " + what);
  };
  if (type == "DirectoryOrCreate") {
    if (!fs::exists(st)) {
      fs::create_directories(path, ec);
      if (ec) return Error(ErrorCode::Internal, "create hostPath '" + path + "': " + ec.message());
      ::chmod(path.c_str(), 0755);
    } else if (!fs::is_directory(st)) {
      return fail("directory");
    }
  } else if (type == "Directory") {
    if (!fs::is_directory(st)) return fail("directory");
  } else if (type == "FileOrCreate") {
    if (!fs::exists(st)) {
      SKIFF_TRY(writeFile(path, "", 0644));
    } else if (!fs::is_regular_file(st)) {
      return fail("file");
    }
  } else if (type == "File") {
    if (!fs::is_regular_file(st)) return fail("file");
  } else if (type == "Socket") {
    if (!fs::is_socket(st)) return fail("socket");
  } else if (type == "CharDevice") {
    if (!fs::is_character_file(st)) return fail("character device");
  } else if (type == "BlockDevice") {
    if (!fs::is_block_file(st)) return fail("block device");
  } else if (!type.empty()) {
    return Error(ErrorCode::Invalid, "hostPath type '" + type + "' is not supported");
  }
  return path;
}

}  // namespace

std::unique_ptr<Mounter> makeRealMounter() { return std::make_unique<RealMounter>(); }

Result<bool> writeAtomicDir(const std::string& dir, const std::map<std::string, FileEntry>& files) {
  for (const auto& [p, _] : files) {
    if (!safeRelative(p)) {
      return Error(ErrorCode::Invalid, "write volume file '" + p +
                                           "': path must be relative "
                                           "and must not contain '..'");
    }
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Error(ErrorCode::Internal, "create '" + dir + "': " + ec.message());
  // Unchanged? Compare with what ..data holds now.
  std::string data_link = dir + "/..data";
  bool same = fs::is_symlink(data_link, ec);
  if (same) {
    std::set<std::string> present;
    for (auto it = fs::recursive_directory_iterator(data_link + "/", ec);
         !ec && it != fs::recursive_directory_iterator(); ++it) {
      if (it->is_regular_file()) {
        present.insert(fs::relative(it->path(), fs::path(data_link + "/")).string());
      }
    }
    if (present.size() != files.size()) same = false;
    for (const auto& [p, e] : files) {
      if (!same) break;
      auto cur = readFile(data_link + "/" + p);
      struct stat st {};
      if (!cur || *cur != e.data || ::stat((data_link + "/" + p).c_str(), &st) != 0 ||
          (st.st_mode & 07777) != e.mode) {
        same = false;
      }
    }
  }
  if (same) return false;
  auto stamp = std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
  std::string ts_name = "..skiff_" + std::to_string(stamp);
  std::string ts_dir = dir + "/" + ts_name;
  fs::create_directories(ts_dir, ec);
  if (ec) return Error(ErrorCode::Internal, "create '" + ts_dir + "': " + ec.message());
  ::chmod(ts_dir.c_str(), 0755);
  for (const auto& [p, e] : files) SKIFF_TRY(writeFile(ts_dir + "/" + p, e.data, e.mode));
  std::string old_target;
  if (fs::is_symlink(data_link, ec)) old_target = fs::read_symlink(data_link, ec).string();
  std::string tmp_link = dir + "/..data_tmp";
  fs::remove(tmp_link, ec);
  if (::symlink(ts_name.c_str(), tmp_link.c_str()) != 0) {
    return Error::fromErrno(errno, "symlink '" + tmp_link + "'");
  }
  if (::rename(tmp_link.c_str(), data_link.c_str()) != 0) {
    return Error::fromErrno(errno, "rename '" + tmp_link + "'");
  }
  // Top-level user-visible names point through ..data.
  std::set<std::string> tops;
  for (const auto& [p, _] : files) tops.insert(p.substr(0, p.find('/')));
  for (const auto& t : tops) {
    std::string link = dir + "/" + t;
    if (fs::is_symlink(link, ec)) continue;
    if (::symlink(("..data/" + t).c_str(), link.c_str()) != 0 && errno != EEXIST) {
      return Error::fromErrno(errno, "symlink '" + link + "'");
    }
  }
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name.rfind("..", 0) == 0) continue;
    if (entry.is_symlink() && !tops.count(name)) fs::remove(entry.path(), ec);
  }
  if (!old_target.empty() && old_target != ts_name) fs::remove_all(dir + "/" + old_target, ec);
  return true;
}

VolumeManager::VolumeManager(std::string root_dir, ObjectSource& objects, Mounter& mounter)
    : root_(std::move(root_dir)),
      objects_(objects),
      mounter_(mounter),
      real_ownership_(makeRealOwnershipFs()),
      ownership_(real_ownership_.get()),
      real_dirs_(makeRealVolumeDirs()),
      dirs_(real_dirs_.get()) {
  setClock([] { return std::chrono::system_clock::now(); });
}

void VolumeManager::setClock(WallClock clock) {
  clock_ = clock;
  create_backoff_ = std::make_unique<Backoff>(std::chrono::seconds(1), std::chrono::seconds(122),
                                              std::move(clock));
}

// claimVolumeSource, with a failed local-path directory reported on the claim and not retried
// before its backoff ends.
Result<json> VolumeManager::claimSource(const json& pod, const json& vol,
                                        bool* supports_ownership) {
  std::string ns = pod["metadata"].value("namespace", "default");
  std::string claim = vol.contains("persistentVolumeClaim")
                          ? vol["persistentVolumeClaim"].value("claimName", "")
                          : pod["metadata"].value("name", "") + "-" + vol.value("name", "");
  std::string key = ns + "/" + claim;
  {
    std::lock_guard lk(mu_);
    auto it = create_failed_.find(key);
    if (it != create_failed_.end() && create_backoff_->inBackoffSince(key, it->second.first)) {
      return Error(ErrorCode::Unavailable, "Back-off creating the volume directory of PVC " + key +
                                               ": " + it->second.second);
    }
  }
  ClaimSetup setup;
  setup.dirs = dirs_;
  auto source = claimVolumeSource(objects_, pod, vol, storage_root_, &setup);
  *supports_ownership = setup.supports_ownership;
  std::lock_guard lk(mu_);
  if (source || !setup.create_failed) {
    if (create_failed_.erase(key) > 0) create_backoff_->reset(key);
    return source;
  }
  create_backoff_->next(key);
  create_failed_[key] = {clock_(), source.error().message()};
  if (claim_event_) {
    std::string cls = setup.claim["spec"].value("storageClassName", "");
    claim_event_(setup.claim, "ProvisioningFailed",
                 "failed to provision volume with StorageClass \"" + cls +
                     "\": " + source.error().message());
  }
  return source;
}

OwnershipRequest podOwnership(const json& pod) {
  const json& psc = pod["spec"].value("securityContext", json::object());
  OwnershipRequest req;
  if (psc.contains("fsGroup") && psc["fsGroup"].is_number_integer())
    req.fs_group = psc["fsGroup"].get<int64_t>();
  req.change_policy = psc.value("fsGroupChangePolicy", "");
  return req;
}

Result<void> VolumeManager::addProjection(const json& pod, const json& src,
                                          std::map<std::string, FileEntry>& files,
                                          unsigned default_mode, const EnvContext& ctx) {
  std::string ns = pod["metadata"].value("namespace", "default");
  auto addItems = [&](const json& data, bool b64, const json& spec, const std::string& kind,
                      const std::string& name) -> Result<void> {
    auto decode = [&](const json& v) -> Result<std::string> {
      std::string s = v.is_string() ? v.get<std::string>() : "";
      if (!b64) return s;
      return base64Decode(s);
    };
    if (spec.contains("items") && spec["items"].is_array() && !spec["items"].empty()) {
      for (const auto& it : spec["items"]) {
        std::string key = it.value("key", ""), path = it.value("path", key);
        if (!data.contains(key)) {
          if (spec.value("optional", false)) continue;
          return Error(ErrorCode::Invalid, "configmap references non-existent config key: " + key);
        }
        SKIFF_ASSIGN_OR_RETURN(auto v, decode(data[key]));
        files[path] = FileEntry{v, it.contains("mode") ? it["mode"].get<unsigned>() : default_mode};
      }
    } else {
      for (const auto& [k, v] : data.items()) {
        SKIFF_ASSIGN_OR_RETURN(auto d, decode(v));
        files[k] = FileEntry{d, default_mode};
      }
    }
    (void)kind;
    (void)name;
    return ok();
  };
  if (src.contains("configMap")) {
    const json& s = src["configMap"];
    std::string name = s.value("name", "");
    auto cm = objects_.configMap(ns, name);
    if (!cm) {
      if (s.value("optional", false) && cm.error().is(ErrorCode::NotFound)) return ok();
      return Error(ErrorCode::NotFound, "configmap \"" + name + "\" not found");
    }
    // data and binaryData are one key space: `items` may name keys of either.
    json all = cm->value("data", json::object());
    const json binary = cm->value("binaryData", json::object());
    for (const auto& [k, v] : binary.items()) {
      auto bytes = base64Decode(v.is_string() ? v.get<std::string>() : "");
      if (!bytes) return Error(ErrorCode::Invalid, "configmap \"" + name + "\": bad binaryData");
      all[k] = *bytes;
    }
    SKIFF_TRY(addItems(all, false, s, "ConfigMap", name));
  }
  if (src.contains("secret")) {
    const json& s = src["secret"];
    std::string name = s.value("name", s.value("secretName", ""));
    auto sec = objects_.secret(ns, name);
    if (!sec) {
      if (s.value("optional", false) && sec.error().is(ErrorCode::NotFound)) return ok();
      return Error(ErrorCode::NotFound, "secret \"" + name + "\" not found");
    }
    SKIFF_TRY(addItems(sec->value("data", json::object()), true, s, "Secret", name));
  }
  if (src.contains("downwardAPI")) {
    for (const auto& it : src["downwardAPI"].value("items", json::array())) {
      std::string path = it.value("path", "");
      std::string value;
      if (it.contains("fieldRef")) {
        SKIFF_ASSIGN_OR_RETURN(value,
                               podFieldValue(pod, it["fieldRef"].value("fieldPath", ""), ctx));
      } else if (it.contains("resourceFieldRef")) {
        const json& ref = it["resourceFieldRef"];
        json target = json::object();
        for (const auto& c : pod["spec"].value("containers", json::array())) {
          if (c.value("name", "") == ref.value("containerName", "")) target = c;
        }
        SKIFF_ASSIGN_OR_RETURN(value, resourceFieldValue(target, ref, ctx));
      }
      files[path] =
          FileEntry{value, it.contains("mode") ? it["mode"].get<unsigned>() : default_mode};
    }
  }
  if (src.contains("serviceAccountToken")) {
    const json& s = src["serviceAccountToken"];
    std::string sa = pod["spec"].value("serviceAccountName", "default");
    auto tok = objects_.serviceAccountToken(
        ns, sa, s.value("audience", ""), pod["metadata"].value("name", ""),
        pod["metadata"].value("uid", ""), s.value("expirationSeconds", 3607));
    if (!tok) return std::move(tok).error().wrap("get service account token for '" + sa + "'");
    files[s.value("path", "token")] = FileEntry{*tok, default_mode};
  }
  return ok();
}

Result<std::string> VolumeManager::setupVolume(const json& pod, const json& vol,
                                               const EnvContext& ctx,
                                               const OwnershipRequest& owner) {
  std::string uid = pod["metadata"].value("uid", "");
  std::string name = vol.value("name", "");
  auto dirFor = [&](const std::string& plugin) {
    return podDir(uid) + "/volumes/kubernetes.io~" + plugin + "/" + name;
  };
  std::error_code ec;
  if (vol.contains("hostPath")) return setupHostPath(vol["hostPath"]);
  if (vol.contains("emptyDir")) {
    const json& ed = vol["emptyDir"];
    std::string dir = dirFor("empty-dir");
    // Set up once (the kubelet's ready marker): a new directory or a new tmpfs.
    bool fresh = !fs::exists(dir, ec);
    fs::create_directories(dir, ec);
    if (ec) return Error(ErrorCode::Internal, "create '" + dir + "': " + ec.message());
    if (fresh) ::chmod(dir.c_str(), 0777);
    if (ed.value("medium", "") == "Memory" && !mounter_.isMountPoint(dir)) {
      int64_t size = ed.contains("sizeLimit") ? quantityValue(ed["sizeLimit"]).value_or(0) : 0;
      SKIFF_TRY(mounter_.mountTmpfs(dir, size));
      ::chmod(dir.c_str(), 0777);
      fresh = true;
    }
    // emptyDir ignores fsGroupChangePolicy (the kubelet passes none).
    if (fresh) SKIFF_TRY(setVolumeOwnership(*ownership_, dir, {owner.fs_group, "", false}));
    return dir;
  }
  std::map<std::string, FileEntry> files;
  std::string plugin;
  bool secret = false;
  if (vol.contains("configMap")) {
    plugin = "configmap";
    unsigned mode = vol["configMap"].value("defaultMode", 0644u);
    SKIFF_TRY(addProjection(pod, {{"configMap", vol["configMap"]}}, files, mode, ctx));
  } else if (vol.contains("secret")) {
    plugin = "secret";
    secret = true;
    unsigned mode = vol["secret"].value("defaultMode", 0644u);
    SKIFF_TRY(addProjection(pod, {{"secret", vol["secret"]}}, files, mode, ctx));
  } else if (vol.contains("downwardAPI")) {
    plugin = "downward-api";
    unsigned mode = vol["downwardAPI"].value("defaultMode", 0644u);
    SKIFF_TRY(addProjection(pod, {{"downwardAPI", vol["downwardAPI"]}}, files, mode, ctx));
  } else if (vol.contains("projected")) {
    plugin = "projected";
    secret = true;  // may hold tokens
    unsigned mode = vol["projected"].value("defaultMode", 0644u);
    for (const auto& src : vol["projected"].value("sources", json::array())) {
      SKIFF_TRY(addProjection(pod, src, files, mode, ctx));
    }
  } else {
    return Error(ErrorCode::Invalid, "volume '" + name + "': volume type is not supported");
  }
  std::string dir = dirFor(plugin);
  fs::create_directories(dir, ec);
  if (ec) return Error(ErrorCode::Internal, "create '" + dir + "': " + ec.message());
  if (secret && ::geteuid() == 0 && !mounter_.isMountPoint(dir)) {
    // Secrets never touch disk (kubelet mounts a tmpfs per secret volume).
    SKIFF_TRY(mounter_.mountTmpfs(dir, 0));
  }
  // These volumes are read-only: fsGroup adds g+r to every file, which is folded into the
  // declared modes so that an unchanged set still compares equal on the next sync.
  if (owner.fs_group) {
    for (auto& [_, e] : files) e.mode |= 0440;
  }
  SKIFF_ASSIGN_OR_RETURN(bool changed, writeAtomicDir(dir, files));
  if (changed) SKIFF_TRY(setVolumeOwnership(*ownership_, dir, {owner.fs_group, "", true}));
  return dir;
}

Result<std::map<std::string, std::string>> VolumeManager::setupPod(const json& pod,
                                                                   const EnvContext& ctx) {
  // Claims first: an unbound or missing claim keeps the pod waiting with kubelet's message
  // (the volume manager's "Unable to attach or mount volumes"), before anything is set up.
  std::vector<json> vols;
  std::set<std::string> owned_claims;
  std::string all_names;
  for (const auto& vol : pod["spec"].value("volumes", json::array())) {
    all_names += (all_names.empty() ? "" : " ") + vol.value("name", "");
  }
  for (const auto& vol : pod["spec"].value("volumes", json::array())) {
    if (!vol.contains("persistentVolumeClaim") && !vol.contains("ephemeral")) {
      vols.push_back(vol);
      continue;
    }
    bool managed = false;
    auto source = claimSource(pod, vol, &managed);
    if (!source) {
      return Error(source.error().code(), "Unable to attach or mount volumes: unmounted volumes=[" +
                                              vol.value("name", "") + "], unattached volumes=[" +
                                              all_names + "]: " + source.error().message());
    }
    // A read-only claim's ownership is left alone (the kubelet's local volume does the same).
    if (managed && !vol.value("persistentVolumeClaim", json::object()).value("readOnly", false))
      owned_claims.insert(vol.value("name", ""));
    vols.push_back(std::move(*source));
  }
  OwnershipRequest owner = podOwnership(pod);
  std::string uid = pod["metadata"].value("uid", "");
  std::map<std::string, std::string> out;
  for (const auto& vol : vols) {
    std::string name = vol.value("name", "");
    auto path = setupVolume(pod, vol, ctx, owner);
    if (path && owned_claims.count(name)) {
      auto done = claimOwnership(uid, name, *path, owner);
      if (!done) path = std::move(done).error();
    }
    if (!path) {
      return std::move(path).error().wrap("MountVolume.SetUp failed for volume \"" + name + "\"");
    }
    out[name] = *path;
  }
  return out;
}

Result<void> VolumeManager::claimOwnership(const std::string& uid, const std::string& name,
                                           const std::string& path, const OwnershipRequest& owner) {
  // Once per pod and volume, as the kubelet changes a local volume's owner on its first mount.
  std::string key = uid + "/" + name;
  {
    std::lock_guard lk(mu_);
    if (owned_.count(key)) return ok();
  }
  SKIFF_TRY(setVolumeOwnership(*ownership_, path, owner));
  std::lock_guard lk(mu_);
  owned_.insert(key);
  return ok();
}

Result<void> VolumeManager::teardownPod(const std::string& uid) {
  objects_.forgetPod(uid);
  {
    std::lock_guard lk(mu_);
    owned_.erase(owned_.lower_bound(uid + "/"), owned_.lower_bound(uid + "0"));
  }
  std::string dir = podDir(uid);
  std::error_code ec;
  if (!fs::exists(dir, ec)) return ok();
  // Unmount every tmpfs below the volumes directory before deleting anything.
  std::vector<std::string> mounts;
  for (auto it = fs::recursive_directory_iterator(dir + "/volumes", ec);
       !ec && it != fs::recursive_directory_iterator(); ++it) {
    if (it->is_directory() && !it->is_symlink() && mounter_.isMountPoint(it->path().string())) {
      mounts.push_back(it->path().string());
      it.disable_recursion_pending();
    }
  }
  for (const auto& m : mounts) SKIFF_TRY(mounter_.unmount(m));
  fs::remove_all(dir, ec);
  if (ec) return Error(ErrorCode::Internal, "remove '" + dir + "': " + ec.message());
  return ok();
}

}  // namespace skiff::agent
