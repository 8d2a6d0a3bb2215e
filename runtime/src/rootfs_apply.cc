#include "skiff/runtime/sys/rootfs_apply.h"

#include <sys/mount.h>

namespace skiff::runtime::sys {
namespace {

Result<void> check(const SysResult& r, const std::string& what) {
  if (!r.ok()) return Error::fromErrno(r.err, what);
  return ok();
}

}  // namespace

Result<void> applyPathStep(InitOps& ops, const RootfsStep& step) {
  using K = RootfsStep::Kind;
  const std::string& t = step.target;
  switch (step.kind) {
    case K::Mask: {
      PathKind kind = ops.pathKind(t);
      if (kind == PathKind::Missing) return ok();
      if (kind == PathKind::Directory)
        return check(ops.mount("tmpfs", t, "tmpfs", MS_RDONLY, "size=0"), "mask " + t);
      return check(ops.mount("/dev/null", t, "", MS_BIND, ""), "mask " + t);
    }
    case K::ReadOnly:
      if (ops.pathKind(t) == PathKind::Missing) return ok();
      SKIFF_TRY(check(ops.mount(t, t, "", MS_BIND | MS_REC, ""), "bind " + t));
      return check(ops.mount("", t, "", MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, ""),
                   "read-only " + t);
    case K::ReadOnlyRoot:
      return check(ops.mount("", "/", "", MS_BIND | MS_REMOUNT | MS_RDONLY, ""),
                   "read-only rootfs");
    default:
      return Error(ErrorCode::Invalid,
                   "apply path step: '" + t + "' is not a mask or read-only step");
  }
}

}  // namespace skiff::runtime::sys
