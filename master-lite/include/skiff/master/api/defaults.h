#pragma once

// Defaulting as Kubernetes applies it to each type (kubernetes pkg/apis/*/v1/defaults.go), plus
// the defaults that admission plugins add to pods (ServiceAccount, Priority,
// DefaultTolerationSeconds).

#include <cstdint>

#include <nlohmann/json.hpp>

#include "skiff/master/api/resources.h"

namespace skiff::master::api {

struct DefaultingOptions {
  std::int64_t not_ready_toleration_seconds = 300;    // --default-not-ready-toleration-seconds
  std::int64_t unreachable_toleration_seconds = 300;  // --default-unreachable-toleration-seconds
};

// Type defaults (applied on create and update).
void applyDefaults(const ResourceInfo& r, nlohmann::json& obj);
// Admission defaults for a new Pod (create only).
void admitNewPod(nlohmann::json& pod, const DefaultingOptions& options);
// The steps of a kind's defaults: obj[key] = value when it is missing or null; obj.spec, made an
// object when it is missing or not one.
void setIfMissing(nlohmann::json& obj, const char* key, const nlohmann::json& value);
nlohmann::json& specForDefaults(nlohmann::json& obj);
// The pod's QoS class from its containers' requests and limits.
std::string podQosClass(const nlohmann::json& pod_spec);

}  // namespace skiff::master::api
