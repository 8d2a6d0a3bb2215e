#pragma once

// Small helpers the parts of PodSyncer share (internal to agent/src/pod_sync/).

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "skiff/common/log.h"

namespace skiff::agent::podsync {

// Go's time.Duration String() of a duration truncated to milliseconds: "0s", "523ms", "1.2s",
// "1m3.25s" (the kubelet's Pulled event prints pull times this way).
std::string goDurationMs(std::chrono::milliseconds d);
// "<namespace>/<name>"
std::string podRef(const nlohmann::json& pod);
std::string uidOf(const nlohmann::json& pod);
// kubelet's default: Always for :latest or no tag, IfNotPresent otherwise.
std::string pullPolicy(const nlohmann::json& c);
// A JSON array as strings (non-strings dumped).
std::vector<std::string> strings(const nlohmann::json& arr);

}  // namespace skiff::agent::podsync

namespace skiff::agent {
// The names every part of PodSyncer (agent/src/pod_sync/*.cc) is written with.
using nlohmann::json;
using skiff::log::kv;
using namespace podsync;
namespace fs = std::filesystem;
}  // namespace skiff::agent
