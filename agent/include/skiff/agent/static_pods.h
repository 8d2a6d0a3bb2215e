#pragma once

// Static pods from --pod-manifest-path (kubelet's file source, pkg/kubelet/config/file.go):
// every *.yaml / *.yml / *.json file holds one Pod; the agent names it <name>-<node>, binds it to
// this node, and derives a stable UID from the file's content and the node name, so an edited
// manifest is a new pod and an unchanged one survives agent restarts. The Kubelet mirrors each
// one into the API (kubernetes.io/config.mirror).

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "skiff/common/result.h"

namespace skiff::agent {

struct StaticPodScan {
  std::vector<nlohmann::json> pods;
  std::vector<std::string> errors;  // "file: reason" for manifests that were skipped
};

// Reads the directory (a missing directory is no pods, not an error).
StaticPodScan scanStaticPods(const std::string& dir, const std::string& node_name);

}  // namespace skiff::agent
