// The objects every cluster starts with: the default namespaces, and the `kubernetes` Service
// with Endpoints and EndpointSlice pointing at this server.
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
  // Endpoints and EndpointSlice of the kubernetes Service always point at this server.
  const ResourceInfo& epr = *findResource("", "v1", "endpoints");
  json ep = {
      {"metadata",
       {{"name", "kubernetes"}, {"labels", {{"endpointslice.kubernetes.io/skip-mirror", "true"}}}}},
      {"subsets",
       json::array(
           {{{"addresses", json::array({{{"ip", advertise_address}}})},
             {"ports",
              json::array({{{"name", "https"}, {"port", secure_port}, {"protocol", "TCP"}}})}}})}};
  std::int64_t rev = 0;
  auto cur = read(epr, "default", "kubernetes", &rev);
  if (!cur) {
    auto made = createObject(epr, "default", ep, sys);
    if (!made && !made.error().is(ErrorCode::AlreadyExists))
      return std::move(made).error().wrap("create kubernetes endpoints");
  } else if ((*cur)["subsets"] != ep["subsets"]) {
    json next = *cur;
    next["subsets"] = ep["subsets"];
    (void)writeUpdated(epr, "default", *cur, next, rev, sys, "", nullptr);
  }
  const ResourceInfo& slr = *findResource("discovery.k8s.io", "v1", "endpointslices");
  json slice = {
      {"metadata",
       {{"name", "kubernetes"}, {"labels", {{"kubernetes.io/service-name", "kubernetes"}}}}},
      {"addressType", "IPv4"},
      {"endpoints", json::array({{{"addresses", json::array({advertise_address})},
                                  {"conditions", {{"ready", true}}}}})},
      {"ports", json::array({{{"name", "https"}, {"port", secure_port}, {"protocol", "TCP"}}})}};
  rev = 0;
  auto cur_slice = read(slr, "default", "kubernetes", &rev);
  if (!cur_slice) {
    (void)createObject(slr, "default", slice, sys);
  } else if ((*cur_slice)["endpoints"] != slice["endpoints"] ||
             (*cur_slice)["ports"] != slice["ports"]) {
    json next = *cur_slice;
    next["endpoints"] = slice["endpoints"];
    next["ports"] = slice["ports"];
    (void)writeUpdated(slr, "default", *cur_slice, next, rev, sys, "", nullptr);
  }
  SKIFF_LOG_INFO(registryLog(), "Registry bootstrapped",
                 skiff::log::kv("advertiseAddress", advertise_address));
  return ok();
}

}  // namespace skiff::master::api
