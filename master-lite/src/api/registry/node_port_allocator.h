#pragma once

// Service node ports from --service-node-port-range (upstream
// pkg/registry/core/service/portallocator), handed out round-robin. Not thread-safe: the
// Service strategy serialises its allocators.

#include <optional>
#include <set>

namespace skiff::master::api {

class NodePortAllocator {
 public:
  NodePortAllocator(int min, int max) : min_(min), max_(max) {}

  int min() const { return min_; }
  int max() const { return max_; }
  bool inRange(int port) const { return port >= min_ && port <= max_; }
  bool allocated(int port) const { return ports_.count(port) > 0; }
  // Marks `port` as used (an existing Service's, or one a client asked for).
  void mark(int port) { ports_.insert(port); }
  // Forgets every mark (before marking what is taken afresh); the cursor stays.
  void clear() { ports_.clear(); }
  void release(int port) { ports_.erase(port); }
  // The next free port round-robin, marked used; nullopt when the range is full.
  std::optional<int> allocateNext();

 private:
  int min_;
  int max_;
  int next_ = 0;  // round-robin cursor (offset from min_)
  std::set<int> ports_;
};

}  // namespace skiff::master::api
