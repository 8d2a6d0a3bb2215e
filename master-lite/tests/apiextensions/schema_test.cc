// Schema validation, defaulting, pruning and structural checks, with cases and messages from
// k8s.io/apiextensions-apiserver (pkg/apiserver/validation/validation_test.go,
// pkg/apiserver/schema/{defaulting,pruning}/algorithm_test.go, schema/validation_test.go).
#include <gtest/gtest.h>

#include "skiff/master/apiextensions/apiextensions.h"

namespace skiff::master::apiextensions {
namespace {

std::vector<std::string> messages(const api::FieldErrors& errs) {
  std::vector<std::string> out;
  for (const auto& e : errs) out.push_back(e.message());
  return out;
}

std::vector<std::string> check(const json& schema, const json& obj) {
  return messages(validateBySchema(schema, obj));
}

// The one error for a `field` of JSON type `got` where the schema wants `want`.
std::vector<std::string> wrongType(const std::string& got, const std::string& want) {
  return {"field: Invalid value: \"" + got + "\": field in body must be of type " + want + ": \"" +
          got + "\""};
}

json withField(const json& field) {
  return {{"type", "object"}, {"properties", {{"field", field}}}};
}

TEST(SchemaValidation, NotNullableObjectRejectsOtherTypes) {
  json s = withField({{"type", "object"}});
  EXPECT_TRUE(check(s, json::object()).empty());
  EXPECT_TRUE(check(s, {{"field", json::object()}}).empty());
  const std::pair<json, const char*> wrong[] = {{"foo", "string"},
                                                {42, "integer"},
                                                {1.2, "number"},
                                                {json::array(), "array"},
                                                {nullptr, "null"}};
  for (const auto& [value, type] : wrong)
    EXPECT_EQ(check(s, {{"field", value}}), wrongType(type, "object")) << value;
}

TEST(SchemaValidation, NullableAcceptsNull) {
  json s = withField({{"type", "object"}, {"nullable", true}});
  EXPECT_TRUE(check(s, {{"field", nullptr}}).empty());
}

TEST(SchemaValidation, IntOrString) {
  json s = withField({{"x-kubernetes-int-or-string", true}});
  EXPECT_TRUE(check(s, {{"field", 42}}).empty());
  EXPECT_TRUE(check(s, {{"field", "foo"}}).empty());
  const std::pair<json, const char*> wrong[] = {
      {nullptr, "null"}, {true, "boolean"}, {1.2, "number"}};
  for (const auto& [value, type] : wrong)
    EXPECT_EQ(check(s, {{"field", value}}), wrongType(type, "integer,string")) << value;
}

TEST(SchemaValidation, NumberBoundsAsTheIssueQuotes) {
  json s = {
      {"type", "object"},
      {"properties",
       {{"spec",
         {{"type", "object"},
          {"properties", {{"size", {{"type", "integer"}, {"minimum", 1}, {"maximum", 10}}}}}}}}}};
  EXPECT_EQ(
      check(s, {{"spec", {{"size", 20}}}}),
      std::vector<std::string>{
          "spec.size: Invalid value: 20: spec.size in body should be less than or equal to 10"});
  EXPECT_EQ(
      check(s, {{"spec", {{"size", 0}}}}),
      std::vector<std::string>{
          "spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1"});
  json ex = withField({{"type", "number"}, {"maximum", 5}, {"exclusiveMaximum", true}});
  EXPECT_EQ(
      check(ex, {{"field", 5}}),
      std::vector<std::string>{"field: Invalid value: 5: field in body should be less than 5"});
  json mult = withField({{"type", "integer"}, {"multipleOf", 3}});
  EXPECT_EQ(
      check(mult, {{"field", 4}}),
      std::vector<std::string>{"field: Invalid value: 4: field in body should be a multiple of 3"});
}

TEST(SchemaValidation, StringsEnumsAndFormats) {
  json e = withField({{"type", "string"}, {"enum", {"red", "blue"}}});
  EXPECT_EQ(check(e, {{"field", "green"}}),
            std::vector<std::string>{
                R"(field: Unsupported value: "green": supported values: "red", "blue")"});
  json p = withField({{"type", "string"}, {"pattern", "^[a-z]+$"}});
  EXPECT_EQ(check(p, {{"field", "A1"}}),
            std::vector<std::string>{
                R"(field: Invalid value: "A1": field in body should match '^[a-z]+$')"});
  json len = withField({{"type", "string"}, {"minLength", 2}, {"maxLength", 3}});
  EXPECT_EQ(check(len, {{"field", "a"}}),
            std::vector<std::string>{
                R"(field: Invalid value: "a": field in body should be at least 2 chars long)"});
  EXPECT_EQ(check(len, {{"field", "abcd"}}),
            std::vector<std::string>{"field: Too long: may not be more than 3 bytes"});
  json f = withField({{"type", "string"}, {"format", "date-time"}});
  EXPECT_TRUE(check(f, {{"field", "2024-01-02T03:04:05Z"}}).empty());
  EXPECT_EQ(
      check(f, {{"field", "yesterday"}}),
      std::vector<std::string>{
          R"(field: Invalid value: "yesterday": field in body must be of type date-time: "yesterday")"});
  EXPECT_TRUE(
      check(withField({{"type", "string"}, {"format", "ipv4"}}), {{"field", "10.0.0.1"}}).empty());
  EXPECT_FALSE(
      check(withField({{"type", "string"}, {"format", "ipv4"}}), {{"field", "10.0.0"}}).empty());
}

TEST(SchemaValidation, RequiredArraysAndListTypes) {
  json s = {
      {"type", "object"}, {"required", {"spec"}}, {"properties", {{"spec", {{"type", "object"}}}}}};
  EXPECT_EQ(check(s, json::object()), std::vector<std::string>{"spec: Required value"});
  json items = withField({{"type", "array"}, {"maxItems", 1}, {"items", {{"type", "string"}}}});
  EXPECT_EQ(check(items, {{"field", {"a", "b"}}}),
            std::vector<std::string>{"field: Too many: 2: must have at most 1 item"});
  EXPECT_EQ(
      check(items, {{"field", {1}}}),
      std::vector<std::string>{
          R"(field[0]: Invalid value: "integer": field[0] in body must be of type string: "integer")"});
  json set = withField(
      {{"type", "array"}, {"x-kubernetes-list-type", "set"}, {"items", {{"type", "string"}}}});
  EXPECT_EQ(check(set, {{"field", {"a", "a"}}}),
            std::vector<std::string>{R"(field[1]: Duplicate value: "a")"});
  json map = withField(
      {{"type", "array"},
       {"x-kubernetes-list-type", "map"},
       {"x-kubernetes-list-map-keys", {"name"}},
       {"items", {{"type", "object"}, {"properties", {{"name", {{"type", "string"}}}}}}}});
  EXPECT_TRUE(check(map, {{"field", {{{"name", "a"}}, {{"name", "b"}}}}}).empty());
  EXPECT_EQ(check(map, {{"field", {{{"name", "a"}}, {{"name", "a"}}}}}).size(), 1u);
}

TEST(SchemaValidation, EmbeddedResourceNeedsApiVersionAndKind) {
  json s = withField({{"type", "object"},
                      {"x-kubernetes-embedded-resource", true},
                      {"x-kubernetes-preserve-unknown-fields", true}});
  EXPECT_EQ(check(s, {{"field", json::object()}}),
            (std::vector<std::string>{"field.apiVersion: Required value: must not be empty",
                                      "field.kind: Required value: must not be empty"}));
  EXPECT_TRUE(check(s, {{"field", {{"apiVersion", "v1"}, {"kind", "Pod"}}}}).empty());
}

TEST(SchemaDefaulting, FillsAbsentAndNonNullableNullFields) {
  // defaulting/algorithm_test.go: defaults apply in objects, maps (additionalProperties) and
  // array items; a present value is kept.
  json s = json::parse(R"({"type":"object","properties":{
    "a":{"type":"string","default":"A"},
    "b":{"type":"object","properties":{"x":{"type":"integer","default":1}}},
    "c":{"type":"array","items":{"type":"object","properties":{"y":{"type":"string","default":"Y"}}}},
    "d":{"type":"object","additionalProperties":{"type":"object","properties":{"z":{"type":"boolean","default":true}}}},
    "e":{"type":"string","default":"E"},
    "n":{"type":"string","nullable":true,"default":"N"}}})");
  json obj = json::parse(R"({"b":{},"c":[{},{"y":"set"}],"d":{"k":{}},"e":null,"n":null})");
  applySchemaDefaults(s, obj);
  EXPECT_EQ(obj, json::parse(R"({"a":"A","b":{"x":1},"c":[{"y":"Y"},{"y":"set"}],
                                 "d":{"k":{"z":true}},"e":"E","n":null})"));
}

