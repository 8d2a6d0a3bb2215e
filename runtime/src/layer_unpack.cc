#include "skiff/runtime/layer_unpack.h"

#include <fcntl.h>
#include <ftw.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "skiff/common/split_list.h"
#include "skiff/common/unique_fd.h"

namespace skiff::runtime {
namespace {

constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kOpaqueWhiteout = ".wh..wh..opq";

// Splits a tar path into components, refusing `..` (a layer never needs it).
Result<std::vector<std::string>> splitPath(const std::string& path, std::string_view what) {
  std::vector<std::string> out;
  for (const std::string_view c : splitAt(path, '/')) {
    if (c.empty() || c == ".") continue;
    if (c == "..")
      return Error(ErrorCode::Invalid,
                   std::string(what) + " '" + path + "' escapes the rootfs ('..' component)");
    if (c.find('\0') != std::string::npos)
      return Error(ErrorCode::Invalid, std::string(what) + " has a NUL byte");
    out.emplace_back(c);
  }
  return out;
}

std::string joinComponents(const std::vector<std::string>& c, std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) {
    if (i) s += '/';
    s += c[i];
  }
  return s.empty() ? "." : s;
}

int openBeneath(int dirfd, const std::string& path, int flags) {
  struct open_how how {};
  how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  return static_cast<int>(::syscall(SYS_openat2, dirfd, path.c_str(), &how, sizeof how));
}

class Unpacker {
 public:
  Unpacker(TarReader& tar, int rootfd, const UnpackOptions& opts)
      : tar_(tar), root_(rootfd), opts_(opts) {}

  Result<void> run() {
    while (true) {
      SKIFF_ASSIGN_OR_RETURN(auto entry, tar_.next());
      if (!entry) return ok();
      SKIFF_TRY(apply(*entry));
    }
  }

 private:
  // Opens (creating as 0755 root-owned directories) the parent of components[0..n).
  Result<UniqueFd> openDir(const std::vector<std::string>& comps, std::size_t n,
                           const std::string& entry) {
    UniqueFd fd(::fcntl(root_, F_DUPFD_CLOEXEC, 0));
    for (std::size_t i = 0; i < n; ++i) {
      int next = openBeneath(fd.get(), comps[i], O_DIRECTORY | O_RDONLY);
      if (next < 0 && errno == ENOENT) {
        if (::mkdirat(fd.get(), comps[i].c_str(), 0755) != 0 && errno != EEXIST)
          return Error::fromErrno(errno, "create directory '" + joinComponents(comps, i + 1) + "'");
        next = openBeneath(fd.get(), comps[i], O_DIRECTORY | O_RDONLY);
      }
      if (next < 0) {
        if (errno == ELOOP || errno == EXDEV)
          return Error(ErrorCode::Invalid, "unpack '" + entry + "': path traverses symlink '" +
                                               joinComponents(comps, i + 1) + "', refusing");
        if (errno == ENOTDIR)
          return Error(
              ErrorCode::Invalid,
              "unpack '" + entry + "': '" + joinComponents(comps, i + 1) + "' is not a directory");
        return Error::fromErrno(errno, "open directory '" + joinComponents(comps, i + 1) + "'");
      }
      fd.reset(next);
    }
    return fd;
  }

