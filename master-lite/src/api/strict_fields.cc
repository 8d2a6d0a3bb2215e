#include "strict_fields.h"

#include "skiff/master/apiextensions/apiextensions.h"
#include "skiff/master/openapi/openapi.h"

namespace skiff::master::api {

std::vector<std::string> unknownFields(const ResourceInfo& r, const nlohmann::json& obj) {
  std::vector<std::string> out;
  if (!obj.is_object()) return out;
  if (r.custom) {
    // Custom resources: what pruning by the CRD's schema would drop, plus unknown metadata.
    nlohmann::json copy = obj;
    if (r.custom->schema.is_object()) apiextensions::pruneBySchema(r.custom->schema, copy, &out);
    if (obj.contains("metadata")) {
      auto meta = openapi::unknownMetadataFields(obj["metadata"]);
      out.insert(out.end(), meta.begin(), meta.end());
    }
    return out;
  }
  auto unknown = openapi::unknownFields(r.group, r.version, r.kind, obj);
  return unknown ? *unknown : out;
}

}  // namespace skiff::master::api
