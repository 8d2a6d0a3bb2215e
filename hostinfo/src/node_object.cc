#include "skiff/hostinfo/node_object.h"

#include "skiff/common/version.h"
#include "skiff/hostinfo/node_name.h"

namespace skiff::hostinfo {

nlohmann::json resourceListJson(const ResourceList& list) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, q] : list) out[name] = q.toString();
  return out;
}

nlohmann::json buildNodeInfo(const HostInfo& host) {
  return {
      {"machineID", host.machine_id},
      {"systemUUID", host.system_uuid},
      {"bootID", host.boot_id},
      {"kernelVersion", host.kernel_release},
      {"osImage", host.os_image},
      {"containerRuntimeVersion", std::string("skiff://") + kVersion},
      {"kubeletVersion", kKubeVersion},
      {"kubeProxyVersion", kKubeVersion},
      {"operatingSystem", "linux"},
      {"architecture", host.architecture},
  };
}

nlohmann::json buildNodeObject(const std::string& node_name, const HostInfo& host,
                               const NodeResources& resources) {
  nlohmann::json labels = {
      {"beta.kubernetes.io/arch", host.architecture},
      {"beta.kubernetes.io/os", "linux"},
      {"kubernetes.io/arch", host.architecture},
      {"kubernetes.io/hostname", node_name},
      {"kubernetes.io/os", "linux"},
  };
  return {
      {"apiVersion", "v1"},
      {"kind", "Node"},
      {"metadata", {{"name", node_name}, {"labels", labels}}},
      {"spec", nlohmann::json::object()},
      {"status",
       {{"capacity", resourceListJson(resources.capacity)},
        {"allocatable", resourceListJson(resources.allocatable)},
        {"nodeInfo", buildNodeInfo(host)}}},
  };
}

Result<nlohmann::json> buildNodeObject(const HostInfo& host, const NodeConfig& config) {
  SKIFF_ASSIGN_OR_RETURN(std::string name,
                         resolveNodeName(config.hostname_override, host.hostname));
  SKIFF_ASSIGN_OR_RETURN(NodeResources resources, computeNodeResources(host, config));
  return buildNodeObject(name, host, resources);
}

}  // namespace skiff::hostinfo
