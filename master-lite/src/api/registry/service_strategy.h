#pragma once

// Services (pkg/registry/core/service): status starts as an empty load balancer, and admission
// allocates the ClusterIP and node ports (also on update, for type changes); deletes and
// updates give them back. Every allocation is a reservation in the store (stored_reservations.h)
// so that masters sharing one etcd never hand out the same address or port; the in-memory
// allocators only say where to look first, and are rebuilt from the reservations by the repair
// pass (at first use, then every 3 minutes, as kube-apiserver's allocator repair loop).

#include <mutex>
#include <string>

#include "cluster_ip_allocator.h"
#include "node_port_allocator.h"
#include "skiff/master/api/registry.h"
#include "skiff/master/api/strategy.h"
#include "skiff/master/store/store.h"
#include "stored_reservations.h"

namespace skiff::master::api {

class ServiceStrategy : public Strategy {
 public:
  ServiceStrategy(store::Store& store, const RegistryOptions& options);

  // The `kubernetes` Service's address: the first host address of the service CIDR.
  std::string firstClusterIp() const { return ips_.firstIp(); }

  // Strategy
  void prepareForCreate(const ResourceInfo& r, json& obj) const override;
  Result<void> admitCreate(const ResourceInfo& r, json& obj, const WriteOptions& opts) override;
  // dropTypeDependentFields: a type change wipes what the new type cannot have, when the
  // update left it as it was (so an allocated nodePort does not make NodePort -> ExternalName
  // invalid).
  void prepareForUpdate(const ResourceInfo& r, json& obj, const json& old) const override;
  Result<void> admitUpdate(const ResourceInfo& r, json& obj, const json& old) override;
  void afterUpdate(const ResourceInfo& r, const json& old, const json& obj) override;
  void released(const ResourceInfo& r, const json& obj) override;

 private:
  Result<void> repairLocked();
  // Gives back obj's address and node ports, in memory and in the store (if obj holds them).
  void releaseLocked(const json& obj);
  // Sets spec.clusterIP(s) and the IP families; field errors for a bad requested IP. `owner`
  // is "<namespace>/<name>".
  Result<void> assignClusterIp(json& spec, const json& old, const std::string& owner,
                               FieldErrors& errs);
  // Sets or clears each port's nodePort by the Service type.
  Result<void> assignNodePorts(json& spec, const json& old, const std::string& owner,
                               FieldErrors& errs);

  store::Store& store_;
  std::string storage_prefix_;
  const std::string service_cidr_;
  std::mutex mu_;
  ClusterIpAllocator ips_;
  NodePortAllocator ports_;
  StoredReservations ip_keys_, port_keys_;
  bool repaired_ = false;
  StoredReservations::Clock::time_point last_repair_{};
};

}  // namespace skiff::master::api
