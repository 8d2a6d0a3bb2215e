#pragma once

// What the in-process API benches share: a percentile of a sample, a resource by group and
// plural, and the cluster-admin writer they set their objects up with.

#include <algorithm>
#include <cstddef>
#include <vector>

#include "skiff/master/api/registry.h"

namespace skiff::bench {

// The q-quantile (0.5, 0.99) of `v`, nearest rank.
inline double pct(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(q * v.size()))];
}

// The v1 resource `plural` of `group` ("" for the core group); the benches name only built-ins.
inline const master::api::ResourceInfo& res(const char* group, const char* plural) {
  return *master::api::findResource(group, "v1", plural);
}

inline master::api::WriteOptions admin() {
  master::api::WriteOptions w;
  w.user = {"admin", {"system:masters", "system:authenticated"}};
  return w;
}

}  // namespace skiff::bench
