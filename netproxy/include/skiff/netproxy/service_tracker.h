#pragma once

#include <cstddef>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "skiff/netproxy/service.h"

namespace skiff::netproxy {

// The Services and endpoints a proxy programs, kept by Service ("ns/name"), so that a sync can
// reach the Services that changed without walking the others. Owned by the sync loop.
struct ServiceView {
  std::unordered_map<std::string, std::vector<ServicePort>> ports;  // by Service
  EndpointMap endpoints;                                            // by ServicePort::key()

  // Every port, Services in name order (what a mode that rebuilds everything takes).
  std::vector<ServicePort> allPorts() const;
};

// What changed since the sync loop last took the changes: every Service (the first time, after
// a relist, after a failed sync), or the named ones, whose ports or endpoints differ. A Service
// named here may have no ports any more (deleted, or now headless).
struct ServiceChanges {
  bool all = true;
  std::set<std::string> services;
};

// kube-proxy's ServiceChangeTracker and EndpointsChangeTracker in one. The informers hand it
// each Service and EndpointSlice as it arrives; it converts that one object (logging what it must
// skip, once per event, not once per sync) and marks the Service changed only when what the
// proxy uses differs: a status, annotation or resourceVersion update marks nothing. The sync
// loop then moves the marked Services into its ServiceView: the cost of a sync's input is the
// changed Services', not the cluster's. Thread-safe: informer threads feed it while the sync
// loop takes.
class ServiceTracker {
 public:
  // A relist (the complete collection) or one watch event's object.
  void replaceServices(const std::vector<nlohmann::json>& services);
  void setService(const nlohmann::json& service);
  void removeService(const nlohmann::json& service);
  void replaceSlices(const std::vector<nlohmann::json>& slices);
  void setSlice(const nlohmann::json& slice);
  void removeSlice(const nlohmann::json& slice);

  // Brings `view` up to date and returns what changed in it since the last call (everything
  // on the first call and after markAll).
  ServiceChanges takeInto(ServiceView& view);
  // The next takeInto reports everything (e.g. after a failed sync).
  void markAll();
  // Objects (or parts) currently left out, each logged with its reason when it arrived.
  std::size_t skipped() const;

 private:
  struct Slice {
    std::string service;    // "ns/<kubernetes.io/service-name>"
    EndpointMap endpoints;  // this slice's, by port key
    bool operator==(const Slice&) const = default;
  };
  void putService(const std::string& key, std::vector<ServicePort> ports, std::size_t skips);
  void putSlice(const std::string& key, Slice slice, std::size_t skips);
  void dropSlice(const std::string& key);
  void mark(const std::string& service);
  // `service`'s endpoints merged from its slices in name order.
  EndpointMap endpointsOf(const std::string& service) const;

  mutable std::mutex mu_;
  std::unordered_map<std::string, std::vector<ServicePort>> services_;   // by Service
  std::unordered_map<std::string, std::size_t> service_skips_;           // by Service
  std::unordered_map<std::string, Slice> slices_;                        // by "ns/slice"
  std::unordered_map<std::string, std::set<std::string>> slices_of_;     // Service -> slice keys
  std::unordered_map<std::string, std::vector<std::string>> view_keys_;  // endpoint keys in view
  std::unordered_map<std::string, std::size_t> slice_skips_;             // by "ns/slice"
  std::set<std::string> changed_;
  bool all_ = true;
};

}  // namespace skiff::netproxy
