#include "skiff/runtime/sys/rootfs_plan.h"

#include <sys/mount.h>

namespace skiff::runtime::sys {

std::vector<RootfsStep> rootfsPlan(const RootfsRequest& r) {
  using K = RootfsStep::Kind;
  std::vector<RootfsStep> p;
  auto mount = [&](std::string src, std::string target, std::string type, unsigned long flags,
                   std::string data) {
    RootfsStep s;
    s.kind = K::Mount;
    s.source = std::move(src);
    s.target = std::move(target);
    s.fstype = std::move(type);
    s.flags = flags;
    s.data = std::move(data);
    p.push_back(std::move(s));
  };
  auto simple = [&](K kind, std::string target, std::string source = "", unsigned maj = 0,
                    unsigned min = 0) {
    RootfsStep s;
    s.kind = kind;
    s.target = std::move(target);
    s.source = std::move(source);
    s.major = maj;
    s.minor = min;
    p.push_back(std::move(s));
  };
  mount("proc", "/proc", "proc", MS_NOSUID | MS_NOEXEC | MS_NODEV, "");
  mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
  struct Dev {
    const char* name;
    unsigned maj, min;
  };
  for (Dev d : {Dev{"null", 1, 3}, Dev{"zero", 1, 5}, Dev{"full", 1, 7}, Dev{"random", 1, 8},
                Dev{"urandom", 1, 9}, Dev{"tty", 5, 0}})
    simple(K::Mknod, std::string("/dev/") + d.name, "", d.maj, d.min);
  for (auto [link, to] :
       {std::pair{"fd", "/proc/self/fd"}, std::pair{"stdin", "/proc/self/fd/0"},
        std::pair{"stdout", "/proc/self/fd/1"}, std::pair{"stderr", "/proc/self/fd/2"},
        std::pair{"ptmx", "pts/ptmx"}, std::pair{"core", "/proc/kcore"}})
    simple(K::Symlink, std::string("/dev/") + link, to);
  mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
        "newinstance,ptmxmode=0666,mode=0620,gid=5");
  mount("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NOEXEC | MS_NODEV, "mode=1777,size=65536k");
  mount("mqueue", "/dev/mqueue", "mqueue", MS_NOSUID | MS_NOEXEC | MS_NODEV, "");
  mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NOEXEC | MS_NODEV | (r.privileged ? 0 : MS_RDONLY),
        "");
  for (const auto& v : r.volumes) {
    RootfsStep s;
    s.kind = K::BindVolume;
    s.source = v.host_path;
    s.target = v.container_path;
    s.readonly = v.readonly;
    p.push_back(std::move(s));
  }
  simple(K::PivotRoot, "/");
  if (!r.privileged) {
    for (const auto& m : r.masked_paths) simple(K::Mask, m);
    for (const auto& m : r.readonly_paths) simple(K::ReadOnly, m);
  }
  if (r.readonly_rootfs) simple(K::ReadOnlyRoot, "/");
  return p;
}

}  // namespace skiff::runtime::sys
