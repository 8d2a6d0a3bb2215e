#include "skiff/runtime/sys/capability_plan.h"

#include <algorithm>

namespace skiff::runtime::sys {

CapabilityPlan capabilityPlan(const std::vector<int>& keep, int last_cap, std::uint32_t uid,
                              bool (*supported)(int)) {
  std::vector<int> kept;
  for (int c : keep)
    if (c >= 0 && c <= last_cap && std::find(kept.begin(), kept.end(), c) == kept.end())
      kept.push_back(c);
  std::sort(kept.begin(), kept.end());
  CapabilityPlan p;
  for (int c = 0; c <= last_cap; ++c)
    if (!std::binary_search(kept.begin(), kept.end(), c) && supported(c))
      p.bounding_drops.push_back(c);
  if (uid == 0) p.process_caps = kept;
  return p;
}

Result<void> dropBoundingSet(InitOps& ops, const CapabilityPlan& plan) {
  for (int c : plan.bounding_drops) {
    SysResult r = ops.dropBoundingCap(c);
    if (!r.ok())
      return Error::fromErrno(r.err,
                              "drop capability " + std::to_string(c) + " from the bounding set");
  }
  return ok();
}

}  // namespace skiff::runtime::sys
