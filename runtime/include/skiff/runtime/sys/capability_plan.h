#pragma once

// Which capabilities a container process keeps, as plain numbers (CAP_* values), so the
// decision is tested without libcap or a kernel; skiff-init applies it.

#include <cstdint>
#include <vector>

#include "skiff/common/result.h"
#include "skiff/runtime/sys/init_ops.h"

namespace skiff::runtime::sys {

struct CapabilityPlan {
  // Dropped from the bounding set: every supported capability up to last_cap not kept.
  std::vector<int> bounding_drops;
  // Permitted, effective and inheritable after setuid: the kept set for uid 0; nothing for any
  // other uid (Docker semantics: a non-root user starts with no effective capabilities).
  std::vector<int> process_caps;
};

// `keep` may hold duplicates or values above last_cap (unknown to this kernel): ignored.
// `supported(cap)` is CAP_IS_SUPPORTED (the bounding set has it).
CapabilityPlan capabilityPlan(const std::vector<int>& keep, int last_cap, std::uint32_t uid,
                              bool (*supported)(int cap));

// Drops plan.bounding_drops through ops (stops at the first failure).
Result<void> dropBoundingSet(InitOps& ops, const CapabilityPlan& plan);

}  // namespace skiff::runtime::sys
