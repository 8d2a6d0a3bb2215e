#pragma once

// An enum's wire names as one table of rows, read both ways (the name of a value, the value of a
// name), so that the names and the list of values are written once.

#include <cstddef>
#include <string_view>

namespace skiff {

template <typename E>
struct EnumName {
  E value;
  const char* name;
};

// The name of `v` in `names`; `fallback` for a value the table lacks.
template <typename E, std::size_t N>
constexpr const char* nameOf(const EnumName<E> (&names)[N], E v, const char* fallback) {
  for (const auto& n : names) {
    if (n.value == v) return n.name;
  }
  return fallback;
}

// Sets `out` to the value called `name`; false (and `out` untouched) when there is none.
template <typename E, std::size_t N>
bool valueOf(const EnumName<E> (&names)[N], std::string_view name, E& out) {
  for (const auto& n : names) {
    if (name == n.name) {
      out = n.value;
      return true;
    }
  }
  return false;
}

}  // namespace skiff
