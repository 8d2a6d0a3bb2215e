#include "skiff/common/yaml.h"

#include <yaml.h>

#include <cerrno>
#include <cstdlib>
#include <memory>
#include <string>

namespace skiff {
namespace {

using nlohmann::json;

json plainScalar(const std::string& s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  char* end = nullptr;
  errno = 0;
  if (s.find_first_not_of("+-0123456789") == std::string::npos) {
    long long v = std::strtoll(s.c_str(), &end, 10);
    if (errno == 0 && end != nullptr && *end == '\0') return v;
  }
  if (s.find_first_not_of("+-0123456789.eE") == std::string::npos &&
      s.find_first_of("0123456789") != std::string::npos) {
    double d = std::strtod(s.c_str(), &end);
    if (errno == 0 && end != nullptr && *end == '\0') return d;
  }
  return s;
}

Result<json> convert(yaml_document_t* doc, yaml_node_t* node, int depth) {
  if (node == nullptr) return Error(ErrorCode::Invalid, "parse yaml: dangling node");
  if (depth > 64) return Error(ErrorCode::Invalid, "parse yaml: nesting too deep");
  switch (node->type) {
    case YAML_SCALAR_NODE: {
      std::string s(reinterpret_cast<const char*>(node->data.scalar.value),
                    node->data.scalar.length);
      if (node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) return plainScalar(s);
      return json(s);
    }
    case YAML_SEQUENCE_NODE: {
      json arr = json::array();
      for (auto* it = node->data.sequence.items.start; it < node->data.sequence.items.top; ++it) {
        SKIFF_ASSIGN_OR_RETURN(auto v, convert(doc, yaml_document_get_node(doc, *it), depth + 1));
        arr.push_back(std::move(v));
      }
      return arr;
    }
    case YAML_MAPPING_NODE: {
      json obj = json::object();
      for (auto* p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top; ++p) {
        yaml_node_t* k = yaml_document_get_node(doc, p->key);
        if (k == nullptr || k->type != YAML_SCALAR_NODE) {
          return Error(ErrorCode::Invalid, "parse yaml: mapping keys must be scalars");
        }
        std::string key(reinterpret_cast<const char*>(k->data.scalar.value), k->data.scalar.length);
        SKIFF_ASSIGN_OR_RETURN(auto v,
                               convert(doc, yaml_document_get_node(doc, p->value), depth + 1));
        obj[key] = std::move(v);
      }
      return obj;
    }
    default:
      return json(nullptr);
  }
}

}  // namespace

Result<std::vector<nlohmann::json>> yamlDocumentsToJson(std::string_view text) {
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser)) return Error(ErrorCode::Internal, "init yaml parser");
  std::unique_ptr<yaml_parser_t, void (*)(yaml_parser_t*)> guard(&parser, yaml_parser_delete);
  yaml_parser_set_input_string(&parser, reinterpret_cast<const unsigned char*>(text.data()),
                               text.size());
  std::vector<nlohmann::json> docs;
  for (;;) {
    yaml_document_t doc;
    if (!yaml_parser_load(&parser, &doc)) {
      std::string msg = parser.problem != nullptr ? parser.problem : "syntax error";
      return Error(ErrorCode::Invalid, "parse yaml: " + msg + " at line " +
                                           std::to_string(parser.problem_mark.line + 1));
    }
    std::unique_ptr<yaml_document_t, void (*)(yaml_document_t*)> dguard(&doc, yaml_document_delete);
    yaml_node_t* root = yaml_document_get_root_node(&doc);
    if (root == nullptr) break;  // end of stream
    SKIFF_ASSIGN_OR_RETURN(auto v, convert(&doc, root, 0));
    if (!v.is_null()) docs.push_back(std::move(v));
  }
  return docs;
}

Result<nlohmann::json> yamlToJson(std::string_view text) {
  SKIFF_ASSIGN_OR_RETURN(auto docs, yamlDocumentsToJson(text));
  if (docs.empty()) return Error(ErrorCode::Invalid, "parse yaml: empty document");
  if (docs.size() > 1) return Error(ErrorCode::Invalid, "parse yaml: expected one document");
  return docs.front();
}

}  // namespace skiff
