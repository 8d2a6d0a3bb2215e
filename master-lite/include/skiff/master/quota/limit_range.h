#pragma once

// LimitRange rules (plugin/pkg/admission/limitranger of Kubernetes 1.32): the defaults a
// LimitRange gives containers and its min/max/maxLimitRequestRatio checks on containers, pods and
// PersistentVolumeClaims, with upstream's messages. Pure functions over JSON.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace skiff::master::quota {

// SetDefaults_LimitRangeItem for type Container: default from max, defaultRequest from default,
// then from min.
void defaultLimitRangeItem(nlohmann::json& item);

// Fills each container's missing limits/requests from the Container items' default and
// defaultRequest (mergeContainerResources). Returns what was set, as upstream's
// kubernetes.io/limit-ranger annotation lists it ("memory request for container c"); the
// annotation is set on the pod when something was.
std::vector<std::string> applyContainerDefaults(const nlohmann::json& limit_range,
                                                nlohmann::json& pod);

// Every violated rule of one LimitRange, in upstream's order and wording
// ("maximum cpu usage per Container is 1, but limit is 2").
std::vector<std::string> validatePod(const nlohmann::json& limit_range, const nlohmann::json& pod);
std::vector<std::string> validatePvc(const nlohmann::json& limit_range, const nlohmann::json& pvc);

// utilerrors.NewAggregate(...).Error(): one message as is, several as "[a, b]" (duplicates
// dropped).
std::string aggregate(const std::vector<std::string>& messages);

}  // namespace skiff::master::quota
