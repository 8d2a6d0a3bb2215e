#pragma once

// Executes the rootfs steps that run after pivot_root in the container's own view (Mask,
// ReadOnly, ReadOnlyRoot) through InitOps: what to mount depends on what the path is there.

#include "skiff/common/result.h"
#include "skiff/runtime/sys/init_ops.h"
#include "skiff/runtime/sys/rootfs_plan.h"

namespace skiff::runtime::sys {

// Mask: an absent path is skipped; a directory gets an empty read-only tmpfs (size=0), anything
// else /dev/null bound over it (runc's maskPath). ReadOnly: absent skipped; else bound on itself
// recursively, then remounted read-only (runc's readonlyPath). ReadOnlyRoot: / remounted
// read-only. Other kinds: Invalid (they are executed with openat2 in skiff-init).
Result<void> applyPathStep(InitOps& ops, const RootfsStep& step);

}  // namespace skiff::runtime::sys
