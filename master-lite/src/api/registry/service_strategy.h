#pragma once

// Services (pkg/registry/core/service): status starts as an empty load balancer, and admission
// allocates the ClusterIP and node ports (also on update, for type changes) from allocators
// loaded from the stored Services on first use; deletes and updates give them back.

#include <mutex>
#include <string>

#include "cluster_ip_allocator.h"
#include "node_port_allocator.h"
#include "skiff/master/api/registry.h"
#include "skiff/master/api/strategy.h"
#include "skiff/master/store/store.h"

namespace skiff::master::api {

class ServiceStrategy : public Strategy {
 public:
  ServiceStrategy(store::Store& store, const RegistryOptions& options);

  // The `kubernetes` Service's address: the first host address of the service CIDR.
  std::string firstClusterIp() const { return ips_.firstIp(); }

  // Strategy
  void prepareForCreate(const ResourceInfo& r, json& obj) const override;
  Result<void> admitCreate(const ResourceInfo& r, json& obj, const WriteOptions& opts) override;
  Result<void> admitUpdate(const ResourceInfo& r, json& obj, const json& old) override;
  void afterUpdate(const ResourceInfo& r, const json& old, const json& obj) override;
  void released(const ResourceInfo& r, const json& obj) override;

 private:
  Result<void> loadLocked();
  // Sets spec.clusterIP(s) and the IP families; field errors for a bad requested IP.
  Result<void> assignClusterIp(json& spec, const json& old, FieldErrors& errs);
  // Sets or clears each port's nodePort by the Service type.
  Result<void> assignNodePorts(json& spec, const json& old, FieldErrors& errs);

  store::Store& store_;
  std::string storage_prefix_;
  const std::string service_cidr_;
  std::mutex mu_;
  ClusterIpAllocator ips_;
  NodePortAllocator ports_;
};

}  // namespace skiff::master::api
