#pragma once

// The Node object the agent registers (apiVersion v1, kind Node): name and well-known labels in
// metadata, capacity, allocatable and nodeInfo in status. `skiff-agent node-info` prints it.

#include <nlohmann/json.hpp>
#include <string>

#include "skiff/common/result.h"
#include "skiff/hostinfo/host_info.h"
#include "skiff/hostinfo/node_resources.h"

namespace skiff::hostinfo {

// Node.status.nodeInfo (v1.NodeSystemInfo): machineID, systemUUID, bootID, kernelVersion,
// osImage, containerRuntimeVersion ("skiff://<version>"), kubeletVersion and kubeProxyVersion
// (the Kubernetes release skiff mirrors), operatingSystem "linux", architecture (Go name).
nlohmann::json buildNodeInfo(const HostInfo& host);

// A ResourceList as Node.status prints it: {"cpu":"2","memory":"8049376Ki",...}.
nlohmann::json resourceListJson(const ResourceList& list);

// The Node object. Labels: kubernetes.io/hostname, kubernetes.io/os, kubernetes.io/arch and
// their beta.kubernetes.io/ predecessors, as kubelet sets them at registration.
nlohmann::json buildNodeObject(const std::string& node_name, const HostInfo& host,
                               const NodeResources& resources);

// resolveNodeName + computeNodeResources + buildNodeObject.
Result<nlohmann::json> buildNodeObject(const HostInfo& host, const NodeConfig& config);

}  // namespace skiff::hostinfo
