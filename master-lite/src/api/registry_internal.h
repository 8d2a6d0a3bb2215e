#pragma once

// Pieces of the registry shared between its translation units (CRUD, watch, allocators).

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "skiff/master/api/registry.h"
#include "skiff/master/store/store.h"

namespace skiff::master::api {

// A store event decoded once (lazily, on the first consumer thread that needs it) and shared by
// every watcher that receives it. Each part is made only when some watcher needs it: the
// previous value only for selector watches, the wire text only for HTTP JSON streams.
struct DecodedEvent {
  store::EventPtr raw;
  std::once_flag once;
  json object;  // metadata.resourceVersion set; apiVersion/kind as stored
  std::once_flag prev_once;
  json prev;  // the previous value (null when none)
  std::once_flag text_once;
  std::string object_text;  // the object as sent, compact JSON (storage version)

  void decode();
  void decodePrev();
};

// Allocators for Service cluster IPs and node ports. Loaded from the store on first use.
struct ServiceAllocator {
  std::mutex mu;
  bool loaded = false;
  std::uint32_t base = 0;  // network address of the service CIDR
  std::uint32_t size = 0;  // number of addresses
  std::uint32_t next = 2;  // round-robin cursor (offset)
  std::set<std::uint32_t> ips;
  std::set<int> ports;
  int port_next = 0;
};

// Which namespaces exist and which are being deleted, for the lifecycle admission of every
// namespaced create (upstream's NamespaceLifecycle reads an informer the same way) instead of a
// store read and decode per create. Listed on first use, then kept current by a store watch
// whose handler runs inside each committed write: a create sees every namespace change that
// finished before it.
class NamespaceCache {
 public:
  enum class State { Missing, Active, Terminating };
  // `prefix`: the namespaces' key prefix. An error is the store's, from starting the cache.
  Result<State> lookup(store::Store& store, const std::string& prefix, const std::string& name);

 private:
  Result<void> start(store::Store& store, const std::string& prefix);

  std::mutex start_mu_;
  std::mutex mu_;
  std::map<std::string, bool> terminating_;  // name -> being deleted
  store::WatchPtr watch_;                    // last member: stopped before the map goes
};

struct Registry::State {
  ServiceAllocator alloc;
  NamespaceCache namespaces;
  std::mutex cache_mu;
  const store::Event* last_raw = nullptr;
  std::shared_ptr<DecodedEvent> last_decoded;
};

std::string ipToString(std::uint32_t ip);
bool parseIpv4(const std::string& s, std::uint32_t* out);

// Strips what is derived on read (resourceVersion) and serialises for the store.
std::string encodeForStore(json obj);
json decodeFromStore(const std::string& value, std::int64_t mod_revision);

}  // namespace skiff::master::api
