#include "builtin_definitions.h"

#include <set>
#include <stdexcept>

namespace skiff::master::openapi {

// definitions_text.cc, written by CMake from definitions.json.
extern const std::string_view kDefinitionsJson;

namespace {

constexpr std::string_view kRefPrefix = "\"#/definitions/";
constexpr std::string_view kMetaV1 = "io.k8s.apimachinery.pkg.apis.meta.v1.";

}  // namespace

std::vector<std::string> referencedNames(std::string_view def) {
  std::vector<std::string> out;
  for (std::size_t at = def.find(kRefPrefix); at != std::string_view::npos;
       at = def.find(kRefPrefix, at)) {
    at += kRefPrefix.size();
    std::size_t end = def.find('"', at);
    if (end == std::string_view::npos) break;
    out.emplace_back(def.substr(at, end - at));
    at = end;
  }
  return out;
}

// The file is gen/main.go's output: a first line `{"definitions": {`, one `"NAME": {…},` line per
// definition, then `},` and `"v3OneOf": {…}}`.
BuiltinDefinitions::BuiltinDefinitions(std::string_view text) {
  std::size_t line_no = 0;
  bool in_defs = false;
  while (!text.empty()) {
    std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    auto bad = [&] {
      throw std::runtime_error("definitions.json line " + std::to_string(line_no) +
                               ": not a generated definition");
    };
    if (line == "{\"definitions\": {") {
      in_defs = true;
    } else if (line == "},") {
      in_defs = false;
    } else if (in_defs) {
      std::size_t colon = line.find("\": {");
      if (line.empty() || line[0] != '"' || colon == std::string_view::npos) bad();
      std::string name(line.substr(1, colon - 1));
      std::string_view def = line.substr(colon + 3);
      if (!def.empty() && def.back() == ',') def.remove_suffix(1);
      if (def.empty() || def.back() != '}') bad();
      defs_.emplace(name, def);
      if (def.find("\"x-kubernetes-group-version-kind\":") != std::string_view::npos) {
        nlohmann::json parsed =
            nlohmann::json::parse(def);  // outlives the loop, unlike a temporary
        for (const auto& g : parsed.at("x-kubernetes-group-version-kind")) {
          kinds_[{g.at("group"), g.at("version"), g.at("kind")}] = name;
        }
      }
    } else if (line.rfind("\"v3OneOf\": ", 0) == 0) {
      std::string_view rest = line.substr(11);
      if (rest.empty() || rest.back() != '}') bad();
      rest.remove_suffix(1);  // the file's closing brace
      one_of_ = nlohmann::json::parse(rest).get<std::map<std::string, std::vector<std::string>>>();
    } else if (!line.empty()) {
      bad();
    }
  }
  for (const char* t : {"DeleteOptions", "Status", "WatchEvent", "Patch", "APIResourceList"}) {
    std::string name = std::string(kMetaV1) + t;
    if (defs_.count(name)) common_.push_back(name);
  }
}

const BuiltinDefinitions& BuiltinDefinitions::get() {
  static const BuiltinDefinitions defs(kDefinitionsJson);
  return defs;
}

std::string BuiltinDefinitions::kindDefinition(const Gvk& gvk) const {
  auto it = kinds_.find(gvk);
  return it == kinds_.end() ? std::string() : it->second;
}

std::vector<std::string> BuiltinDefinitions::closure(const std::vector<std::string>& roots) const {
  std::set<std::string> seen;
  std::vector<std::string> todo(roots.begin(), roots.end());
  while (!todo.empty()) {
    std::string name = std::move(todo.back());
    todo.pop_back();
    auto it = defs_.find(name);
    if (it == defs_.end() || !seen.insert(name).second) continue;
    for (auto& r : referencedNames(it->second)) todo.push_back(std::move(r));
  }
  return {seen.begin(), seen.end()};
}

const std::vector<std::string>& BuiltinDefinitions::v3OneOf(const std::string& name) const {
  static const std::vector<std::string> none;
  auto it = one_of_.find(name);
  return it == one_of_.end() ? none : it->second;
}

}  // namespace skiff::master::openapi
