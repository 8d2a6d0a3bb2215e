#include "skiff/netproxy/service_tracker.h"

#include <algorithm>

#include "skiff/common/log.h"

namespace skiff::netproxy {

namespace {

using nlohmann::json;
using skiff::log::kv;

void logSkipped(const std::vector<Skipped>& skipped, const char* what, const char* field) {
  if (skipped.empty()) return;
  auto lg = skiff::log::get("netproxy");
  for (const Skipped& s : skipped) {
    SKIFF_LOG_WARN(lg, what, kv(field, s.object), kv("reason", s.reason));
  }
}

struct ConvertedService {
  std::vector<ServicePort> ports;
  std::size_t skips = 0;
};

ConvertedService convertService(const json& svc) {
  ConvertedServices c;
  appendServicePortsFromJson(svc, c);
  logSkipped(c.skipped, "Skipping service, ignoring", "service");
  return {std::move(c.ports), c.skipped.size()};
}

}  // namespace

std::vector<ServicePort> ServiceView::allPorts() const {
  std::vector<const decltype(ports)::value_type*> services;
  services.reserve(ports.size());
  for (const auto& entry : ports) services.push_back(&entry);
  std::sort(services.begin(), services.end(),
            [](const auto* a, const auto* b) { return a->first < b->first; });
  std::vector<ServicePort> out;
  for (const auto* s : services) out.insert(out.end(), s->second.begin(), s->second.end());
  return out;
}

void ServiceTracker::replaceServices(const std::vector<json>& services) {
  std::unordered_map<std::string, ConvertedService> now;
  for (const json& svc : services) now[objectKeyOf(svc)] = convertService(svc);
  std::lock_guard lk(mu_);
  std::vector<std::string> gone;
  for (const auto& [key, _] : services_) {
    if (!now.count(key)) gone.push_back(key);
  }
  for (const std::string& key : gone) putService(key, {}, 0);
  service_skips_.clear();
  for (auto& [key, c] : now) putService(key, std::move(c.ports), c.skips);
}

void ServiceTracker::setService(const json& service) {
  ConvertedService c = convertService(service);
  std::lock_guard lk(mu_);
  putService(objectKeyOf(service), std::move(c.ports), c.skips);
}

void ServiceTracker::removeService(const json& service) {
  std::lock_guard lk(mu_);
  putService(objectKeyOf(service), {}, 0);
}

void ServiceTracker::replaceSlices(const std::vector<json>& slices) {
  std::unordered_map<std::string, std::pair<Slice, std::size_t>> now;
  for (const json& s : slices) {
    ConvertedEndpoints c;
    appendEndpointsFromJson(s, c);
    logSkipped(c.skipped, "Skipping endpoint slice, ignoring", "endpointSlice");
    now[objectKeyOf(s)] = {Slice{sliceServiceOf(s), std::move(c.endpoints)}, c.skipped.size()};
  }
  std::lock_guard lk(mu_);
  std::vector<std::string> gone;
  for (const auto& [key, _] : slices_) {
    if (!now.count(key)) gone.push_back(key);
  }
  for (const std::string& key : gone) dropSlice(key);
  slice_skips_.clear();
  for (auto& [key, s] : now) putSlice(key, std::move(s.first), s.second);
}

void ServiceTracker::setSlice(const json& slice) {
  ConvertedEndpoints c;
  appendEndpointsFromJson(slice, c);
  logSkipped(c.skipped, "Skipping endpoint slice, ignoring", "endpointSlice");
  std::lock_guard lk(mu_);
  putSlice(objectKeyOf(slice), Slice{sliceServiceOf(slice), std::move(c.endpoints)},
           c.skipped.size());
}

void ServiceTracker::removeSlice(const json& slice) {
  std::lock_guard lk(mu_);
  std::string key = objectKeyOf(slice);
  slice_skips_.erase(key);
  dropSlice(key);
}

// Under mu_ from here on.

void ServiceTracker::putService(const std::string& key, std::vector<ServicePort> ports,
                                std::size_t skips) {
  if (skips) {
    service_skips_[key] = skips;
  } else {
    service_skips_.erase(key);
  }
  auto it = services_.find(key);
  if (ports.empty()) {  // gone, headless, ExternalName or unusable: no rules
    if (it == services_.end()) return;
    services_.erase(it);
  } else if (it == services_.end()) {
    services_.emplace(key, std::move(ports));
  } else if (it->second == ports) {
    return;
  } else {
    it->second = std::move(ports);
  }
  mark(key);
}

void ServiceTracker::putSlice(const std::string& key, Slice slice, std::size_t skips) {
  if (skips) {
    slice_skips_[key] = skips;
  } else {
    slice_skips_.erase(key);
  }
  if (slice.service.empty()) {  // unusable (logged): as if it were not there
    dropSlice(key);
    return;
  }
  auto it = slices_.find(key);
  if (it != slices_.end()) {
    if (it->second == slice) return;
    if (it->second.service != slice.service) dropSlice(key);
  }
  slices_of_[slice.service].insert(key);
  mark(slice.service);
  slices_[key] = std::move(slice);
}

void ServiceTracker::dropSlice(const std::string& key) {
  auto it = slices_.find(key);
  if (it == slices_.end()) return;
  const std::string service = it->second.service;
  auto of = slices_of_.find(service);
  if (of != slices_of_.end()) {
    of->second.erase(key);
    if (of->second.empty()) slices_of_.erase(of);
  }
  slices_.erase(it);
  mark(service);
}

void ServiceTracker::mark(const std::string& service) {
  if (!all_) changed_.insert(service);
}

EndpointMap ServiceTracker::endpointsOf(const std::string& service) const {
  EndpointMap out;
  auto of = slices_of_.find(service);
  if (of == slices_of_.end()) return out;
  for (const std::string& key : of->second) {  // slice names in order, as a full list has them
    for (const auto& [port, list] : slices_.at(key).endpoints) {
      auto& into = out[port];
      into.insert(into.end(), list.begin(), list.end());
    }
  }
  return out;
}

ServiceChanges ServiceTracker::takeInto(ServiceView& view) {
  std::lock_guard lk(mu_);
  ServiceChanges changes;
  changes.all = all_;
  if (all_) {
    view.ports = services_;
    view.endpoints.clear();
    view_keys_.clear();
    for (const auto& [service, _] : slices_of_) {
      for (auto& [port, list] : endpointsOf(service)) {
        view_keys_[service].push_back(port);
        view.endpoints[port] = std::move(list);
      }
    }
    all_ = false;
    changed_.clear();
    return changes;
  }
  changes.services.swap(changed_);
  for (const std::string& service : changes.services) {
    if (auto it = services_.find(service); it != services_.end()) {
      view.ports[service] = it->second;
    } else {
      view.ports.erase(service);
    }
    auto keys = view_keys_.find(service);
    if (keys != view_keys_.end()) {
      for (const std::string& port : keys->second) view.endpoints.erase(port);
      view_keys_.erase(keys);
    }
    for (auto& [port, list] : endpointsOf(service)) {
      view_keys_[service].push_back(port);
      view.endpoints[port] = std::move(list);
    }
  }
  return changes;
}

void ServiceTracker::markAll() {
  std::lock_guard lk(mu_);
  all_ = true;
  changed_.clear();
}

std::size_t ServiceTracker::skipped() const {
  std::lock_guard lk(mu_);
  std::size_t n = 0;
  for (const auto& [_, k] : service_skips_) n += k;
  for (const auto& [_, k] : slice_skips_) n += k;
  return n;
}

}  // namespace skiff::netproxy
