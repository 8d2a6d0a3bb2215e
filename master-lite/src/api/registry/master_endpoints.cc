// The `kubernetes` Service's endpoints with several API servers (kube-apiserver's lease endpoint
// reconciler, pkg/controlplane/reconcilers/lease.go): each server keeps a lease key
// <prefix>/masterleases/<address> renewed every kMasterLeaseRenewEvery; the Endpoints and
// EndpointSlice list the addresses whose lease has not expired. The expiry is in the value (the
// store has no TTLs), so masters' clocks must agree to within the TTL, as they do for Lease
// objects and tokens.
#include <algorithm>

#include "registry_internal.h"
#include "skiff/master/api/object_util.h"

namespace skiff::master::api {
namespace {

std::int64_t epochSeconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// Whether a stored lease is still held at `now` (an unreadable one is not).
bool leaseLive(const store::KeyValue& kv, std::int64_t now) {
  json v = json::parse(kv.value, nullptr, false);
  return v.is_object() && v.value("expires", json()).is_number_integer() &&
         v["expires"].get<std::int64_t>() > now;
}

}  // namespace

Result<void> Registry::reconcileMasterEndpoints(const std::string& advertise_address,
                                                int secure_port,
                                                std::chrono::system_clock::time_point now,
                                                std::chrono::seconds ttl) {
  const std::string prefix = options_.storage_prefix + "/masterleases/";
  json lease = {
      {"ip", advertise_address}, {"port", secure_port}, {"expires", epochSeconds(now + ttl)}};
  auto cur = store_.get(prefix + advertise_address);
  auto put = cur ? store_.update(prefix + advertise_address, lease.dump(), cur->mod_revision)
                 : store_.create(prefix + advertise_address, lease.dump());
  if (!put && !put.error().is(ErrorCode::Conflict) && !put.error().is(ErrorCode::AlreadyExists))
    return std::move(put).error().wrap("renew master lease");
  SKIFF_ASSIGN_OR_RETURN(store::ListResult leases, store_.list(prefix));
  std::vector<std::string> live = {advertise_address};
  for (const auto& kv : leases.items) {
    std::string ip = kv.key.substr(prefix.size());
    if (leaseLive(kv, epochSeconds(now))) {
      if (ip != advertise_address) live.push_back(ip);
      continue;
    }
    // Expired (or unreadable): on the revision read, so a renewal in between wins.
    (void)store_.remove(kv.key, kv.mod_revision);
  }
  std::sort(live.begin(), live.end());
  return writeKubernetesEndpoints(live, secure_port);
}

Result<void> Registry::removeMasterEndpoint(const std::string& advertise_address, int secure_port) {
  const std::string prefix = options_.storage_prefix + "/masterleases/";
  auto cur = store_.get(prefix + advertise_address);
  if (cur) (void)store_.remove(prefix + advertise_address, cur->mod_revision);
  SKIFF_ASSIGN_OR_RETURN(store::ListResult leases, store_.list(prefix));
  std::vector<std::string> live;
  auto now = epochSeconds(std::chrono::system_clock::now());
  for (const auto& kv : leases.items) {
    if (leaseLive(kv, now)) live.push_back(kv.key.substr(prefix.size()));
  }
  // The last server going leaves its address: nothing else could answer anyway, and a
  // restart finds the Service as it left it (upstream keeps it too).
  if (live.empty()) return ok();
  return writeKubernetesEndpoints(live, secure_port);
}

// Endpoints and EndpointSlice `kubernetes` in default: `addresses` (sorted) on the secure port.
Result<void> Registry::writeKubernetesEndpoints(const std::vector<std::string>& addresses,
                                                int secure_port) {
  WriteOptions sys;
  sys.field_manager = "skiff-master";
  sys.user = {"system:apiserver", {"system:masters"}};
  json addrs = json::array(), slice_eps = json::array();
  for (const auto& a : addresses) {
    addrs.push_back({{"ip", a}});
    slice_eps.push_back({{"addresses", json::array({a})}, {"conditions", {{"ready", true}}}});
  }
  json port = {{"name", "https"}, {"port", secure_port}, {"protocol", "TCP"}};
  const ResourceInfo& epr = *findResource("", "v1", "endpoints");
  json ep = {
      {"metadata",
       {{"name", "kubernetes"}, {"labels", {{"endpointslice.kubernetes.io/skip-mirror", "true"}}}}},
      {"subsets", json::array({{{"addresses", addrs}, {"ports", json::array({port})}}})}};
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
      {"endpoints", slice_eps},
      {"ports", json::array({port})}};
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
  return ok();
}

}  // namespace skiff::master::api