TEST(SchemaPruning, DropsUnspecifiedFieldsKeepsPreserved) {
  json s = json::parse(R"({"type":"object","properties":{
    "spec":{"type":"object","properties":{"color":{"type":"string"}}},
    "free":{"type":"object","x-kubernetes-preserve-unknown-fields":true},
    "emb":{"type":"object","x-kubernetes-embedded-resource":true,
           "properties":{"spec":{"type":"object"}}},
    "list":{"type":"array","items":{"type":"object","properties":{"a":{"type":"string"}}}}}})");
  json obj = json::parse(R"({"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w"},
    "spec":{"color":"blue","extra":"x"},"free":{"anything":1},"top":1,
    "emb":{"apiVersion":"v1","kind":"Pod","metadata":{},"spec":{},"bogus":1},
    "list":[{"a":"1","b":"2"}]})");
  std::vector<std::string> pruned;
  pruneBySchema(s, obj, &pruned);
  EXPECT_EQ(obj,
            json::parse(R"({"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w"},
    "spec":{"color":"blue"},"free":{"anything":1},
    "emb":{"apiVersion":"v1","kind":"Pod","metadata":{},"spec":{}},"list":[{"a":"1"}]})"));
  std::sort(pruned.begin(), pruned.end());
  EXPECT_EQ(pruned, (std::vector<std::string>{"emb.bogus", "list[0].b", "spec.extra", "top"}));
}

