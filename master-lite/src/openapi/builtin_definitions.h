#pragma once

// The generated definitions of the built-in kinds (definitions.json, compiled in), indexed by
// name without parsing them: a document is assembled from the definitions' text, and only a
// group-version's own closure is ever parsed (for the v3 form). Parsing the whole file would
// cost ~10 MiB of json nodes for the life of the process.

#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

namespace skiff::master::openapi {

struct Gvk {
  std::string group, version, kind;
  bool operator<(const Gvk& o) const {
    return std::tie(group, version, kind) < std::tie(o.group, o.version, o.kind);
  }
};

class BuiltinDefinitions {
 public:
  // Indexes the generated text; throws std::runtime_error naming the line it cannot read.
  explicit BuiltinDefinitions(std::string_view text);
  // The compiled-in definitions.json (indexed on first use).
  static const BuiltinDefinitions& get();

  // Name -> the definition's JSON text (Swagger 2.0: refs are "#/definitions/NAME").
  const std::map<std::string, std::string_view, std::less<>>& all() const { return defs_; }
  // The definition of a kind, or "" when the generated types have none.
  std::string kindDefinition(const Gvk& gvk) const;
  // The names of the definitions `roots` reference, directly or not, roots included, sorted.
  std::vector<std::string> closure(const std::vector<std::string>& roots) const;
  // The types OpenAPI v3 gives a definition as oneOf (Quantity: string, number); empty if none.
  const std::vector<std::string>& v3OneOf(const std::string& name) const;
  // What every document carries: meta/v1 DeleteOptions, Status, WatchEvent, Patch, ...
  const std::vector<std::string>& common() const { return common_; }

 private:
  std::map<std::string, std::string_view, std::less<>> defs_;
  std::map<Gvk, std::string> kinds_;
  std::map<std::string, std::vector<std::string>> one_of_;
  std::vector<std::string> common_;
};

// Every "#/definitions/NAME" in a definition's text.
std::vector<std::string> referencedNames(std::string_view def);

}  // namespace skiff::master::openapi
