// /openapi/v2 as protobuf: the gnostic openapi_v2.Document (google/gnostic-models
// openapiv2/OpenAPIv2.proto) that kube-apiserver serves to clients asking for
// application/com.github.proto-openapi.spec.v2@v1.0+protobuf. kubectl reads it for its
// client-side checks and, up to 1.26, for whether a kind's PATCH takes dryRun (kubectl diff).
// Values of `default`, `enum` and vendor extensions are gnostic Any messages holding YAML; JSON
// text is YAML, so they carry the value's JSON.
#include <cstring>

#include "v2_protobuf.h"

namespace skiff::master::openapi {
namespace {

// Protobuf wire encoding of the fields used here: varints, doubles, length-delimited.
class Writer {
 public:
  void varint(int field, std::uint64_t v) {
    tag(field, 0);
    raw(v);
  }
  void boolean(int field, bool v) { varint(field, v ? 1 : 0); }
  void number(int field, double v) {
    tag(field, 1);
    char b[8];
    std::memcpy(b, &v, 8);  // little-endian hosts only, as the rest of skiff
    out_.append(b, 8);
  }
  void bytes(int field, std::string_view v) {
    tag(field, 2);
    raw(v.size());
    out_.append(v);
  }
  void message(int field, const Writer& w) { bytes(field, w.out_); }
  const std::string& str() const { return out_; }