TEST(StructuralSchema, UpstreamMessages) {
  json s = json::parse(R"({"type":"object","properties":{
    "spec":{"properties":{"a":{"type":"string"}}},
    "list":{"type":"array"},
    "m":{"type":"object","additionalProperties":{"type":"string"},"properties":{"x":{"type":"string"}}},
    "v":{"type":"string","anyOf":[{"type":"string"}]}}})");
  auto got = messages(validateSchema(s, "spec.versions[0].schema.openAPIV3Schema"));
  std::vector<std::string> want{
      "spec.versions[0].schema.openAPIV3Schema.properties[list].items: Required value: must be "
      "specified",
      "spec.versions[0].schema.openAPIV3Schema.properties[m].additionalProperties: Forbidden: "
      "additionalProperties and properties are mutual exclusive",
      "spec.versions[0].schema.openAPIV3Schema.properties[spec].type: Required value: must not be "
      "empty for specified object fields",
      "spec.versions[0].schema.openAPIV3Schema.properties[v].anyOf[0].type: Forbidden: must be "
      "empty to be structural",
  };
  EXPECT_EQ(got, want);
  EXPECT_EQ(
      messages(validateSchema(json::parse(R"({"type":"string"})"), "s")),
      std::vector<std::string>{R"(s.type: Invalid value: "string": must be object at the root)"});
  EXPECT_EQ(messages(validateSchema(json::parse(R"({"properties":{}})"), "s")),
            std::vector<std::string>{"s.type: Required value: must not be empty at the root"});
  // metadata at the root may only restrict name and generateName.
  EXPECT_EQ(
      messages(validateSchema(
          json::parse(
              R"({"type":"object","properties":{"metadata":{"type":"object","properties":{"labels":{"type":"object"}}}}})"),
          "s")),
      std::vector<std::string>{"s.properties[metadata]: Forbidden: must not specify anything other "
                               "than name and generateName, but metadata is implicitly specified"});
  // int-or-string's anyOf pattern is allowed.
  EXPECT_TRUE(
      validateSchema(
          json::parse(R"({"type":"object","properties":{"p":{"x-kubernetes-int-or-string":true,
      "anyOf":[{"type":"integer"},{"type":"string"}]}}})"),
          "s")
          .empty());
}

