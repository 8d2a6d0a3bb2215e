#include "node_port_allocator.h"

namespace skiff::master::api {

std::optional<int> NodePortAllocator::allocateNext() {
  int span = max_ - min_ + 1;
  for (int j = 0; j < span; ++j) {
    int port = min_ + (next_ + j) % span;
    if (!ports_.count(port)) {
      ports_.insert(port);
      next_ = port - min_ + 1;
      return port;
    }
  }
  return std::nullopt;
}

}  // namespace skiff::master::api
