#pragma once

// Discovery documents (reference/kube-api-surface.md §1): legacy /api, /apis and per
// group-version lists, and aggregated discovery (apidiscovery.k8s.io v2 / v2beta1).

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace skiff::master::api {

nlohmann::json apiVersions(const std::string& server_address);
nlohmann::json apiGroupList();
nlohmann::json apiGroup(const std::string& group);  // null when unknown
// APIResourceList for /api/v1 or /apis/<g>/<v>; null when the group-version is not served.
nlohmann::json apiResourceList(const std::string& group, const std::string& version);
// APIGroupDiscoveryList for /api (core = true) or /apis, in `version` ("v2" or "v2beta1").
nlohmann::json aggregatedDiscovery(bool core, const std::string& version);
// "v2", "v2beta1" or "" from an Accept header, honouring the client's order of preference.
std::string aggregatedDiscoveryVersion(const std::string& accept);

}  // namespace skiff::master::api