// Patterns are Go regexps (RE2 syntax): prometheus-operator's CRDs use inline flags.
TEST(SchemaValidation, PatternsAreGoRegexps) {
  json p = withField({{"type", "string"}, {"pattern", "^(?i)(abort|warn)?$"}});
  EXPECT_TRUE(check(p, {{"field", "WARN"}}).empty());
  EXPECT_TRUE(check(p, {{"field", ""}}).empty());
  EXPECT_EQ(
      check(p, {{"field", "stop"}}),
      std::vector<std::string>{
          R"(field: Invalid value: "stop": field in body should match '^(?i)(abort|warn)?$')"});
  // Unanchored, as Go's MatchString.
  EXPECT_TRUE(
      check(withField({{"type", "string"}, {"pattern", "[0-9]"}}), {{"field", "a1b"}}).empty());
  EXPECT_TRUE(validateSchema(json::parse(R"j({"type":"object","properties":{
      "m":{"type":"string","pattern":"^((?i)january|1[0-2]|[1-9])(?:(:(?i)may)$|$)"}}})j"),
                             "s")
                  .empty());
  // What Go refuses, in Go's words.
  EXPECT_EQ(messages(validateSchema(json::parse(R"j({"type":"object","properties":{
      "a":{"type":"string","pattern":"(?<=x)y"},"b":{"type":"string","pattern":"(a"}}})j"),
                                    "s")),
            (std::vector<std::string>{
                "s.properties[a].pattern: Invalid value: \"(?<=x)y\": must be a valid regular "
                "expression, but isn't: error parsing regexp: invalid or unsupported Perl syntax: "
                "`(?<`",
                "s.properties[b].pattern: Invalid value: \"(a\": must be a valid regular "
                "expression, but isn't: error parsing regexp: missing closing ): `(a`"}));
}

TEST(StructuralSchema, DefaultsMustValidate) {
  json s = json::parse(
      R"({"type":"object","properties":{"size":{"type":"integer","maximum":10,"default":20}}})");
  auto got = messages(validateSchema(s, "s"));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0],
            "s.properties[size].default: Invalid value: 20: default in body should be less than or "
            "equal to 10");
}

TEST(CelRules, AreListedWithTheirPaths) {
  json s = json::parse(R"({"type":"object","properties":{"spec":{"type":"object",
    "x-kubernetes-validations":[{"rule":"self.min <= self.max"}]}}})");
  EXPECT_EQ(celRules(s), std::vector<std::string>{"spec: self.min <= self.max"});
}

TEST(JsonPath, PrinterColumnSubset) {
  json o = json::parse(R"({"spec":{"size":3,"tags":["a","b"]},"status":{"conditions":[
    {"type":"Ready","status":"True"},{"type":"Synced","status":"False"}]}})");
  EXPECT_EQ(evalJsonPath(".spec.size", o), std::vector<json>{3});
  EXPECT_EQ(evalJsonPath(".spec.tags[1]", o), std::vector<json>{"b"});
  EXPECT_EQ(evalJsonPath(R"(.status.conditions[?(@.type=="Ready")].status)", o),
            std::vector<json>{"True"});
  EXPECT_EQ(evalJsonPath("{.spec.tags[*]}", o), (std::vector<json>{"a", "b"}));
  EXPECT_TRUE(evalJsonPath(".spec.missing", o).empty());
}

}  // namespace
}  // namespace skiff::master::apiextensions
