#pragma once

// The Swagger 2.0 document in gnostic's protobuf form (openapi_v2.Document), as kube-apiserver
// serves /openapi/v2 to clients that ask for protobuf.

#include <string>

#include <nlohmann/json.hpp>

namespace skiff::master::openapi {

using json = nlohmann::json;

// `doc` is a Swagger 2.0 document as v2Json() writes it.
std::string v2Protobuf(const json& doc);

}  // namespace skiff::master::openapi
