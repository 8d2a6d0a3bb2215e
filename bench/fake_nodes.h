#pragma once

// What the benches of master-lite's scheduling path (bench/scheduler, bench/storage) share: their
// `[pods] [nodes]` arguments and M Ready in-memory nodes in the fake API.

#include <cstdio>
#include <cstdlib>
#include <string>

#include "skiff/master/testing/fake_api_client.h"

namespace skiff::bench {

// `prog [pods] [nodes]` with the given defaults; false, with the usage printed, unless both
// are positive.
inline bool podsAndNodes(int argc, char** argv, int& pods, int& nodes) {
  if (argc > 1) pods = std::atoi(argv[1]);
  if (argc > 2) nodes = std::atoi(argv[2]);
  if (pods > 0 && nodes > 0) return true;
  std::fprintf(stderr, "usage: %s [pods] [nodes]\n", argv[0]);
  return false;
}

// Ready nodes node-0 .. node-<count-1>, each labelled with its hostname, with 32 CPUs, 128Gi and
// 110 pods allocatable; `extra` is merged into each (more allocatable, annotations).
inline bool createNodes(master::testing::FakeApiClient& client, int count,
                        const master::json& extra = master::json::object()) {
  for (int i = 0; i < count; ++i) {
    std::string name = "node-" + std::to_string(i);
    master::json n = {
        {"metadata", {{"name", name}, {"labels", {{"kubernetes.io/hostname", name}}}}},
        {"spec", master::json::object()},
        {"status",
         {{"allocatable", {{"cpu", "32"}, {"memory", "128Gi"}, {"pods", "110"}}},
          {"conditions", master::json::array({{{"type", "Ready"}, {"status", "True"}}})}}}};
    n.merge_patch(extra);
    if (!client.create(master::gvr::kNodes, "", n)) return false;
  }
  return true;
}

}  // namespace skiff::bench
