#pragma once

// Key ranges shared by the Store implementations.

#include <string>

namespace skiff::master::store {

// Smallest string greater than every string starting with `prefix`; "" when there is none
// (prefix empty or all 0xff: no upper bound).
inline std::string prefixEnd(std::string prefix) {
  while (!prefix.empty()) {
    unsigned char c = static_cast<unsigned char>(prefix.back());
    if (c < 0xff) {
      prefix.back() = static_cast<char>(c + 1);
      return prefix;
    }
    prefix.pop_back();
  }
  return prefix;
}

// etcd's range_end for a prefix: as prefixEnd, with "\0" (every key from the start) for no
// upper bound.
inline std::string etcdRangeEnd(const std::string& prefix) {
  std::string end = prefixEnd(prefix);
  return end.empty() ? std::string(1, '\0') : end;
}

}  // namespace skiff::master::store
