// Tables of custom resources (pkg/registry/customresource/tableconvertor): Name, then the
// version's additionalPrinterColumns (an Age column when it has none), each cell read with its
// JSONPath and rendered by the column's type.
#include "skiff/master/api/object_util.h"
#include "skiff/master/apiextensions/apiextensions.h"

namespace skiff::master::apiextensions {
namespace {

const char* const kNameDescription =
    "Name must be unique within a namespace. Is required when creating resources, although some "
    "resources may allow a client to request the generation of an appropriate name "
    "automatically. Name is primarily intended for creation idempotence and configuration "
    "definition. Cannot be updated. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const char* const kAgeDescription =
    "CreationTimestamp is a timestamp representing the server time when this object was created. "
    "It is not guaranteed to be set in happens-before order across separate operations. Clients "
    "may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by "
    "the system. Read-only. Null for lists. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/"
    "api-conventions.md#metadata";

json columnsOf(const api::ResourceInfo& r) {
  json cols = r.custom ? r.custom->printer_columns : json::array();
  if (!cols.is_array() || cols.empty()) {
    cols = json::array({{{"name", "Age"},
                         {"type", "date"},
                         {"description", kAgeDescription},
                         {"jsonPath", ".metadata.creationTimestamp"}}});
  }
  return cols;
}

}  // namespace

json customTableColumns(const api::ResourceInfo& r) {
  json out = json::array({{{"name", "Name"},
                           {"type", "string"},
                           {"format", "name"},
                           {"description", kNameDescription},
                           {"priority", 0}}});
  for (const auto& c : columnsOf(r)) {
    out.push_back({{"name", c.value("name", "")},
                   {"type", c.value("type", "string")},
                   {"format", c.value("format", "")},
                   {"description", c.value("description", "")},
                   {"priority", c.value("priority", 0)}});
  }
  return out;
}

json customTableCells(const api::ResourceInfo& r, const json& obj, api::Clock::time_point now) {
  json cells = json::array({api::str(obj, {"metadata", "name"})});
  for (const auto& c : columnsOf(r)) {
    std::vector<json> found = evalJsonPath(c.value("jsonPath", ""), obj);
    if (found.empty() || found.front().is_null()) {
      cells.push_back(nullptr);
      continue;
    }
    const json& v = found.front();
    std::string type = c.value("type", "string");
    if (type == "date" && v.is_string()) {
      auto d = std::chrono::duration_cast<std::chrono::seconds>(
          now - api::parseTime(v.get<std::string>()));
      cells.push_back(api::humanDuration(d));
    } else if (type == "string") {
      std::string s;
      for (std::size_t i = 0; i < found.size(); ++i) {
        s +=
            (i ? " " : "") + (found[i].is_string() ? found[i].get<std::string>() : found[i].dump());
      }
      cells.push_back(s);
    } else if ((type == "integer" && v.is_number()) || (type == "number" && v.is_number()) ||
               (type == "boolean" && v.is_boolean())) {
      cells.push_back(v);
    } else {
      cells.push_back(nullptr);
    }
  }
  return cells;
}

}  // namespace skiff::master::apiextensions