 private:
  void tag(int field, int wire) { raw((static_cast<std::uint64_t>(field) << 3) | wire); }
  void raw(std::uint64_t v) {
    while (v >= 0x80) {
      out_ += static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    out_ += static_cast<char>(v);
  }
  std::string out_;
};

// gnostic Any {value = 1; yaml = 2}
Writer any(const json& v) {
  Writer w;
  w.bytes(2, v.dump() + "\n");
  return w;
}

// NamedAny {name = 1; value = 2} for each "x-…" key.
void vendorExtensions(Writer& w, int field, const json& obj) {
  for (const auto& [k, v] : obj.items()) {
    if (k.rfind("x-", 0) != 0) continue;
    Writer named;
    named.bytes(1, k);
    named.message(2, any(v));
    w.message(field, named);
  }
}

Writer schema(const json& s);

// Schema field numbers (OpenAPIv2.proto message Schema).
Writer schema(const json& s) {
  Writer w;
  if (!s.is_object()) return w;
  auto str = [&](const char* key, int field) {
    if (auto it = s.find(key); it != s.end() && it->is_string())
      w.bytes(field, it->get<std::string>());
  };
  auto num = [&](const char* key, int field) {
    if (auto it = s.find(key); it != s.end() && it->is_number()) w.number(field, it->get<double>());
  };
  auto integer = [&](const char* key, int field) {
    if (auto it = s.find(key); it != s.end() && it->is_number_integer()) {
      w.varint(field, static_cast<std::uint64_t>(it->get<std::int64_t>()));
    }
  };
  auto flag = [&](const char* key, int field) {
    if (auto it = s.find(key); it != s.end() && it->is_boolean()) w.boolean(field, *it);
  };
  str("$ref", 1);
  str("format", 2);
  str("title", 3);
  str("description", 4);
  if (auto it = s.find("default"); it != s.end()) w.message(5, any(*it));
  num("multipleOf", 6);
  num("maximum", 7);
  flag("exclusiveMaximum", 8);
  num("minimum", 9);
  flag("exclusiveMinimum", 10);
  integer("maxLength", 11);
  integer("minLength", 12);
  str("pattern", 13);
  integer("maxItems", 14);
  integer("minItems", 15);
  flag("uniqueItems", 16);
  integer("maxProperties", 17);
  integer("minProperties", 18);
  if (auto it = s.find("required"); it != s.end() && it->is_array()) {
    for (const auto& r : *it) {
      if (r.is_string()) w.bytes(19, r.get<std::string>());
    }
  }
  if (auto it = s.find("enum"); it != s.end() && it->is_array()) {
    for (const auto& e : *it) w.message(20, any(e));
  }
  if (auto it = s.find("additionalProperties"); it != s.end()) {
    Writer item;  // AdditionalPropertiesItem {schema = 1; boolean = 2}
    if (it->is_boolean()) {
      item.boolean(2, *it);
    } else {
      item.message(1, schema(*it));
    }
    w.message(21, item);
  }
  if (auto it = s.find("type"); it != s.end()) {
    Writer type;  // TypeItem {repeated string value = 1}
    if (it->is_string()) type.bytes(1, it->get<std::string>());
    if (it->is_array()) {
      for (const auto& t : *it) {
        if (t.is_string()) type.bytes(1, t.get<std::string>());
      }
    }
    w.message(22, type);
  }
  if (auto it = s.find("items"); it != s.end()) {
    Writer items;  // ItemsItem {repeated Schema schema = 1}
    if (it->is_array()) {
      for (const auto& i : *it) items.message(1, schema(i));
    } else {
      items.message(1, schema(*it));
    }
    w.message(23, items);
  }
  if (auto it = s.find("allOf"); it != s.end() && it->is_array()) {
    for (const auto& a : *it) w.message(24, schema(a));
  }
  if (auto it = s.find("properties"); it != s.end() && it->is_object()) {
    Writer props;  // Properties {repeated NamedSchema additional_properties = 1}
    for (const auto& [name, p] : it->items()) {
      Writer named;
      named.bytes(1, name);
      named.message(2, schema(p));
      props.message(1, named);
    }
    w.message(25, props);
  }
  str("discriminator", 26);
  flag("readOnly", 27);
  if (auto it = s.find("example"); it != s.end()) w.message(30, any(*it));
  vendorExtensions(w, 31, s);
  return w;
}

// A query parameter: ParametersItem{Parameter{NonBodyParameter{QueryParameterSubSchema}}}.
Writer parameter(const json& p) {
  Writer q;
  if (p.value("required", false)) q.boolean(1, true);
  q.bytes(2, p.value("in", "query"));
  q.bytes(3, p.value("description", ""));
  q.bytes(4, p.value("name", ""));
  q.bytes(6, p.value("type", "string"));
  if (p.value("uniqueItems", false)) q.boolean(20, true);
  Writer non_body, param, item;
  non_body.message(3, q);
  param.message(2, non_body);
  item.message(1, param);
  return item;
}

Writer operation(const json& op) {
  Writer w;
  auto strings = [&](const char* key, int field) {
    for (const auto& v : op.value(key, json::array())) w.bytes(field, v.get<std::string>());
  };
  if (op.contains("description")) w.bytes(3, op["description"].get<std::string>());
  w.bytes(5, op.value("operationId", ""));
  strings("produces", 6);
  strings("consumes", 7);
  for (const auto& p : op.value("parameters", json::array())) w.message(8, parameter(p));
  Writer responses;
  const json responses_in = op.value("responses", json::object());
  for (const auto& [code, r] : responses_in.items()) {
    Writer response;  // Response {description = 1; SchemaItem schema = 2}
    response.bytes(1, r.value("description", ""));
    if (r.contains("schema")) {
      Writer item;
      item.message(1, schema(r["schema"]));
      response.message(2, item);
    }
    Writer value, named;  // ResponseValue {Response response = 1}
    value.message(1, response);
    named.bytes(1, code);
    named.message(2, value);
    responses.message(1, named);
  }
  w.message(9, responses);
  vendorExtensions(w, 13, op);
  return w;
}

}  // namespace

std::string v2Protobuf(const json& doc,
                       const std::vector<std::pair<std::string, std::string_view>>& texts) {
  Writer w;
  w.bytes(1, doc.value("swagger", "2.0"));
  Writer info;
  info.bytes(1, doc["info"].value("title", ""));
  info.bytes(2, doc["info"].value("version", ""));
  w.message(2, info);
  Writer paths;
  const json paths_in = doc.value("paths", json::object());
  for (const auto& [path, item] : paths_in.items()) {
    Writer path_item;  // PathItem: get = 2, put = 3, post = 4, delete = 5, patch = 8
    static const std::pair<const char*, int> kOps[] = {
        {"get", 2}, {"put", 3}, {"post", 4}, {"delete", 5}, {"patch", 8}};
    for (const auto& [verb, field] : kOps) {
      if (item.contains(verb)) path_item.message(field, operation(item[verb]));
    }
    Writer named;
    named.bytes(1, path);
    named.message(2, path_item);
    paths.message(2, named);
  }
  w.message(8, paths);
  Writer defs;
  auto add = [&](const std::string& name, const json& s) {
    Writer named;
    named.bytes(1, name);
    named.message(2, schema(s));
    defs.message(1, named);
  };
  const json defs_in = doc.value("definitions", json::object());
  for (const auto& [name, s] : defs_in.items()) add(name, s);
  for (const auto& [name, text] : texts) add(name, json::parse(text));
  w.message(9, defs);
  return w.str();
}

}  // namespace skiff::master::openapi
