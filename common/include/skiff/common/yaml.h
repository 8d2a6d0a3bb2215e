#pragma once

// YAML -> JSON for the files users and tools hand skiff: kubeconfigs (kubectl and kubeadm
// write YAML) and static pod manifests. Built on libyaml; plain scalars are typed the way
// YAML 1.2's core schema types them (true/false, null/~, integers, floats), quoted ones stay
// strings, so `{port: 80}` and `{"port": 80}` read the same.

#include <nlohmann/json.hpp>

#include <string_view>
#include <vector>

#include "skiff/common/result.h"

namespace skiff {

// All documents of a stream (`---` separated); empty documents are skipped.
Result<std::vector<nlohmann::json>> yamlDocumentsToJson(std::string_view text);
// Exactly one document (an empty input is an Invalid error).
Result<nlohmann::json> yamlToJson(std::string_view text);

}  // namespace skiff
