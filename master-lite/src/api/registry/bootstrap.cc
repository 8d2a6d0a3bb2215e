// The objects every cluster starts with: the default namespaces, and the `kubernetes` Service
// with Endpoints and EndpointSlice pointing at the API servers (master_endpoints.cc).
#include "registry_internal.h"
#include "skiff/master/api/object_util.h"

namespace skiff::master::api {

Result<void> Registry::bootstrap(const std::string& advertise_address, int secure_port) {
  WriteOptions sys;
  sys.field_manager = "skiff-master";
  sys.user = {"system:apiserver", {"system:masters"}};
  const ResourceInfo& nsr = namespacesInfo();
  for (const char* n : {"default", "kube-system", "kube-public", "kube-node-lease"}) {
    auto got = read(nsr, "", n, nullptr);
    if (got) continue;
    auto made = createObject(nsr, "", json{{"metadata", {{"name", n}}}}, sys);
    if (!made && !made.error().is(ErrorCode::AlreadyExists))
      return std::move(made).error().wrap("create namespace");
  }
  std::string first_ip = state_->kubernetes_service_ip;
  const ResourceInfo& svcr = *findResource("", "v1", "services");
  if (!read(svcr, "default", "kubernetes", nullptr)) {
    json svc = {{"metadata",
                 {{"name", "kubernetes"},
                  {"labels", {{"component", "apiserver"}, {"provider", "kubernetes"}}}}},
                {"spec",
                 {{"clusterIP", first_ip},
                  {"ports", json::array({{{"name", "https"},
                                          {"port", 443},
                                          {"protocol", "TCP"},
                                          {"targetPort", secure_port}}})},
                  {"sessionAffinity", "None"},
                  {"type", "ClusterIP"}}}};
    auto made = createObject(svcr, "default", svc, sys);
    if (!made && !made.error().is(ErrorCode::AlreadyExists))
      return std::move(made).error().wrap("create kubernetes service");
  }
  // Endpoints and EndpointSlice: this server and every other one holding a lease.
  SKIFF_TRY(reconcileMasterEndpoints(advertise_address, secure_port,
                                     std::chrono::system_clock::now(), kMasterLeaseTtl));
  SKIFF_LOG_INFO(registryLog(), "Registry bootstrapped",
                 skiff::log::kv("advertiseAddress", advertise_address));
  return ok();
}

}  // namespace skiff::master::api
