#pragma once

// Decoding of Kubernetes protobuf request bodies (application/vnd.kubernetes.protobuf):
// kubectl >= 1.32 typed clients send them for `kubectl create namespace|configmap|secret|
// deployment|service|job|...`. The body is "k8s\0" + runtime.Unknown{typeMeta, raw}; raw is the
// object in the k8s.io/api generated.proto encoding, decoded here into the JSON the REST API
// carries. Responses stay JSON (clients pick the decoder from the response Content-Type).

#include <string_view>

#include <nlohmann/json.hpp>

#include "skiff/common/result.h"

namespace skiff::master::api {

// Unsupported for kinds outside the built-in groups served here; BadRequest for a malformed
// body.
Result<nlohmann::json> decodeKubernetesProtobuf(std::string_view body);

}  // namespace skiff::master::api
