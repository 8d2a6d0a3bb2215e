#pragma once

// The OpenAPI documents skiff-master publishes (kube-apiserver's /openapi/v2 and /openapi/v3):
// the built-in kinds from definitions generated out of the Kubernetes API types
// (src/openapi/definitions.json, gen/main.go), the custom kinds from their CRDs' schemas. kubectl
// explain reads them, kubectl apply and diff look in them for the PATCH parameters the server
// takes (fieldValidation, dryRun). Thread-safe.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace skiff::master::openapi {

using json = nlohmann::json;

// GET /openapi/v3: {"paths": {"api/v1": {"serverRelativeURL": "/openapi/v3/api/v1?hash=…"}}} for
// every served group-version, the hash being the document's (kube-openapi's cache key).
json v3Index();
// A v3 document and its hash (the ETag). Built-in group-versions' documents are built once and
// shared, so a request copies neither the text nor the hashing.
struct V3Document {
  std::string body;
  std::string hash;  // documentHash(body)
};
// GET /openapi/v3/<path> where path is "api/v1" or "apis/<group>/<version>": the group-version's
// kinds, what they reference and their PATCH operations; null when nothing is served there.
std::shared_ptr<const V3Document> v3Document(const std::string& path);
// GET /openapi/v2 as JSON: every served kind's definition and PATCH operation.
std::string v2Json();
// The same document as gnostic's protobuf openapi_v2.Document (what kubectl asks for).
std::string v2ProtobufDocument();

// Strict field validation of a built-in object: the paths of the fields its kind's definition
// does not have ("spec.replica", "spec.template.spec.containers[0].imag"); nullopt when the
// generated definitions have no such kind.
std::optional<std::vector<std::string>> unknownFields(const std::string& group,
                                                      const std::string& version,
                                                      const std::string& kind, const json& obj);
// The same for an object's metadata (custom resources' schemas do not describe it).
std::vector<std::string> unknownMetadataFields(const json& metadata);

// The uppercase hex SHA-512 of a document: kube-openapi's ETag and ?hash= value.
std::string documentHash(const std::string& doc);

}  // namespace skiff::master::openapi
