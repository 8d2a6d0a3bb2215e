#pragma once

#include <string>

#include "skiff/common/file.h"

namespace skiff::hostinfo::test {

// tests/data/hostinfo/<name>
inline std::string fixtureDir(const std::string& name) {
  return std::string(SKIFF_SOURCE_DIR) + "/tests/data/hostinfo/" + name;
}

// A file of a fixture tree, e.g. fixtureFile("rhel9-x86_64", "/proc/meminfo").
inline std::string fixtureFile(const std::string& name, const std::string& abs_path) {
  auto r = readFile(joinRoot(fixtureDir(name), abs_path));
  return r ? *r : std::string();
}

}  // namespace skiff::hostinfo::test
