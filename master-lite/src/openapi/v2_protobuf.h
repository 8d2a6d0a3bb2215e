#pragma once

// The Swagger 2.0 document in gnostic's protobuf form (openapi_v2.Document), as kube-apiserver
// serves /openapi/v2 to clients that ask for protobuf.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace skiff::master::openapi {

using json = nlohmann::json;

// `doc` is a Swagger 2.0 document as v2Json() writes it; `texts` are further definitions as
// JSON text, each parsed only while it is encoded (the built-in ones: ~1 MB of text that would
// cost ~10 MB as one parsed tree).
std::string v2Protobuf(const json& doc,
                       const std::vector<std::pair<std::string, std::string_view>>& texts = {});

}  // namespace skiff::master::openapi
