#include "skiff/runtime/sys/init_ops.h"

#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include <cerrno>

namespace skiff::runtime::sys {
namespace {

const char* orNull(const std::string& s) { return s.empty() ? nullptr : s.c_str(); }

class RealInitOps : public InitOps {
 public:
  // sys::InitOps
  PathKind pathKind(const std::string& path) override {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return PathKind::Missing;
    return S_ISDIR(st.st_mode) ? PathKind::Directory : PathKind::Other;
  }
  SysResult mount(const std::string& source, const std::string& target, const std::string& fstype,
                  unsigned long flags, const std::string& data) override {
    int rc = ::mount(orNull(source), target.c_str(), orNull(fstype), flags, orNull(data));
    return {rc, rc < 0 ? errno : 0};
  }
  SysResult dropBoundingCap(int cap) override {
    int rc = ::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
    return {rc, rc < 0 ? errno : 0};
  }
};

}  // namespace

InitOps& realInitOps() {
  static RealInitOps ops;
  return ops;
}

}  // namespace skiff::runtime::sys
