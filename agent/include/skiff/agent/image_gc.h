#pragma once

// The kubelet's image garbage collection (pkg/kubelet/images/image_gc_manager.go): every 5 min
// the agent collects unused images when the image filesystem is at or above
// --image-gc-high-threshold, down to --image-gc-low-threshold; images younger than
// --minimum-image-ttl-duration stay. The eviction manager also asks it, under disk pressure, to
// delete every unused image before it evicts a pod. Shortfalls and failures become node events
// with the kubelet's reasons and wording.

#include <functional>
#include <string>

#include "skiff/agent/container_runtime.h"
#include "skiff/common/result.h"

namespace skiff::agent {

// Validates the policy as the kubelet's configuration validation does.
Result<void> validateImageGcPolicy(const ImageGcPolicy& policy);

class ImageGcManager {
 public:
  // (type, reason, message) of a node event.
  using NodeEventFn =
      std::function<void(const std::string&, const std::string&, const std::string&)>;

  ImageGcManager(ContainerRuntime& runtime, ImageGcPolicy policy, NodeEventFn event);

  // One periodic pass. A high threshold of 100 disables it, as in the kubelet.
  void garbageCollect();
  // Every unused image old enough goes, whatever the thresholds (DeleteUnusedImages). Returns
  // the bytes freed.
  Result<uint64_t> deleteUnusedImages();

 private:
  ContainerRuntime& runtime_;
  ImageGcPolicy policy_;
  NodeEventFn event_;
};

}  // namespace skiff::agent
