// Image garbage collection for the node (see image_gc.h).
#include "skiff/agent/image_gc.h"

#include "skiff/common/log.h"

namespace skiff::agent {

using skiff::log::kv;

Result<void> validateImageGcPolicy(const ImageGcPolicy& p) {
  // pkg/kubelet/apis/config/validation/validation.go
  if (p.high_threshold_percent < 0 || p.high_threshold_percent > 100) {
    return Error(ErrorCode::Invalid,
                 "invalid configuration: imageGCHighThresholdPercent (--image-gc-high-threshold) " +
                     std::to_string(p.high_threshold_percent) +
                     " must be between 0 and 100, inclusive");
  }
  if (p.low_threshold_percent < 0 || p.low_threshold_percent > 100) {
    return Error(ErrorCode::Invalid,
                 "invalid configuration: imageGCLowThresholdPercent (--image-gc-low-threshold) " +
                     std::to_string(p.low_threshold_percent) +
                     " must be between 0 and 100, inclusive");
  }
  if (p.low_threshold_percent >= p.high_threshold_percent) {
    return Error(ErrorCode::Invalid,
                 "invalid configuration: imageGCLowThresholdPercent (--image-gc-low-threshold) " +
                     std::to_string(p.low_threshold_percent) +
                     " must be less than imageGCHighThresholdPercent (--image-gc-high-threshold) " +
                     std::to_string(p.high_threshold_percent));
  }
  return ok();
}

ImageGcManager::ImageGcManager(ContainerRuntime& runtime, ImageGcPolicy policy, NodeEventFn event)
    : runtime_(runtime), policy_(policy), event_(std::move(event)) {}

void ImageGcManager::garbageCollect() {
  auto lg = skiff::log::get("agent");
  if (policy_.high_threshold_percent >= 100) return;
  auto r = runtime_.garbageCollectImages(policy_);
  if (!r) {
    SKIFF_LOG_WARN(lg, "Image garbage collection failed", kv("err", r.error().message()));
    event_("Warning", "ImageGCFailed", r.error().message());
    return;
  }
  if (!r->removed.empty()) {
    SKIFF_LOG_INFO(lg, "Image garbage collection removed images", kv("count", r->removed.size()),
                   kv("freedBytes", r->freed_bytes));
  }
  if (r->freed_bytes < r->wanted_bytes) {
    std::string msg = "Failed to garbage collect required amount of images. Attempted to free " +
                      std::to_string(r->wanted_bytes) + " bytes, but only found " +
                      std::to_string(r->freed_bytes) + " bytes eligible to free.";
    SKIFF_LOG_WARN(lg, "Image garbage collection fell short", kv("err", msg));
    event_("Warning", "FreeDiskSpaceFailed", msg);
  }
}

Result<uint64_t> ImageGcManager::deleteUnusedImages() {
  ImageGcPolicy all = policy_;
  all.high_threshold_percent = 0;
  all.low_threshold_percent = 0;
  SKIFF_ASSIGN_OR_RETURN(auto r, runtime_.garbageCollectImages(all));
  if (!r.removed.empty()) {
    auto lg = skiff::log::get("agent");
    SKIFF_LOG_INFO(lg, "Removed unused images to relieve disk pressure",
                   kv("count", r.removed.size()), kv("freedBytes", r.freed_bytes));
  }
  return r.freed_bytes;
}

}  // namespace skiff::agent
