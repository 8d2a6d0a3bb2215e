// fsGroup ownership of pod volumes (volume_ownership.h).
#include "skiff/agent/volume_ownership.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "skiff/common/log.h"

namespace skiff::agent {

namespace {

using skiff::log::kv;

constexpr unsigned kRwMask = 0660;
constexpr unsigned kRoMask = 0440;
constexpr unsigned kExecMask = 0110;
constexpr unsigned kSetgid = 02000;

class RealOwnershipFs final : public OwnershipFs {
 public:
  Result<FileAttrs> lstat(const std::string& path) override {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return Error::fromErrno(errno, "lstat '" + path + "'");
    return FileAttrs{static_cast<unsigned>(st.st_mode & 07777), static_cast<int64_t>(st.st_gid),
                     S_ISDIR(st.st_mode), S_ISLNK(st.st_mode)};
  }
  Result<std::vector<std::string>> list(const std::string& dir) override {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return Error::fromErrno(errno, "open directory '" + dir + "'");
    std::vector<std::string> out;
    while (struct dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") out.push_back(std::move(n));
    }
    ::closedir(d);
    return out;
  }
  Result<void> lchownGroup(const std::string& path, int64_t gid) override {
    if (::lchown(path.c_str(), static_cast<uid_t>(-1), static_cast<gid_t>(gid)) != 0)
      return Error::fromErrno(errno, "lchown '" + path + "'");
    return ok();
  }
  Result<void> chmod(const std::string& path, unsigned mode) override {
    if (::chmod(path.c_str(), mode) != 0) return Error::fromErrno(errno, "chmod '" + path + "'");
    return ok();
  }
};

// kubelet's requiresPermissionChange: the root lacks the group, the permission bits or setgid.
bool requiresChange(OwnershipFs& fs, const std::string& dir, int64_t gid, bool read_only) {
  auto st = fs.lstat(dir);
  if (!st || st->gid != gid || !st->dir) return true;
  unsigned want = (read_only ? kRoMask : kRwMask) | kExecMask;
  return (st->mode & want) != want || (st->mode & kSetgid) == 0;
}

// kubelet's changeFilePermission: errors are logged, never fatal.
void changeOne(OwnershipFs& fs, const std::string& path, const FileAttrs& attrs, int64_t gid,
               bool read_only) {
  auto lg = skiff::log::get("agent");
  if (auto r = fs.lchownGroup(path, gid); !r) {
    SKIFF_LOG_WARN(lg, "Lchown failed", kv("path", path), kv("err", r.error().message()));
  }
  if (attrs.symlink) return;  // chmod would follow it to the target
  unsigned mask = read_only ? kRoMask : kRwMask;
  if (attrs.dir) mask |= kSetgid | kExecMask;
  if (auto r = fs.chmod(path, attrs.mode | mask); !r) {
    SKIFF_LOG_WARN(lg, "chmod failed", kv("path", path), kv("err", r.error().message()));
  }
}

// kubelet's walkDeep: children before their directory, symlinks not followed.
Result<void> walk(OwnershipFs& fs, const std::string& path, int64_t gid, bool read_only) {
  SKIFF_ASSIGN_OR_RETURN(FileAttrs attrs, fs.lstat(path));
  if (attrs.dir) {
    SKIFF_ASSIGN_OR_RETURN(auto names, fs.list(path));
    for (const auto& n : names) SKIFF_TRY(walk(fs, path + "/" + n, gid, read_only));
  }
  changeOne(fs, path, attrs, gid, read_only);
  return ok();
}

}  // namespace

std::unique_ptr<OwnershipFs> makeRealOwnershipFs() { return std::make_unique<RealOwnershipFs>(); }

Result<bool> setVolumeOwnership(OwnershipFs& fs, const std::string& dir,
                                const OwnershipRequest& req) {
  if (!req.fs_group) return false;
  int64_t gid = *req.fs_group;
  if (req.change_policy == kFSGroupChangeOnRootMismatch &&
      !requiresChange(fs, dir, gid, req.read_only)) {
    return false;
  }
  SKIFF_TRY(walk(fs, dir, gid, req.read_only));
  return true;
}

}  // namespace skiff::agent