  // Makes room for a new entry: an existing non-directory (or empty dir) is replaced.
  Result<void> clear(int dirfd, const std::string& name, bool new_is_dir) {
    struct stat st {};
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) return ok();
      return Error::fromErrno(errno, "stat '" + name + "'");
    }
    if (S_ISDIR(st.st_mode)) {
      if (new_is_dir) return ok();
      if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) != 0)
        return Error::fromErrno(errno, "replace directory '" + name + "'");
      return ok();
    }
    if (::unlinkat(dirfd, name.c_str(), 0) != 0)
      return Error::fromErrno(errno, "replace '" + name + "'");
    return ok();
  }

  Result<void> setXattrs(int fd, const TarEntry& e) {
    for (const auto& [k, v] : e.xattrs) {
      if (::fsetxattr(fd, k.c_str(), v.data(), v.size(), 0) != 0 && errno != ENOTSUP)
        return Error::fromErrno(errno, "set xattr '" + k + "' on '" + e.path + "'");
    }
    return ok();
  }

  Result<void> setMeta(int fd, const TarEntry& e) {
    if (opts_.apply_ownership && ::fchown(fd, e.uid, e.gid) != 0)
      return Error::fromErrno(errno, "chown '" + e.path + "'");
    if (::fchmod(fd, e.mode) != 0) return Error::fromErrno(errno, "chmod '" + e.path + "'");
    SKIFF_TRY(setXattrs(fd, e));
    struct timespec ts[2] = {{e.mtime, 0}, {e.mtime, 0}};
    (void)::futimens(fd, ts);  // mtime is cosmetic
    return ok();
  }

  Result<void> apply(const TarEntry& e) {
    SKIFF_ASSIGN_OR_RETURN(auto comps, splitPath(e.path, "entry"));
    if (comps.empty()) {
      if (e.type != TarType::Directory)
        return Error(ErrorCode::Invalid, "unpack '" + e.path + "': not a directory");
      return setMeta(root_, e);
    }
    const std::string base = comps.back();
    SKIFF_ASSIGN_OR_RETURN(UniqueFd dir, openDir(comps, comps.size() - 1, e.path));

    if (base.rfind(kWhiteoutPrefix, 0) == 0) return whiteout(dir.get(), base, e);

    switch (e.type) {
      case TarType::Directory:
        return createDirectory(dir.get(), base, e);
      case TarType::File:
        return createFile(dir.get(), base, e);
      case TarType::Symlink:
        return createSymlink(dir.get(), base, comps, e);
      case TarType::HardLink:
        return createHardLink(dir.get(), base, e);
      case TarType::CharDevice:
      case TarType::BlockDevice:
        return createDevice(dir.get(), base, e);
      case TarType::Fifo:
        return createFifo(dir.get(), base, e);
    }
    return ok();
  }

  // A whiteout entry (base starts with .wh.) as overlayfs expects it: .wh.NAME as a 0/0 character
  // device NAME, the opaque whiteout (.wh..wh..opq) as the directory's trusted.overlay.opaque.
  Result<void> whiteout(int dir, const std::string& base, const TarEntry& e) {
    if (base == kOpaqueWhiteout) {
      if (::fsetxattr(dir, "trusted.overlay.opaque", "y", 1, 0) != 0)
        return Error::fromErrno(errno, "mark '" + e.path + "' opaque");
      return ok();
    }
    std::string name = base.substr(kWhiteoutPrefix.size());
    if (name.empty() || name == "." || name == "..")
      return Error(ErrorCode::Invalid, "unpack '" + e.path + "': bad whiteout name");
    SKIFF_TRY(clear(dir, name, false));
    if (::mknodat(dir, name.c_str(), S_IFCHR | 0, ::makedev(0, 0)) != 0)
      return Error::fromErrno(errno, "create whiteout for '" + e.path + "'");
    return ok();
  }

  Result<void> createDirectory(int dir, const std::string& base, const TarEntry& e) {
    SKIFF_TRY(clear(dir, base, true));
    if (::mkdirat(dir, base.c_str(), 0700) != 0 && errno != EEXIST)
      return Error::fromErrno(errno, "create directory '" + e.path + "'");
    UniqueFd fd(openBeneath(dir, base, O_DIRECTORY | O_RDONLY));
    if (!fd) return Error::fromErrno(errno, "open directory '" + e.path + "'");
    return setMeta(fd.get(), e);
  }

  Result<void> createFile(int dir, const std::string& base, const TarEntry& e) {
    SKIFF_TRY(clear(dir, base, false));
    UniqueFd fd(
        ::openat(dir, base.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd) return Error::fromErrno(errno, "create '" + e.path + "'");
    SKIFF_TRY(writeContent(fd.get(), e));
    return setMeta(fd.get(), e);
  }

  // The entry's content from the archive into fd.
  Result<void> writeContent(int fd, const TarEntry& e) {
    std::vector<char> buf(128 * 1024);
    while (true) {
      SKIFF_ASSIGN_OR_RETURN(std::size_t n, tar_.readContent(buf.data(), buf.size()));
      if (n == 0) break;
      std::size_t off = 0;
      while (off < n) {
        ssize_t w = ::write(fd, buf.data() + off, n - off);
        if (w < 0) {
          if (errno == EINTR) continue;
          return Error::fromErrno(errno, "write '" + e.path + "'");
        }
        off += static_cast<std::size_t>(w);
      }
    }
    return ok();
  }

  Result<void> createSymlink(int dir, const std::string& base,
                             const std::vector<std::string>& comps, const TarEntry& e) {
    if (e.linkname.empty())
      return Error(ErrorCode::Invalid, "unpack '" + e.path + "': empty symlink target");
    SKIFF_TRY(checkSymlinkTarget(e, comps.size()));
    SKIFF_TRY(clear(dir, base, false));
    if (::symlinkat(e.linkname.c_str(), dir, base.c_str()) != 0)
      return Error::fromErrno(errno, "create symlink '" + e.path + "'");
    if (opts_.apply_ownership &&
        ::fchownat(dir, base.c_str(), e.uid, e.gid, AT_SYMLINK_NOFOLLOW) != 0)
      return Error::fromErrno(errno, "chown '" + e.path + "'");
    return ok();
  }

  // A symlink's target must stay inside the rootfs; ncomps: the link's path components.
  Result<void> checkSymlinkTarget(const TarEntry& e, std::size_t ncomps) {
    if (e.linkname[0] != '/') {
      // Lexically resolve from the link's directory; climbing above the root is an escape.
      long depth = static_cast<long>(ncomps) - 1;
      std::size_t pos = 0;
      while (pos <= e.linkname.size()) {
        std::size_t slash = e.linkname.find('/', pos);
        if (slash == std::string::npos) slash = e.linkname.size();
        std::string_view c(e.linkname.data() + pos, slash - pos);
        pos = slash + 1;
        if (c.empty() || c == ".") continue;
        depth += (c == "..") ? -1 : 1;
        if (depth < 0)
          return Error(ErrorCode::Invalid, "unpack '" + e.path + "': symlink target '" +
                                               e.linkname +
                                               "' points outside the rootfs, refusing");
      }
    }
    return ok();
  }

  Result<void> createHardLink(int dir, const std::string& base, const TarEntry& e) {
    auto target = splitPath(e.linkname, "hardlink target");
    if (!target) return std::move(target).error().wrap("unpack '" + e.path + "'");
    if (target->empty())
      return Error(ErrorCode::Invalid, "unpack '" + e.path + "': hardlink to the root");
    SKIFF_ASSIGN_OR_RETURN(UniqueFd tdir, openDir(*target, target->size() - 1, e.linkname));
    struct stat st {};
    if (::fstatat(tdir.get(), target->back().c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      return Error(ErrorCode::Invalid, "unpack '" + e.path + "': hardlink target '" + e.linkname +
                                           "' is not in the layer, refusing");
    if (S_ISDIR(st.st_mode))
      return Error(ErrorCode::Invalid, "unpack '" + e.path + "': hardlink to a directory");
    SKIFF_TRY(clear(dir, base, false));
    if (::linkat(tdir.get(), target->back().c_str(), dir, base.c_str(), 0) != 0)
      return Error::fromErrno(errno, "create hardlink '" + e.path + "'");
    return ok();
  }

  Result<void> createDevice(int dir, const std::string& base, const TarEntry& e) {
    if (!opts_.allow_devices) return ok();  // images may not smuggle devices into the rootfs
    SKIFF_TRY(clear(dir, base, false));
    mode_t t = e.type == TarType::CharDevice ? S_IFCHR : S_IFBLK;
    if (::mknodat(dir, base.c_str(), t | (e.mode & 07777), ::makedev(e.devmajor, e.devminor)) != 0)
      return Error::fromErrno(errno, "create device '" + e.path + "'");
    return ok();
  }

  Result<void> createFifo(int dir, const std::string& base, const TarEntry& e) {
    SKIFF_TRY(clear(dir, base, false));
    if (::mknodat(dir, base.c_str(), S_IFIFO | (e.mode & 07777), 0) != 0)
      return Error::fromErrno(errno, "create fifo '" + e.path + "'");
    if (opts_.apply_ownership)
      (void)::fchownat(dir, base.c_str(), e.uid, e.gid, AT_SYMLINK_NOFOLLOW);
    return ok();
  }

  TarReader& tar_;
  int root_;
  UnpackOptions opts_;
};

int removeEntry(const char* path, const struct stat*, int type, struct FTW*) {
  int rc = (type == FTW_DP) ? ::rmdir(path) : ::unlink(path);
  return rc != 0 && errno != ENOENT ? -1 : 0;
}

}  // namespace

Result<void> unpackLayer(TarReader& tar, const std::string& dir, const UnpackOptions& opts) {
  UniqueFd root(::open(dir.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!root) return Error::fromErrno(errno, "open layer directory '" + dir + "'");
  Unpacker u(tar, root.get(), opts);
  return u.run();
}

Result<bool> removeTree(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return false;
    return Error::fromErrno(errno, "stat '" + path + "'");
  }
  // FTW_MOUNT: never descend into something still mounted below (a leaked rootfs).
  if (::nftw(path.c_str(), removeEntry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) != 0)
    return Error::fromErrno(errno, "remove '" + path + "'");
  return true;
}

}  // namespace skiff::runtime
